"""Parquet data files imported into the real test server: typed TPC-H equals the SQL dump, every type exact.

The TPC-H Parquet files are written by pyarrow from the sample's ``tbl`` files (decimal128, date32,
int32 / int64, string) in row groups of 4000 rows, so lineitem has 16 row groups and, with a small
``max-region-size``, several chunks; a SIGKILL in the middle of one resumes at the row after the
last committed batch.
"""

from __future__ import annotations

import signal
import struct
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_tidb_lightning.lightning.errors import SourceError
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.checkpoint_checks import (
    assert_resumes_exactly_once,
)
from tests.support.cli_task import run_cli, write_task
from tests.support.db_checks import TPCH_COUNTS, database_checksums
from tests.support.engine_helpers import task_config
from tests.support.parquet_files import tpch_parquet


@pytest.fixture(scope="module")
def parquet_dump(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tpch_parquet(sample_dir, tmp_path_factory.mktemp("parquet") / "tpch-parquet")


@pytest.mark.parametrize("where", ["local", "s3"])
def test_typed_tpch_parquet_equals_the_sql_dump(db_server, parquet_dump, target, reference_db, where, request):
    source: str | Path = parquet_dump
    if where == "s3":
        s3 = request.getfixturevalue("s3_endpoint")
        s3.upload_dir(parquet_dump, "tpch-parquet")
        source = s3.url("tpch-parquet")
    cfg = task_config(db_server, source, target, mydumper={"max-region-size": "256KiB"},
                      tikv_importer={"on-duplicate": "error"}, checkpoint={"keep-after-success": "origin"})
    summary = run_import(cfg)
    assert {t.table.split("`.`")[1].rstrip("`"): t.rows for t in summary.tables} == TPCH_COUNTS
    with db_server.connect() as conn:
        assert database_checksums(conn, target) == database_checksums(conn, reference_db)
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM `{target}_ckpt`.`chunk_v1` WHERE `path` = 'tpch.lineitem.parquet'")
            assert cur.fetchone()[0] > 1  # cut between row groups


def test_killed_parquet_import_resumes_at_the_next_row(db_server, parquet_dump, target, reference_db, tmp_path):
    task = write_task(tmp_path / "task.toml", db_server, target, parquet_dump, mydumper={"max-region-size": "256KiB"})
    killed = run_cli(task, task_id="pq-kill", kill_at="batch-committed:30")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert_resumes_exactly_once(db_server, task, "pq-kill", target, reference_db)


# --- every supported type ----------------------------------------------------------------------------

TOKYO = timezone(timedelta(hours=9))
TEXT = "it's a \"quote\", a \\ backslash,\na newline, \r\x00\x1a, 日本語 and 😀"

TYPES_DDL = """CREATE TABLE `types` (
  `id` INT PRIMARY KEY,
  `i8` TINYINT, `i16` SMALLINT, `i32` INT, `i64` BIGINT,
  `u8` TINYINT UNSIGNED, `u16` SMALLINT UNSIGNED, `u32` INT UNSIGNED, `u64` BIGINT UNSIGNED,
  `f32` FLOAT, `f64` DOUBLE, `d128` DECIMAL(38,10), `d256` DECIMAL(65,30), `flag` BOOLEAN,
  `d32` DATE, `d64` DATE, `t64` TIME(6), `t32` TIME, `ts` DATETIME(6), `ts_s` DATETIME, `tsz` DATETIME(6),
  `tsz_col` TIMESTAMP(6) NULL DEFAULT NULL,
  `s` VARCHAR(100), `ls` MEDIUMTEXT, `bin` VARBINARY(300), `lbin` BLOB, `fsb` BINARY(4),
  `dict` VARCHAR(20), `nul` VARCHAR(5)
) DEFAULT CHARSET=utf8mb4;
"""

# (arrow type, [row 1, row 2, row 3 (nulls)], expected from the server for rows 1 and 2)
COLUMNS: dict[str, tuple[pa.DataType, list, list]] = {
    "id": (pa.int32(), [1, 2, 3], [1, 2]),
    "i8": (pa.int8(), [-128, 127, None], [-128, 127]),
    "i16": (pa.int16(), [-32768, 32767, None], [-32768, 32767]),
    "i32": (pa.int32(), [-2**31, 2**31 - 1, None], [-2**31, 2**31 - 1]),
    "i64": (pa.int64(), [-2**63, 2**63 - 1, None], [-2**63, 2**63 - 1]),
    "u8": (pa.uint8(), [0, 255, None], [0, 255]),
    "u16": (pa.uint16(), [0, 65535, None], [0, 65535]),
    "u32": (pa.uint32(), [0, 2**32 - 1, None], [0, 2**32 - 1]),
    "u64": (pa.uint64(), [0, 2**64 - 1, None], [0, 2**64 - 1]),
    "f32": (pa.float32(), [0.1, -3.4028234663852886e38, None], [0.1, -3.4028234663852886e38]),
    "f64": (pa.float64(), [0.1, -1.7976931348623157e308, None], [0.1, -1.7976931348623157e308]),
    "d128": (pa.decimal128(38, 10), [Decimal("-9999999999999999999999999999.9999999999"), Decimal("0.0000000001"),
                                     None],
             [Decimal("-9999999999999999999999999999.9999999999"), Decimal("0.0000000001")]),
    "d256": (pa.decimal256(65, 30), [Decimal("12345678901234567890123456789012345.123456789012345678901234567890"),
                                     Decimal("-0.000000000000000000000000000001"), None],
             [Decimal("12345678901234567890123456789012345.123456789012345678901234567890"),
              Decimal("-0.000000000000000000000000000001")]),
    "flag": (pa.bool_(), [True, False, None], [1, 0]),
    "d32": (pa.date32(), [date(1000, 1, 1), date(9999, 12, 31), None], [date(1000, 1, 1), date(9999, 12, 31)]),
    "d64": (pa.date64(), [date(1970, 1, 1), date(2024, 2, 29), None], [date(1970, 1, 1), date(2024, 2, 29)]),
    "t64": (pa.time64("us"), [time(0, 0), time(23, 59, 59, 999999), None],
            [timedelta(0), timedelta(hours=23, minutes=59, seconds=59, microseconds=999999)]),
    "t32": (pa.time32("s"), [time(12, 34, 56), time(0, 0, 1), None], [timedelta(hours=12, minutes=34, seconds=56),
                                                                      timedelta(seconds=1)]),
    "ts": (pa.timestamp("us"), [datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999), None],
           [datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)]),
    "ts_s": (pa.timestamp("s"), [datetime(2000, 1, 1, 0, 0, 1), datetime(2038, 1, 19, 3, 14, 8), None],
             [datetime(2000, 1, 1, 0, 0, 1), datetime(2038, 1, 19, 3, 14, 8)]),
    "tsz": (pa.timestamp("us", tz="Asia/Tokyo"), [datetime(2024, 1, 1, 8, 30, tzinfo=TOKYO),
                                                   datetime(2024, 6, 30, 23, 59, 59, 500000, tzinfo=UTC), None],
            [datetime(2023, 12, 31, 23, 30), datetime(2024, 6, 30, 23, 59, 59, 500000)]),
    "tsz_col": (pa.timestamp("ms", tz="UTC"), [datetime(2021, 3, 4, 5, 6, 7, 891000, tzinfo=TOKYO),
                                               datetime(1970, 1, 2, tzinfo=UTC), None],
                [datetime(2021, 3, 3, 20, 6, 7, 891000), datetime(1970, 1, 2)]),
    "s": (pa.string(), [TEXT, "", None], [TEXT, ""]),
    "ls": (pa.large_string(), ["x" * 70000, "NULL", None], ["x" * 70000, "NULL"]),
    "bin": (pa.binary(), [bytes(range(256)), b"", None], [bytes(range(256)), b""]),
    "lbin": (pa.large_binary(), [b"\x00'\\\n\"" * 100, b"\xff", None], [b"\x00'\\\n\"" * 100, b"\xff"]),
    "fsb": (pa.binary(4), [b"\x00\xff'\\", b"abcd", None], [b"\x00\xff'\\", b"abcd"]),
    "dict": (pa.dictionary(pa.int8(), pa.string()), ["a", "b", None], ["a", "b"]),
    "nul": (pa.null(), [None, None, None], [None, None]),
}


def _source_dir(directory: Path, table: pa.Table) -> Path:
    directory.mkdir()
    (directory / "rt-schema-create.sql").write_text("CREATE DATABASE `rt`;\n")
    (directory / "rt.types-schema.sql").write_text(TYPES_DDL)
    pq.write_table(table, directory / "rt.types.parquet", row_group_size=2)
    return directory


def test_every_supported_type_round_trips_exactly(db_server, target, tmp_path):
    table = pa.table({name: pa.array(values, type=kind) for name, (kind, values, _) in COLUMNS.items()})
    cfg = task_config(db_server, _source_dir(tmp_path / "dump", table), target, source_db="rt")
    assert run_import(cfg).total_rows == 3
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
        # A FLOAT column prints 6 digits: read it as the double it holds exactly.
        select = ", ".join("CAST(`f32` AS DOUBLE)" if name == "f32" else f"`{name}`" for name in COLUMNS)
        cur.execute(f"SELECT {select} FROM `{target}`.`types` ORDER BY id")
        rows = cur.fetchall()
    assert len(rows) == 3
    for index, name in enumerate(COLUMNS):
        got = [row[index] for row in rows]
        expected = COLUMNS[name][2]
        if name != "id":
            assert got.pop() is None, name
        if name == "f32":  # FLOAT holds a float32: compare its bits
            got = [struct.pack("<f", v) for v in got]
            expected = [struct.pack("<f", v) for v in expected]
        assert got[:2] == expected, name


def test_nested_types_are_refused_by_name(db_server, target, tmp_path):
    table = pa.table({"id": pa.array([1], pa.int32()), "tags": pa.array([["a", "b"]], pa.list_(pa.string()))})
    directory = tmp_path / "dump"
    directory.mkdir()
    (directory / "rt.nested-schema.sql").write_text("CREATE TABLE `nested` (`id` INT, `tags` TEXT);\n")
    pq.write_table(table, directory / "rt.nested.parquet")
    cfg = task_config(db_server, directory, target, source_db="rt")
    with pytest.raises(SourceError) as info:
        run_import(cfg)
    message = str(info.value)
    assert "rt.nested.parquet" in message and "'tags'" in message and "nested type list<element: string>" in message
    assert "\n" not in message


def test_nan_is_refused_with_its_row(db_server, target, tmp_path):
    table = pa.table({"id": pa.array([1, 2], pa.int32()), "f": pa.array([1.5, float("nan")], pa.float64())})
    directory = tmp_path / "dump"
    directory.mkdir()
    (directory / "rt.floats-schema.sql").write_text("CREATE TABLE `floats` (`id` INT, `f` DOUBLE);\n")
    pq.write_table(table, directory / "rt.floats.parquet")
    with pytest.raises(SourceError, match=r"rt.floats.parquet: column 'f' row 1 holds nan"):
        run_import(task_config(db_server, directory, target, source_db="rt"))
