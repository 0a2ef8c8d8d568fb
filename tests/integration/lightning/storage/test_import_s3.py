"""Imports from S3 (moto's real server on 127.0.0.1, credentials checked) into the real test server.

The S3 import must equal the import from disk, resume exactly once after a SIGKILL, and fail with
one clear line for a refused key or a missing bucket. The secret key must not appear anywhere the
import writes: log lines, errors, the task id, the checkpoint tables.
"""

from __future__ import annotations

import gzip
import logging
import shutil
import signal

import pytest
import zstandard

from airflow_provider_tidb_lightning.lightning.checkpoints.model import task_key
from airflow_provider_tidb_lightning.lightning.errors import CheckpointError, SourceError
from airflow_provider_tidb_lightning.lightning.importer.plan import derive_task_id
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from airflow_provider_tidb_lightning.lightning.mydump.storage import open_storage
from tests.support.checkpoint_checks import assert_resumes_exactly_once
from tests.support.cli_task import run_cli, write_task
from tests.support.db_checks import TPCH_COUNTS, database_checksums
from tests.support.engine_helpers import task_config


def _all_text(conn, schema: str) -> str:
    """Every value of every table of ``schema``, as one text to search for a leaked secret."""
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (schema,))
        texts = []
        for (table,) in cur.fetchall():
            cur.execute(f"SELECT * FROM `{schema}`.`{table}`")
            texts += [repr(row) for row in cur.fetchall()]
    return "\n".join(texts)


def test_import_from_s3_equals_import_from_disk(db_server, s3_endpoint, s3_sample, target, reference_db, caplog):
    url = s3_endpoint.url(s3_sample)
    cfg = task_config(db_server, url, target, checkpoint={"keep-after-success": "origin"},
                      mydumper={"max-region-size": "64KiB", "strict-format": True, "csv": {"terminator": "\n"}})
    caplog.set_level(logging.DEBUG)
    summary = run_import(cfg)
    assert summary.total_rows == sum(TPCH_COUNTS.values())
    with db_server.connect() as conn:
        assert database_checksums(conn, target) == database_checksums(conn, reference_db)
        # The checkpoint kept after success: the same chunks as a local import, and no secret anywhere.
        kept = _all_text(conn, f"{target}_ckpt")
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*), SUM(`finished`) FROM `{target}_ckpt`.`chunk_v1` WHERE `task_key` = %s",
                        (task_key(summary.task_id),))
            chunks, finished = cur.fetchone()
    assert chunks == finished and chunks > len(TPCH_COUNTS)  # strict-format cut lineitem's objects by ranges
    assert not s3_endpoint.leaks_secret(kept) and s3_endpoint.access_key not in kept
    assert not s3_endpoint.leaks_secret(caplog.text) and not s3_endpoint.leaks_secret(summary.task_id)
    assert summary.task_id == derive_task_id(cfg) and summary.task_id.startswith("tpch-sql-")


def test_compressed_objects_are_streamed(db_server, s3_endpoint, sample_sql, target, reference_db, tmp_path):
    """gzip and zstd objects decode as they are read, like local files; the tables equal the reference."""
    compressed = tmp_path / "compressed"
    compressed.mkdir()
    for path in sample_sql.iterdir():
        if path.suffix == ".sql" and "-schema" not in path.name:
            data = path.read_bytes()
            if "lineitem" in path.name:
                (compressed / f"{path.name}.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
            else:
                (compressed / f"{path.name}.gz").write_bytes(gzip.compress(data))
        else:
            shutil.copy(path, compressed / path.name)
    s3_endpoint.upload_dir(compressed, "compressed")
    cfg = task_config(db_server, s3_endpoint.url("compressed"), target, mydumper={"filter": ["tpch.*"]})
    assert run_import(cfg).total_rows == sum(TPCH_COUNTS.values())
    with db_server.connect() as conn:
        assert database_checksums(conn, target) == database_checksums(conn, reference_db)


def test_killed_import_over_s3_resumes_exactly_once(db_server, s3_endpoint, s3_sample, target, reference_db,
                                                   tmp_path):
    task = write_task(tmp_path / "task.toml", db_server, target, s3_endpoint.url(s3_sample))
    killed = run_cli(task, task_id="s3-kill", kill_at="batch-committed:40")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    rerun = assert_resumes_exactly_once(db_server, task, "s3-kill", target, reference_db)
    for output in (killed.stderr, rerun.stderr, rerun.stdout):
        assert not s3_endpoint.leaks_secret(output)


def test_a_rewritten_object_of_the_same_size_is_a_changed_source(db_server, s3_endpoint, target, sample_sql,
                                                                 tmp_path):
    """The fingerprint holds each object's ETag: same size, other bytes, and resuming is refused."""
    s3_endpoint.upload_dir(sample_sql, "etag")
    task = write_task(tmp_path / "task.toml", db_server, target, s3_endpoint.url("etag"), tables=("nation",))
    failed = run_cli(task, task_id="s3-etag", fail_after=1)
    assert failed.returncode != 0
    key = "etag/tpch.nation.sql"
    client = s3_endpoint.client()
    body = client.get_object(Bucket="dumps", Key=key)["Body"].read()
    client.put_object(Bucket="dumps", Key=key, Body=body.replace(b"ALGERIA", b"ALGERIE"))
    cfg = task_config(db_server, s3_endpoint.url("etag"), target, mydumper={"filter": ["tpch.nation"]})
    with pytest.raises(CheckpointError, match="source changed"):
        run_import(cfg, task_id="s3-etag")


@pytest.mark.parametrize(("case", "expected"), [
    ("bad key", "access refused: check the credentials"),
    ("no bucket", "bucket or prefix not found"),
    ("no prefix", "no objects under this prefix"),
])
def test_refusals_are_one_clear_line(db_server, s3_endpoint, s3_sample, target, tmp_path, case, expected):
    url = {
        "bad key": s3_endpoint.url(s3_sample, secret_key="not-the-secret-key"),
        "no bucket": s3_endpoint.url(s3_sample, bucket="no-such-bucket"),
        "no prefix": s3_endpoint.url("no-such-prefix"),
    }[case]
    result = run_cli(write_task(tmp_path / "task.toml", db_server, target, url))
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip() and "werkzeug" not in line]
    errors = [line for line in lines if "ERROR" in line or line.startswith("tidb-lightning-py:")]
    assert len(errors) == 1, result.stderr
    assert expected in errors[0] and "s3://" in errors[0] and "******" in errors[0]
    assert "Traceback" not in result.stderr
    assert "not-the-secret-key" not in result.stderr and not s3_endpoint.leaks_secret(result.stderr)


def test_transient_errors_are_retried_and_logged(s3_endpoint, s3_sample, caplog):
    """A connection reset on a ranged GET is retried: the bytes read are the object's, and a warning says so."""
    storage = open_storage(s3_endpoint.url(s3_sample))
    real_cat = storage.fs.cat_file
    failures = iter([ConnectionResetError("Connection reset by peer"), TimeoutError("read timed out")])

    def flaky_cat(path, start=None, end=None, **kwargs):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real_cat(path, start=start, end=end, **kwargs)

    storage.fs.cat_file = flaky_cat
    obj = next(o for o in storage.list() if o.relative == "tpch.nation.sql")
    caplog.set_level(logging.WARNING)
    with storage.open(obj.path) as stream:
        data = stream.read()
    expected = s3_endpoint.client().get_object(Bucket="dumps", Key=f"{s3_sample}/{obj.relative}")["Body"].read()
    assert data == expected and len(data) == obj.size
    retries = [r.getMessage() for r in caplog.records if "storage:" in r.getMessage()]
    assert len(retries) == 2 and "ConnectionResetError" in retries[0], retries


def test_a_permanent_error_is_not_retried(s3_endpoint, s3_sample):
    storage = open_storage(s3_endpoint.url(s3_sample))
    with pytest.raises(SourceError, match="cannot read dumps/tpch-sql/nope.sql: bucket or prefix not found|"
                                          "cannot read dumps/tpch-sql/nope.sql: storage error"):
        storage.open("dumps/tpch-sql/nope.sql").read()


def test_a_chunk_is_read_as_a_byte_range(s3_endpoint, s3_sample):
    """Seeking to a chunk's start and reading fetches that range only: nothing before it, one buffer after."""
    storage = open_storage(s3_endpoint.url(s3_sample))
    big = max(storage.list(), key=lambda o: o.size)
    fetched: list[tuple[int, int]] = []
    real_cat = storage.fs.cat_file

    def recording_cat(path, start=None, end=None, **kwargs):
        fetched.append((start, end))
        return real_cat(path, start=start, end=end, **kwargs)

    storage.fs.cat_file = recording_cat
    start = big.size // 2
    with storage.open(big.path) as stream:
        stream.seek(start)
        data = stream.read(1000)
    key = big.path.partition("/")[2]
    expected = s3_endpoint.client().get_object(Bucket="dumps", Key=key, Range=f"bytes={start}-{start + 999}")
    assert data == expected["Body"].read()
    assert fetched and all(begin >= start for begin, _ in fetched)
    assert sum(end - begin for begin, end in fetched) <= 256 * 1024  # one read buffer, not the object


def test_swap_mode_checks_the_row_counts_of_a_metadata_object(db_server, s3_endpoint, target, tmp_path):
    """Refresh swap verifies an S3 dump against its mydumper >= 0.14 ``metadata`` object, as a dump on disk."""
    from airflow_provider_tidb_lightning.lightning.errors import ImportFailed
    from tests.support.refresh_dumps import SCHEMA, day_one, write_dump

    rows = day_one()
    counts = {table: len(values) for table, values in rows.items()}
    short = write_dump(tmp_path / "short", rows, metadata={**counts, "items": counts["items"] + 1000})
    url = s3_endpoint.url("refresh-short")
    s3_endpoint.upload_dir(short, "refresh-short")
    cfg = task_config(db_server, url, target, source_db=SCHEMA, refresh={"mode": "swap"})
    with pytest.raises(ImportFailed, match=rf"`items`.*metadata file says it holds {counts['items'] + 1000} rows"):
        run_import(cfg, task_id="s3-short")
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'items'",
                    (target,))
        assert cur.fetchone()[0] == 0  # nothing swapped in: the live table was never created
