"""``[black-white-list]`` as tidb-lightning reads it: cases of its table-filter compat tests, as a table."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_tidb_lightning.lightning.config import load_task_config, task_config_to_dict
from airflow_provider_tidb_lightning.lightning.config.model import BlackWhiteList, TableName
from airflow_provider_tidb_lightning.lightning.errors import ConfigError
from airflow_provider_tidb_lightning.lightning.mydump.legacy_filter import LegacyTableFilter


def _tables(*pairs: str) -> tuple[TableName, ...]:
    return tuple(TableName(*pair.split(".", 1)) for pair in pairs)


@pytest.mark.parametrize(
    ("rules", "table", "selected"),
    [
        # no rule: everything
        (BlackWhiteList(), "foo.bar", True),
        # do-dbs: only those databases; literal, wildcard and ~regex names
        (BlackWhiteList(do_dbs=("foo",)), "foo.bar", True),
        (BlackWhiteList(do_dbs=("foo",)), "foo1.bar", False),
        (BlackWhiteList(do_dbs=("foo*",)), "foo1.bar", True),
        (BlackWhiteList(do_dbs=("fo?",)), "foo.bar", True),
        (BlackWhiteList(do_dbs=("fo?",)), "fooo.bar", False),
        (BlackWhiteList(do_dbs=("f[!a-n]o",)), "foo.bar", True),
        (BlackWhiteList(do_dbs=("f[!a-z]o",)), "foo.bar", False),
        (BlackWhiteList(do_dbs=("~^fo+$",)), "foooo.bar", True),
        (BlackWhiteList(do_dbs=("~oo",)), "xfooy.bar", True),  # a regex is searched, not anchored
        (BlackWhiteList(do_dbs=("foo",), ignore_dbs=("foo",)), "foo.bar", True),  # do-dbs wins
        # ignore-dbs: everything else
        (BlackWhiteList(ignore_dbs=("foo",)), "foo.bar", False),
        (BlackWhiteList(ignore_dbs=("foo",)), "foo2.bar", True),
        (BlackWhiteList(ignore_dbs=("foo*",)), "foo2.bar", False),
        # do-tables / ignore-tables, with and against the database lists
        (BlackWhiteList(do_tables=_tables("foo.bar")), "foo.bar", True),
        (BlackWhiteList(do_tables=_tables("foo.bar")), "foo.baz", False),
        (BlackWhiteList(do_tables=_tables("foo.ba*")), "foo.baz", True),
        (BlackWhiteList(do_tables=_tables("foo.bar"), do_dbs=("other",)), "foo.bar", False),  # both must pass
        (BlackWhiteList(ignore_tables=_tables("foo.bar")), "foo.bar", False),
        (BlackWhiteList(ignore_tables=_tables("foo.bar")), "foo.baz", True),
        (BlackWhiteList(ignore_tables=(TableName("~^f", "~^ba"),)), "foo.bar", False),  # regexes on both names
        (BlackWhiteList(do_tables=_tables("foo.bar"), ignore_tables=_tables("foo.bar")), "foo.bar", True),
        # names ignore case unless case-sensitive
        (BlackWhiteList(do_dbs=("FOO",)), "foo.bar", True),
    ],
)
def test_tables_selected(rules, table, selected):
    schema, name = table.split(".")
    assert LegacyTableFilter(rules).match_table(schema, name) is selected


@pytest.mark.parametrize(
    ("rules", "schema", "selected"),
    [
        (BlackWhiteList(do_dbs=("foo",)), "foo", True),
        (BlackWhiteList(do_dbs=("foo",)), "bar", False),
        (BlackWhiteList(ignore_dbs=("foo",)), "foo", False),
        (BlackWhiteList(do_tables=_tables("foo.bar")), "foo", True),
        (BlackWhiteList(do_tables=_tables("foo.bar")), "bar", False),
        (BlackWhiteList(ignore_tables=_tables("foo.bar")), "foo", True),  # only one table of it is excluded
    ],
)
def test_databases_selected(rules, schema, selected):
    assert LegacyTableFilter(rules).match_schema(schema) is selected


def test_case_sensitive_names():
    rules = BlackWhiteList(do_dbs=("FOO",))
    assert not LegacyTableFilter(rules, case_sensitive=True).match_table("foo", "t")
    assert LegacyTableFilter(rules, case_sensitive=True).match_table("FOO", "t")


SOURCE = {"mydumper": {"data-source-dir": "/dump"}}


def test_the_section_is_read_with_a_deprecation_warning(caplog):
    ignore = [{"db-name": "shop", "tbl-name": "tmp*"}]
    raw = {**SOURCE, "black-white-list": {"do-dbs": ["shop"], "ignore-tables": ignore}}
    with caplog.at_level(logging.WARNING):
        cfg = load_task_config(raw)
    assert cfg.mydumper.black_white_list == BlackWhiteList(do_dbs=("shop",), ignore_tables=_tables("shop.tmp*"))
    assert "the config `black-white-list` has been deprecated, please replace with `mydumper.filter`" in caplog.text
    assert load_task_config(task_config_to_dict(cfg)).mydumper.black_white_list == cfg.mydumper.black_white_list
    assert "black-white-list" not in task_config_to_dict(load_task_config(SOURCE))


def test_the_section_and_a_filter_cannot_both_be_set():
    raw = {"mydumper": {"data-source-dir": "/dump", "filter": ["shop.*"]}, "black-white-list": {"do-dbs": ["shop"]}}
    with pytest.raises(ConfigError, match="`mydumper.filter` and `black-white-list` cannot be simultaneously defined"):
        load_task_config(raw)


@pytest.mark.parametrize(
    ("section", "key"),
    [({"do-tables": [{"db-name": "a"}]}, "black-white-list.do-tables[0]"),
     ({"ignore-tables": "a.b"}, "black-white-list.ignore-tables"),
     ({"do-dbs": "a"}, "black-white-list.do-dbs"),
     ({"do-db": ["a"]}, "black-white-list.do-db")],
)
def test_bad_entries_name_the_key(section, key):
    with pytest.raises(ConfigError) as failed:
        load_task_config({**SOURCE, "black-white-list": section})
    assert failed.value.key == key
