"""tidb-lightning's table-filter test cases (pkg/util/table-filter, TestMatchTables / TestMatchSchemas /
TestParseFailures2 / TestImport2), ported as tables: the same rules select the same tables here."""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.errors import ConfigError
from airflow_provider_tidb_lightning.lightning.mydump.table_filter import TableFilter

# (rules, [(schema, table, selected case-sensitively, selected ignoring case)])
TABLE_CASES = [
    ([], [("foo", "bar", False, False)]),
    (["*.*"], [("foo", "bar", True, True)]),
    (["foo.*"], [("foo", "bar", True, True), ("foo1", "bar", False, False), ("foo2", "bar", False, False)]),
    (["*.*", "!foo1.*"], [("foo", "bar", True, True), ("foo1", "bar", False, False), ("foo2", "bar", True, True)]),
    (["foo.bar1"], [("foo", "bar", False, False), ("foo", "bar1", True, True), ("fff", "bar1", False, False)]),
    (["*.*", "!foo.bar"], [("foo", "bar", False, False), ("foo", "bar1", True, True), ("fff", "bar1", True, True)]),
    (["/^foo/.*", r"!/^foo/./^sbtest-\d/"],
     [("foo", "sbtest", True, True), ("foo1", "sbtest-1", False, False), ("fff", "bar", False, False)]),
    (["*.*", "!foo[bar].*", "!bar?.*", r"!special\\.*"],
     [("foor", "a", False, False), ("foo[bar]", "b", True, True), ("ba", "c", True, True),
      ("bar?", "d", False, False), ("special\\", "e", False, False), ("special\\\\", "f", True, True),
      ("bazzz", "g", True, True), ("special\\$", "h", True, True), ("afooa", "i", True, True)]),
    (["*.*", "!/^FOO/.*", "!*./FoO$/"],
     [("FOO1", "a", False, False), ("foo2", "b", True, False), ("BoO3", "cFoO", False, False),
      ("Foo4", "dfoo", True, False), ("5", "5", True, True)]),
    (["*.*", "!a?b?./f[0-9]/"],
     [("abbd", "f1", False, False), ("aaaa", "f2", True, True), ("5", "5", True, True), ("abbc", "fa", True, True)]),
    (["*.*", "!/t[0-8]/.a??"],
     [("t1", "a01", False, False), ("t9", "a02", True, True), ("5", "5", True, True), ("t8", "a001", True, True)]),
    (["*.*", "!a*.A*"], [("aB", "Ab", False, False), ("AaB", "aab", True, False), ("acB", "Afb", False, False)]),
    (["BAR.*"], [("bar", "a", False, True), ("BAR", "a", True, True)]),
    (["# comment", "x.y", "   \t"], [("x", "y", True, True), ("y", "y", False, False)]),
    (["p_123$.45", "中文.表名"],
     [("p_123", "45", False, False), ("p_123$", "45", True, True), ("英文", "表名", False, False),
      ("中文", "表名", True, True)]),
    ([r"\\\..*"], [("\\.", "a", True, True), ("\\\\\\.", "b", False, False), ("\\a", "c", False, False)]),
    (["[!a-z].[^a-z]"],
     [("!", "z", True, True), ("!", "^", True, True), ("!", "9", False, False), ("a", "z", False, False),
      ("a", "^", False, False), ("a", "9", False, False), ("1", "z", True, True), ("1", "^", True, True),
      ("1", "9", False, False)]),
    (['"some ""quoted""".`identifiers?`'],
     [('some "quoted"', "identifiers?", True, True), ('some "quoted"', "identifiers!", False, False),
      ('some ""quoted""', "identifiers?", False, False), ('SOME "QUOTED"', "IDENTIFIERS?", False, True),
      ('some\t"quoted"', "identifiers?", False, False)]),
    (["db*.*", "!*.cfg*", "*.cfgsample"],
     [("irrelevant", "table", False, False), ("db1", "tbl1", True, True), ("db1", "cfg1", False, False),
      ("db1", "cfgsample", True, True), ("else", "cfgsample", True, True)]),
    (["*.*", "!S.D[!a-d]"], [("S", "D1", False, False), ("S", "Da", True, True), ("S", "Db", True, True),
                             ("S", "Daa", True, True)]),
    (["*.*", "!S.D[a-d]"], [("S", "D1", True, True), ("S", "Da", False, False), ("S", "Db", False, False),
                            ("S", "Daa", True, True)]),
]


@pytest.mark.parametrize(("rules", "tables"), TABLE_CASES, ids=[" ".join(c[0]) or "none" for c in TABLE_CASES])
def test_match_tables(rules, tables):
    sensitive = TableFilter(rules, case_sensitive=True)
    insensitive = TableFilter(rules, case_sensitive=False)
    for schema, table, cs, ci in tables:
        assert sensitive.match_table(schema, table) is cs, (schema, table, "case-sensitive")
        assert insensitive.match_table(schema, table) is ci, (schema, table, "case-insensitive")


SCHEMA_CASES = [
    ([], [("foo", False, False)]),
    (["*.*"], [("foo", True, True)]),
    (["foo.*"], [("foo", True, True), ("foo1", False, False)]),
    (["*.*", "!foo1.*"], [("foo", True, True), ("foo1", False, False)]),
    (["foo.bar1"], [("foo", True, True), ("foo1", False, False)]),
    (["*.*", "!foo.bar"], [("foo", True, True), ("foo1", True, True)]),
    (["/^foo/.*", r"!/^foo/./^sbtest-\d/"], [("foo", True, True), ("foo2", True, True)]),
    (["*.*", "!FOO*.*", "!*.*FoO"],
     [("foo", True, False), ("FOO", False, False), ("foobar", True, False), ("FOOBAR", False, False),
      ("bar", True, True), ("BAR", True, True)]),
]


@pytest.mark.parametrize(("rules", "schemas"), SCHEMA_CASES, ids=[" ".join(c[0]) or "none" for c in SCHEMA_CASES])
def test_match_schemas(rules, schemas):
    for schema, cs, ci in schemas:
        assert TableFilter(rules, case_sensitive=True).match_schema(schema) is cs, (schema, "case-sensitive")
        assert TableFilter(rules, case_sensitive=False).match_schema(schema) is ci, (schema, "case-insensitive")


@pytest.mark.parametrize(
    "rule",
    ["a.b.c", "a%b.c", r"a\tb.c", "[].*", "[!].*", "[.*", r"[\d\D].*", "db", "db.", "`db`*.*", "/db.*", "`db.*",
     '"db.*', "db\\", "db.tbl#not comment"],
)
def test_parse_failures(rule):
    with pytest.raises(ConfigError, match="invalid table filter rule"):
        TableFilter([rule])


def test_import_rules_from_files(tmp_path):
    (tmp_path / "1.txt").write_text("\n\t\tdb?.tbl?\n\t\tdb02.tbl02\n\t")
    (tmp_path / "2.txt").write_text("\n\t\tdb03.tbl03\n\t\t!db4.tbl4\n\t")
    f = TableFilter([f"@{tmp_path / '1.txt'}", f"@{tmp_path / '2.txt'}", "db04.tbl04"])
    expected = {("db1", "tbl1"): True, ("db2", "tbl2"): True, ("db3", "tbl3"): True, ("db4", "tbl4"): False,
                ("db01", "tbl01"): False, ("db02", "tbl02"): True, ("db03", "tbl03"): True, ("db04", "tbl04"): True}
    assert {key: f.match_table(*key) for key in expected} == expected


def test_recursive_import_is_refused(tmp_path):
    (tmp_path / "3.txt").write_text("db1.tbl1")
    (tmp_path / "4.txt").write_text(f"# comment\n\n@{tmp_path / '3.txt'}")
    with pytest.raises(ConfigError, match="cannot import another filter file"):
        TableFilter([f"@{tmp_path / '4.txt'}"])
    with pytest.raises(ConfigError, match="cannot read filter file"):
        TableFilter([f"@{tmp_path / '5.txt'}"])
