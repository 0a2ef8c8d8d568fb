"""Names of shadow and replaced tables: within the 64-character limit, stable per task, tied to their table."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.common.quoting import quote_table
from airflow_provider_tidb_lightning.lightning.importer.refresh import _old_pattern, old_name, shadow_key, shadow_name

names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), min_size=1, max_size=64)


@given(schema=names, table=names, task=st.text(min_size=1, max_size=80))
def test_shadow_names_fit_and_are_stable_per_task(schema, table, task):
    key = quote_table(schema, table)
    shadow = shadow_name(task, key, table)
    assert len(shadow) <= 64 and shadow != table
    assert shadow == shadow_name(task, key, table)  # a retry finds its shadow again
    assert shadow != shadow_name(task + "-next", key, table)  # another task never shares it
    assert shadow_key(task, key) == quote_table(schema, shadow)


@given(schema=names, table=names, other=names)
def test_replaced_tables_match_only_their_own_pattern(schema, table, other):
    key = quote_table(schema, table)
    old = old_name(key, table, "20261130012500")
    assert len(old) <= 64
    assert _old_pattern(key, table).match(old)
    if other != table:
        assert not _old_pattern(quote_table(schema, other), other).match(old)
    assert not _old_pattern(key, table).match(table)


def test_long_names_are_cut_to_fit():
    table = "a" * 64
    assert shadow_name("t", f"`d`.`{table}`", table).startswith("a" * 50 + "__new_")
    assert old_name(f"`d`.`{table}`", table, "20261130012500") == "a" * 38 + "__old20261130012500_" + \
        old_name(f"`d`.`{table}`", table, "20261130012500")[-6:]
