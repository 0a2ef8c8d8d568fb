"""Triggers: the deferred side of the sensors, run by the triggerer."""
