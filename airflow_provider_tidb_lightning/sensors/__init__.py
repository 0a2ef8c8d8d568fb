"""Sensors: wait for a complete dump and for a ready import target."""
