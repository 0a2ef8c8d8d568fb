"""Row counts from mydumper's metadata file: what >= 0.14 records, nothing from older mydumper or Dumpling."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.mydump.dump_metadata import dump_row_counts, parse_row_counts

MYDUMPER_0_15 = """# Started dump at: 2025-09-05 21:20:19
[config]
quote-character = BACKTICK

[myloader_session_variables]
SQL_MODE='NO_AUTO_VALUE_ON_ZERO' /*!40101

[source]
File = binlog.000003
Position = 66379458

[`employees`.`departments`]
real_table_name=departments
rows = 9

[`employees`.`dept``emp`]
real_table_name=dept`emp
rows = 331603
data_checksum = 3187537694

[`employees`]
schema_checksum = 95DC8DDE
# Finished dump at: 2025-09-05 21:20:21
"""

OLD_MYDUMPER = """Started dump at: 2026-11-29 10:00:00
SHOW MASTER STATUS:
\tLog: mysql-bin.000001
\tPos: 106

Finished dump at: 2026-11-29 10:00:01
"""

DUMPLING = """Started dump at: 2026-11-29 10:00:00
SHOW MASTER STATUS:
\tLog: tidb-binlog
\tPos: 446047735467409409
\tGTID:

Finished dump at: 2026-11-29 10:00:02
"""


def test_mydumper_0_14_and_later_record_rows_per_table():
    assert parse_row_counts(MYDUMPER_0_15.splitlines()) == {("employees", "departments"): 9,
                                                             ("employees", "dept`emp"): 331603}


MYDUMPER_0_14_1 = """# Started dump at: 2023-06-09 11:47:18
[master]
File = mydumper1-bin.000017
Position = 241149225

[`sakila`.`store`]
Rows = 2
data_checksum = 3119812626

[`sakila`]
schema_checksum = FDF2173B
# Finished dump at: 2023-06-09 11:47:18
"""


def test_the_first_ini_format_and_double_quoted_names():
    assert parse_row_counts(MYDUMPER_0_14_1.splitlines()) == {("sakila", "store"): 2}
    assert parse_row_counts(['["shop"."we""ird"]', "rows = 7"]) == {("shop", 'we"ird'): 7}


def test_older_mydumper_and_dumpling_record_none(tmp_path):
    assert parse_row_counts(OLD_MYDUMPER.splitlines()) == {}
    assert parse_row_counts(DUMPLING.splitlines()) == {}
    assert dump_row_counts(str(tmp_path)) == {}  # no metadata file at all
    (tmp_path / "metadata").write_text(MYDUMPER_0_15)
    assert dump_row_counts(str(tmp_path))[("employees", "departments")] == 9


@given(st.lists(st.text(max_size=40)))
def test_any_text_parses_without_error(lines):
    counts = parse_row_counts(lines)
    assert all(isinstance(n, int) and n >= 0 for n in counts.values())
