"""Operators: run a TiDB Lightning import from a DAG."""
