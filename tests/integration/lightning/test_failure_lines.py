"""Both command lines, failing the way an operator's night goes wrong: one clear line, logged, right status.

Each case runs the real program in a subprocess against the real test server (or a real port with
nothing behind it, a host name that does not resolve, a real full file system) with ``--log-file``:
standard error must be exactly one line, the log file must hold the same line once, no traceback
anywhere, the exit status must be the documented one, and no password may appear.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_task import run_cli, write_task
from tests.support.paths import REPO
from tests.support.ports import closed_port

MODULES = {"tidb-lightning-py": "airflow_provider_tidb_lightning.lightning.cli",
           "tidb-lightning-py-ctl": "airflow_provider_tidb_lightning.lightning.ctl"}
SECRET = "Pw-9f3k-Secret"


def _command(prog: str, task: Path, log: Path) -> list[str]:
    cmd = [sys.executable, "-m", MODULES[prog], "--config", str(task), "--log-file", str(log)]
    return cmd + (["--checkpoint-remove=all"] if prog.endswith("ctl") else [])


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)


def assert_one_line(prog: str, result: subprocess.CompletedProcess[str], log: Path, status: int,
                    *fragments: str) -> str:
    """Exit ``status``; stderr is one line holding every fragment; the log has it once; no traceback or secret."""
    log_text = log.read_text() if log.exists() else ""
    everything = result.stdout + result.stderr + log_text
    assert "Traceback" not in everything, everything
    assert SECRET not in everything
    assert result.returncode == status, everything
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: "), result.stderr
    line = lines[0].removeprefix(f"{prog}: ")
    for fragment in fragments:
        assert fragment in line, line
    errors = [entry for entry in log_text.splitlines() if "[ERROR]" in entry]
    assert len(errors) == 1 and errors[0].endswith(line), log_text
    return line


@pytest.fixture
def tiny_dump(tmp_path: Path) -> Path:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "tpch-schema-create.sql").write_text("CREATE DATABASE tpch;")
    (dump / "tpch.nation-schema.sql").write_text("CREATE TABLE nation (n_nationkey INT PRIMARY KEY);")
    (dump / "tpch.nation.000000000.sql").write_text("INSERT INTO nation VALUES (1),(2),(3);")
    return dump


def _task(tmp_path: Path, server, db: str, dump: Path, lightning: dict[str, object] | None = None,
          **tidb: object) -> Path:
    tables = ("nation",)
    return write_task(tmp_path / f"task-{uuid.uuid4().hex[:6]}.toml", server, db, dump, tables=tables,
                      tidb={"password": SECRET, **tidb}, lightning=lightning or {})


@pytest.mark.parametrize("prog", MODULES)
def test_server_unreachable(prog, db_server, fresh_db, tiny_dump, tmp_path):
    with closed_port() as port:
        task = _task(tmp_path, db_server, fresh_db, tiny_dump, host="127.0.0.1", port=port)
        log = tmp_path / "run.log"
        assert_one_line(prog, _run(_command(prog, task, log)), log, 1,
                        f"cannot reach the server at 127.0.0.1:{port}", "Connection refused", "--tidb-port")


@pytest.mark.parametrize("prog", MODULES)
def test_unknown_host(prog, db_server, fresh_db, tiny_dump, tmp_path):
    task = _task(tmp_path, db_server, fresh_db, tiny_dump, host="no-such-host.invalid")
    log = tmp_path / "run.log"
    assert_one_line(prog, _run(_command(prog, task, log)), log, 1,
                    "cannot resolve the server's host name 'no-such-host.invalid'", "[tidb] host")


@pytest.mark.parametrize("prog", MODULES)
def test_wrong_password(prog, db_server, fresh_db, tiny_dump, tmp_path):
    task = _task(tmp_path, db_server, fresh_db, tiny_dump)  # SECRET is not the user's password
    log = tmp_path / "run.log"
    assert_one_line(prog, _run(_command(prog, task, log)), log, 1,
                    f"refused the login of user {db_server.user!r}", "Error 1045", "user and password")


@pytest.fixture
def limited_user(db_server, fresh_db) -> Iterator[str]:
    """A user who may write the target database only: not the checkpoint or task-info schemas."""
    user = f"lim_{uuid.uuid4().hex[:8]}"
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (SECRET,))
        cur.execute(f"GRANT ALL ON `{fresh_db}`.* TO '{user}'@'%'")
    yield user
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP USER '{user}'@'%'")


@pytest.mark.parametrize("prog", MODULES)
def test_user_without_rights_on_the_checkpoint_schema(prog, db_server, fresh_db, tiny_dump, tmp_path, limited_user):
    """The server's own refusal, as the import meets it (the pre-checks, off here, would find it first)."""
    task = _task(tmp_path, db_server, fresh_db, tiny_dump, lightning={"check-requirements": False},
                 user=limited_user)
    log = tmp_path / "run.log"
    line = assert_one_line(prog, _run(_command(prog, task, log)), log, 1,
                           f"user {limited_user!r} may not use the checkpoint schema `{fresh_db}_ckpt`",
                           "Error 1044", f"GRANT ALL ON `{fresh_db}_ckpt`.*", 'driver = "file"')
    assert "IDENTIFIED" not in line
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (fresh_db,))
        assert cur.fetchone()[0] == 0, "nothing is imported without a checkpoint"


def test_pre_checks_name_every_missing_privilege_in_one_line(db_server, fresh_db, tiny_dump, tmp_path, limited_user):
    prog = "tidb-lightning-py"
    task = _task(tmp_path, db_server, fresh_db, tiny_dump, user=limited_user)
    log = tmp_path / "run.log"
    assert_one_line(prog, _run(_command(prog, task, log)), log, 1, "pre-check(s) failed, nothing was written",
                    f"user {limited_user!r} lacks privileges", f"`{fresh_db}_ckpt`", f"`{fresh_db}_info`",
                    "check-requirements = false")
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (%s, %s)",
                    (f"{fresh_db}_ckpt", f"{fresh_db}_info"))
        assert cur.fetchone()[0] == 0, "the pre-checks refuse before the checkpoint or error schema exists"


def _on_a_full_disk(cmd: list[str], disk: Path, seed: Path | None = None) -> list[str]:
    """``cmd`` run in its own mount namespace, with ``disk`` a 64 KiB tmpfs filled to the last block.

    ``unshare --map-root-user --mount`` needs no privilege beyond user namespaces; the full file
    system is a real one, so the error is the kernel's ENOSPC, raised where the store writes."""
    copy = f'cp "{seed}" "{disk}/" && ' if seed else ""
    script = (f'mount -t tmpfs -o size=64k tmpfs "{disk}" && {copy}'
              f'(dd if=/dev/zero of="{disk}/filler" bs=1k 2>/dev/null; true) && exec "$@"')
    return [shutil.which("unshare") or "unshare", "--map-root-user", "--mount", "sh", "-c", script, "sh", *cmd]


def test_full_disk_under_the_file_checkpoint_import(db_server, fresh_db, tiny_dump, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    task = write_task(tmp_path / "task.toml", db_server, fresh_db, tiny_dump, tables=("nation",),
                      checkpoint={"driver": "file", "dsn": str(disk / "cp.json")})
    log = tmp_path / "run.log"
    prog = "tidb-lightning-py"
    assert_one_line(prog, _run(_on_a_full_disk(_command(prog, task, log), disk)), log, 1,
                    f"cannot save the checkpoint file {disk / 'cp.json'}", "No space left on device", "Free space")


def test_full_disk_under_the_file_checkpoint_ctl(db_server, fresh_db, tiny_dump, tmp_path):
    """ctl rewrites the file to forget the task: the disk is full, the one line says so (close() does not repeat it)."""
    seed_dir = tmp_path / "seed"
    task = write_task(tmp_path / "task.toml", db_server, fresh_db, tiny_dump, tables=("nation",),
                      checkpoint={"driver": "file", "dsn": str(seed_dir / "cp.json"), "keep-after-success": "origin"})
    assert run_cli(task).returncode == 0
    disk = tmp_path / "disk"
    disk.mkdir()
    task.write_text(task.read_text().replace(str(seed_dir / "cp.json"), str(disk / "cp.json")))
    log = tmp_path / "ctl.log"
    prog = "tidb-lightning-py-ctl"
    result = _run(_on_a_full_disk(_command(prog, task, log), disk, seed=seed_dir / "cp.json"))
    assert_one_line(prog, result, log, 1, f"cannot save the checkpoint file {disk / 'cp.json'}",
                    "No space left on device")


@pytest.mark.parametrize("prog", MODULES)
def test_configuration_error_is_status_two_and_logged(prog, tmp_path):
    task = tmp_path / "task.toml"
    task.write_text(f'[tidb]\npassword = "{SECRET}"\nport = "not a port"\n')
    log = tmp_path / "run.log"
    assert_one_line(prog, _run(_command(prog, task, log)), log, 2, "tidb.port")


@pytest.mark.parametrize("prog", MODULES)
def test_a_log_file_that_cannot_be_opened_is_a_configuration_error(prog, db_server, fresh_db, tiny_dump, tmp_path):
    task = _task(tmp_path, db_server, fresh_db, tiny_dump)
    log = tmp_path / "no-such-dir" / "run.log"
    result = _run(_command(prog, task, log))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"{prog}: cannot open the log file {log}: No such file or directory (key 'lightning.file')"]
