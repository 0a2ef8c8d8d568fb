"""Read-ahead against the real server: a chunk's reader runs in its own thread, a batch ahead of its writer.

What must not change: the batches committed (rows and positions), the error a bad source byte raises (its
type, file and offset), the checkpoint after a failure or a stop; and no reader thread may outlive its chunk.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_tidb_lightning.lightning.common import failpoint
from airflow_provider_tidb_lightning.lightning.common.failpoint import InjectedFault
from airflow_provider_tidb_lightning.lightning.errors import ImportCancelled, SourceError
from airflow_provider_tidb_lightning.lightning.importer import chunk_step
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.checkpoint_checks import TOTAL_ROWS, assert_consistent_after_crash, assert_exact
from tests.support.cli_task import TABLES
from tests.support.engine_helpers import task_config
from tests.support.parquet_files import tpch_parquet

SCHEMA = "CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(40), `f` DOUBLE);\n"
TBL_CSV = {"separator": "|", "delimiter": "", "header": False, "trim-last-separator": True}
TBL_RULE = {"pattern": r"^(\w+)\.tbl$", "schema": "tpch", "table": "$1", "type": "csv"}


def _reader_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.endswith("-reader")]


def _import_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lightning-writer-")]


class _InThread:
    """What a chunk did before read-ahead: its batches read in the writer's own thread, one at a time."""

    def __init__(self, items: Iterator[Any], *, depth: int, name: str) -> None:
        self._items = items

    def __enter__(self) -> Iterator[Any]:
        return self._items

    def __exit__(self, *exc: object) -> None:
        return None


def _dump(directory: Path, fmt: str, rows: int, bad: int | None = None) -> Path:
    """``src.t``: ``rows`` rows ``(id, 'value id', id / 4)`` in one file of ``fmt``; row ``bad`` (1-based) malformed."""
    directory.mkdir()
    (directory / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (directory / "src.t-schema.sql").write_text(SCHEMA)
    ids = range(1, rows + 1)
    if fmt == "sql":
        tuples = [f"({i},'value {i}',{i / 4})" if i != bad else f"({i},'value {i}' 'x' @,0)" for i in ids]
        (directory / "src.t.000000001.sql").write_text("INSERT INTO `t` VALUES " + ",\n".join(tuples) + ";\n")
    elif fmt == "csv":
        lines = [f"{i},value {i},{i / 4}" + (",extra" if i == bad else "") for i in ids]
        (directory / "src.t.000000001.csv").write_text("\n".join(lines) + "\n")
    else:
        floats = [float("nan") if i == bad else i / 4 for i in ids]
        table = pa.table({"id": pa.array(ids, pa.int32()), "v": pa.array([f"value {i}" for i in ids]),
                          "f": pa.array(floats, pa.float64())})
        pq.write_table(table, directory / "src.t.parquet", row_group_size=500)
    return directory


def _config(server: Any, dump: Path, db: str, **mydumper: Any):
    return task_config(server, dump, db, source_db="src", mydumper={"csv": {"header": False}, **mydumper},
                       lightning={"region-concurrency": 1}, tikv_importer={"logical-import-batch-size": "2KiB"})


def _chunk_state(server: Any, db: str) -> tuple[Any, ...]:
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT `path`, `pos`, `pos_columns`, `pos_in_values`, `rows_written`, `finished` "
                    f"FROM `{db}_ckpt`.`chunk_v1` ORDER BY `path`, `start_offset`")
        chunks = cur.fetchall()
        cur.execute(f"SELECT COUNT(*), COALESCE(SUM(`id`), 0) FROM `{db}`.`t`")
        return chunks, cur.fetchone()


@pytest.mark.parametrize("fmt", ["sql", "csv", "parquet"])
def test_an_error_mid_file_is_raised_and_committed_as_without_read_ahead(db_server, tmp_path, target, make_database,
                                                                          scratch_databases, monkeypatch, fmt):
    """Row 2,000 of 3,000 is malformed: both ways raise the same error (type and message: file and offset)
    and leave the same checkpoint, every batch before the bad one committed with its position."""
    dump = _dump(tmp_path / "dump", fmt, rows=3000, bad=2000)
    plain = make_database("plain")
    scratch_databases += [f"{plain}_ckpt", f"{plain}_info"]
    errors: dict[str, SourceError] = {}
    with monkeypatch.context() as patch:
        patch.setattr(chunk_step, "ReadAhead", _InThread)
        with pytest.raises(SourceError) as without:
            run_import(_config(db_server, dump, plain), task_id="mid-file")
        errors["without"] = without.value
    with pytest.raises(SourceError) as with_read_ahead:
        run_import(_config(db_server, dump, target), task_id="mid-file")
    errors["with"] = with_read_ahead.value
    assert type(errors["with"]) is type(errors["without"])
    assert str(errors["with"]) == str(errors["without"])
    name = "src.t.parquet" if fmt == "parquet" else f"src.t.000000001.{fmt}"
    assert errors["with"].path == name and str(errors["with"]).startswith(name)
    if fmt != "parquet":  # a Parquet error names its row instead
        assert errors["with"].offset is not None and f"at byte offset {errors['with'].offset}" in str(errors["with"])
    ours = _chunk_state(db_server, target)
    assert ours == _chunk_state(db_server, plain)
    (chunk,), (count, _) = ours
    assert 1000 < chunk[4] < 2000 and chunk[5] == 0  # batches before the bad row committed, the chunk unfinished
    with db_server.connect() as conn:
        assert assert_consistent_after_crash(conn, target, "mid-file")["rows"] == {"t": count}
    assert _reader_threads() == []


def _reader_blocked_on_a_full_queue(deadline: float) -> bool:
    """Whether a reader thread is waiting to hand over a batch (the queue full, its writer busy)."""
    while time.monotonic() < deadline:
        for thread in threading.enumerate():
            frame = sys._current_frames().get(thread.ident or 0) if thread.name.endswith("-reader") else None
            names = []
            while frame is not None:
                names.append(frame.f_code.co_name)
                frame = frame.f_back
            if names and names[0] == "wait" and "_hand_over" in names:
                return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("how", ["cancel", "writer fails"])
def test_a_writer_that_stops_with_the_queue_full_joins_its_reader(db_server, tmp_path, target, monkeypatch, how):
    """The writer's first INSERT waits on a lock the test holds while the reader fills the queue; then the
    import is cancelled (or the writer fails after that INSERT). The import ends, no reader thread is left,
    the checkpoint counts exactly the rows the target holds, and a rerun writes exactly the rest."""
    rows = 20000
    dump = _dump(tmp_path / "dump", "sql", rows=rows)
    cfg = _config(db_server, dump, target, **{"no-schema": True})
    monkeypatch.setattr(failpoint, "_counts", {})
    if how == "writer fails":
        monkeypatch.setenv("TIDB_LIGHTNING_PY_FAIL_AT", "batch-sent:1")
    cancel = threading.Event()
    raised: list[BaseException] = []

    def run() -> None:
        try:
            run_import(cfg, task_id="stopped", cancel=cancel)
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            raised.append(exc)

    with db_server.connect() as locker:
        with locker.cursor() as cur:
            cur.execute(f"USE `{target}`")
            cur.execute(SCHEMA)
            cur.execute("START TRANSACTION")
            cur.execute("SELECT * FROM `t` FOR UPDATE")  # an empty table: its one gap locked, every INSERT waits
        importer = threading.Thread(target=run, name="test-import", daemon=True)
        importer.start()
        blocked = _reader_blocked_on_a_full_queue(time.monotonic() + 30)
        if how == "cancel":
            cancel.set()
            time.sleep(0.5)  # the import's own loop passes the cancel to its writer
        locker.rollback()
    importer.join(60)
    assert blocked
    assert not importer.is_alive()  # no deadlock
    assert len(raised) == 1 and isinstance(raised[0], ImportCancelled if how == "cancel" else InjectedFault), raised
    assert _reader_threads() == [] and _import_threads() == []
    with db_server.connect() as conn:
        committed = assert_consistent_after_crash(conn, target, "stopped")["rows"].get("t", 0)
    assert committed < rows
    monkeypatch.delenv("TIDB_LIGHTNING_PY_FAIL_AT", raising=False)
    summary = run_import(cfg, task_id="stopped")
    assert summary.resumed and summary.total_rows == rows - committed
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*), SUM(`id`), SUM(CRC32(`v`)), SUM(`f`) FROM `{target}`.`t`")
        assert cur.fetchone() == (rows, rows * (rows + 1) // 2,
                                  sum(zlib.crc32(f"value {i}".encode()) for i in range(1, rows + 1)),
                                  sum(i / 4 for i in range(1, rows + 1)))


def _tbl_dump(sample_dir: Path, out: Path) -> Path:
    out.mkdir()
    for table in TABLES:
        shutil.copy(sample_dir / "mydumper-sql" / f"tpch.{table}-schema.sql", out)
        shutil.copy(sample_dir / "tbl" / f"{table}.tbl", out)
    shutil.copy(sample_dir / "mydumper-sql" / "tpch-schema-create.sql", out)
    return out


@pytest.mark.parametrize("source", ["sql insert", "sql load-data", "csv load-data", "parquet"])
def test_imports_through_read_ahead_equal_the_source(db_server, sample_dir, tmp_path, target, reference_db, source):
    """Small batches, two writers: many hand-overs, and the tables equal the mariadb client's load."""
    sections: dict[str, Any] = {"lightning": {"region-concurrency": 2},
                                "tikv_importer": {"logical-import-batch-size": "8KiB"}}
    if source.endswith("load-data"):
        sections["tikv_importer"]["logical-import-method"] = "load-data"
    if source.startswith("sql"):
        dump = sample_dir / "mydumper-sql"
    elif source.startswith("csv"):
        dump = _tbl_dump(sample_dir, tmp_path / "tbl")
        sections["mydumper"] = {"csv": TBL_CSV, "files": [TBL_RULE]}
    else:
        dump = tpch_parquet(sample_dir, tmp_path / "parquet")
    mydumper = sections.setdefault("mydumper", {})
    mydumper["filter"] = [f"tpch.{t}" for t in TABLES]
    summary = run_import(task_config(db_server, dump, target, **sections))
    assert summary.total_rows == TOTAL_ROWS
    assert _reader_threads() == []
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)
