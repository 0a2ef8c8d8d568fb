"""``[conflict]`` settled as current tidb-lightning's ``Conflict.adjust`` settles it for the TiDB backend."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_tidb_lightning.lightning.config import load_task_config
from airflow_provider_tidb_lightning.lightning.errors import ConfigError

SOURCE = {"mydumper": {"data-source-dir": "/dump"}}


def _load(**sections):
    return load_task_config({**SOURCE, **{k.replace("_", "-"): v for k, v in sections.items()}})


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        # (strategy, threshold, max-record-rows, the verb written)
        ({}, ("", 10000, 10000, "replace")),  # the provider's default: see docs/migrating.md
        ({"conflict": {"strategy": "error"}}, ("error", 0, 0, "error")),
        ({"conflict": {"strategy": "ignore"}}, ("ignore", 10000, 10000, "error")),  # INSERT, row by row on a dup
        ({"conflict": {"strategy": "replace"}}, ("replace", 10000, 0, "replace")),
        ({"conflict": {"strategy": "ignore", "threshold": 0}}, ("ignore", 0, 0, "ignore")),  # INSERT IGNORE
        ({"conflict": {"strategy": "ignore", "threshold": 7}}, ("ignore", 7, 7, "error")),
        ({"tikv_importer": {"on-duplicate": "ignore"}}, ("ignore", 10000, 10000, "error")),
        ({"tikv_importer": {"on-duplicate": "error"}}, ("error", 0, 0, "error")),
        ({"tikv_importer": {"on-duplicate": "ignore"}, "conflict": {"strategy": "replace"}},
         ("replace", 10000, 0, "replace")),  # strategy wins
        ({"conflict": {"strategy": "none"}, "tikv_importer": {"on-duplicate": "replace"}},
         ("replace", 10000, 0, "replace")),
    ],
)
def test_strategy_threshold_and_record_rows(sections, expected):
    cfg = _load(**sections)
    conflict = cfg.conflict
    assert (conflict.strategy, conflict.threshold, conflict.max_record_rows, cfg.statement_mode) == expected


def test_on_duplicate_is_deprecated_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        _load(tikv_importer={"on-duplicate": "ignore"})
    assert "tikv-importer.on-duplicate is deprecated in tidb-lightning; use [conflict] strategy" in caplog.text


def test_a_threshold_under_error_is_refused():
    with pytest.raises(ConfigError, match='conflict.threshold cannot be set when use conflict.strategy = "error"'):
        _load(conflict={"strategy": "error", "threshold": 5})
    assert _load(conflict={"strategy": "error", "threshold": 0}).conflict.threshold == 0


@pytest.mark.parametrize(
    ("conflict", "warning"),
    [
        ({"strategy": "replace", "max-record-rows": 5}, "Cannot record duplication (conflict.max-record-rows > 0)"),
        ({"strategy": "ignore", "max-record-rows": 5}, "Setting conflict.max-record-rows does not take affect"),
    ],
)
def test_max_record_rows_that_changes_is_warned_about(caplog, conflict, warning):
    with caplog.at_level(logging.WARNING):
        _load(conflict=conflict)
    assert warning in caplog.text


def test_max_record_rows_equal_to_what_it_becomes_is_not_warned_about(caplog):
    with caplog.at_level(logging.WARNING):
        cfg = _load(conflict={"strategy": "ignore", "threshold": 50, "max-record-rows": 50})
    assert cfg.conflict.max_record_rows == 50 and "max-record-rows" not in caplog.text
