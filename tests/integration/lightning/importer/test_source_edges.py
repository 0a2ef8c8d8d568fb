"""Edges of the dump directory: an empty one fails clearly; a dangling link is skipped only when no rule wants it.

tidb-lightning refuses an empty source ("doesn't exist or contains no files"): a wrong path or a
dump not yet copied must not look like a successful import of nothing. A link whose target is
gone is harmless when no file rule matches it (a stale ``latest`` link, an editor's lock file),
and an error naming it when it stands where a data file should be.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.errors import SourceError
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.cli_task import write_task
from tests.support.engine_helpers import task_config
from tests.support.paths import REPO


def test_an_empty_dump_directory_fails_with_status_two(db_server, target, tmp_path):
    empty = tmp_path / "dump"
    (empty / "subdir").mkdir(parents=True)  # directories alone are still nothing to import
    task = write_task(tmp_path / "task.toml", db_server, target, empty)
    result = subprocess.run([sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.cli", "--config",
                             str(task)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert f"{empty} contains no files: there is nothing to import" in result.stderr
    assert "mydumper.data-source-dir" in result.stderr and "Traceback" not in result.stderr
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (f"{target}_ckpt",))
        assert cur.fetchone()[0] == 0, "nothing is written for an empty source"


@pytest.fixture
def nation_dump(sample_sql: Path, tmp_path: Path) -> Path:
    dump = tmp_path / "dump"
    dump.mkdir()
    for name in ("tpch-schema-create.sql", "tpch.nation-schema.sql"):
        shutil.copy(sample_sql / name, dump / name)
    shutil.copy(sample_sql / "tpch.nation.sql", dump / "tpch.nation.sql")
    return dump


def test_a_dangling_link_no_rule_matches_is_skipped_with_a_warning(db_server, target, reference_db, nation_dump,
                                                                   caplog):
    os.symlink(nation_dump / "gone.txt", nation_dump / "latest")
    os.symlink("loop", nation_dump / "loop")
    with caplog.at_level(logging.WARNING):
        summary = run_import(task_config(db_server, nation_dump, target))
    assert summary.total_rows == 25
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("skipping latest: a symbolic link whose target cannot be resolved") for m in warned)
    assert any(m.startswith("skipping loop: a symbolic link") for m in warned)
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CHECKSUM TABLE `{target}`.`nation`, `{reference_db}`.`nation`")
        (_, ours), (_, reference) = cur.fetchall()
        assert ours == reference


def test_a_dangling_link_where_a_data_file_belongs_fails_naming_it(db_server, target, nation_dump):
    os.symlink(nation_dump / "moved-away.sql", nation_dump / "tpch.nation.000000009.sql")
    with pytest.raises(SourceError, match=r"^tpch\.nation\.000000009\.sql: a symbolic link whose target cannot be "
                                          r"resolved .*restore its target or remove the link"):
        run_import(task_config(db_server, nation_dump, target))
