"""CSV options as TOML literal strings: kept as written, as tidb-lightning keeps them, with a warning."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_tidb_lightning.lightning.config import load_task_config


def _load(tmp_path, csv_lines: str):
    path = tmp_path / "task.toml"
    path.write_text(f"[mydumper]\ndata-source-dir = '/dump'\n[mydumper.csv]\n{csv_lines}\n")
    return load_task_config(path)


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        ("separator = '\\t'", "separator", "\\t"),
        ("terminator = '\\r\\n'", "terminator", "\\r\\n"),
        ("delimiter = '\\n'", "delimiter", "\\n"),
    ],
)
def test_literal_strings_are_kept_and_warned_about(tmp_path, caplog, line, key, value):
    with caplog.at_level(logging.WARNING):
        cfg = _load(tmp_path, line)
    assert getattr(cfg.mydumper.csv, key) == value  # two characters per escape, as tidb-lightning reads them
    assert f"mydumper.csv.{key} is {value!r}" in caplog.text and "in double quotes" in caplog.text


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [("separator = \"\\t\"", "separator", "\t"), ("terminator = \"\\r\\n\"", "terminator", "\r\n"),
     ("null = '\\N'", "null", ("\\N",)), ("separator = '|'", "separator", "|")],
)
def test_basic_strings_and_plain_values_are_quiet(tmp_path, caplog, line, key, value):
    with caplog.at_level(logging.WARNING):
        cfg = _load(tmp_path, line)
    assert getattr(cfg.mydumper.csv, key) == value
    assert "literal string" not in caplog.text
