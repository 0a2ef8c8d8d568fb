"""Airflow hooks: the only place where an Airflow Connection becomes engine settings."""
