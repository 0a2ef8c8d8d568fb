"""The loaders we compare against, each used the way its users would.

- ``mariadb-client``: the dump's schema and data files streamed into one ``mariadb`` session,
  the simplest way to replay a dump;
- ``myloader-tN``: Debian's ``myloader`` restoring the dump with N threads (``-t 2`` is the
  reference for SQL loads: the tool tidb-lightning's TiDB backend replaces);
- ``insert-rows``: Airflow's ``MySqlHook.insert_rows`` with its defaults on the ``.tbl`` rows,
  what a DAG does without a dedicated provider (the reference for CSV loads);
- ``load-data``: ``LOAD DATA LOCAL INFILE`` of the ``.tbl`` files, the server's own bulk path,
  a ceiling rather than a competitor;
- ``mariadb-load-2``: the same by the ``mariadb`` client in two parallel sessions, each loading half
  of every table: the raw limit of a logical import into this server with two connections (the
  reference for ``logical-import-method = "load-data"``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from functools import partial
from pathlib import Path

from benchmarks.loader import CSV_INPUT, SQL_INPUT, Loader, Target
from benchmarks.measure import Measurement, run_measured
from benchmarks.tpch_data import TABLES

# Run as a module, like the harness itself, from the repository root (the working directory is inherited).
WORKER = "benchmarks.peer_worker"
MYLOADER_THREADS: tuple[int, ...] = (1, 2, 4)
REFERENCE_SQL = "myloader-t2"
REFERENCE_CSV = "insert-rows"
REFERENCE_RAW = "mariadb-load-2"
RAW_STREAMS = 2


def mariadb_client(target: Target) -> Measurement:
    """Stream each table's schema file then its data files into ``mariadb <db>``, in one session."""
    dump = target.dataset
    files = [f for t in TABLES for f in (dump.dump_schema_file(t), *dump.dump_sql_files(t))]
    argv = ["mariadb", "--no-defaults", *target.server.client_args(), target.database]
    return run_measured(argv, target.log_path("mariadb-client"), stdin_files=files)


def mariadb_load_data(streams: int, target: Target) -> Measurement:
    """``streams`` ``mariadb`` sessions at once, each running LOAD DATA LOCAL INFILE on its part of every table.

    Timed as one shell that starts them and waits for both; its peak RSS is the shell's, not the clients'.
    """
    client = ["mariadb", "--no-defaults", "--local-infile=1", *target.server.client_args(), target.database]
    sessions = []
    for parts in target.dataset.tbl_parts(streams):
        statements = "".join(
            f"LOAD DATA LOCAL INFILE '{part}' INTO TABLE `{part.name.split('.')[0]}` FIELDS TERMINATED BY '|' "
            "ESCAPED BY '' LINES TERMINATED BY '|\\n';" for part in parts)
        sessions.append(" ".join(shlex.quote(a) for a in [*client, "-e", statements]))
    started = "".join(f"{session} & p{k}=$!; " for k, session in enumerate(sessions))
    script = started + " && ".join(f"wait $p{k}" for k in range(len(sessions)))
    return run_measured(["bash", "-c", script], target.log_path(f"mariadb-load-{streams}"))


def myloader(threads: int, target: Target) -> Measurement:
    """``myloader`` into ``target.database`` (``-B`` renames the dump's ``tpch``; ``-o`` drops leftovers)."""
    argv = ["myloader", "-d", str(target.dataset.dump_dir), "-B", target.database,
            *target.server.client_args(), "-t", str(threads), "-o", "-v", "2"]
    return run_measured(argv, target.log_path(f"myloader-t{threads}"))


def insert_rows(target: Target) -> Measurement:
    """``MySqlHook.insert_rows`` in a child process, with the connection given the Airflow way (env)."""
    return _python_worker("insert-rows", target, _airflow_env(target))


def load_data(target: Target) -> Measurement:
    return _python_worker("load-data", target, dict(os.environ))


def probe_airflow(work_dir: Path) -> str | None:
    """Why ``MySqlHook`` cannot be imported here (Airflow, its MySQL provider or mysqlclient), or None."""
    env = _airflow_env_base(work_dir)
    done = subprocess.run([sys.executable, "-c", "import airflow.providers.mysql.hooks.mysql"],
                          capture_output=True, text=True, env=env)
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"import failed with {done.returncode}"


def _python_worker(mode: str, target: Target, env: dict[str, str]) -> Measurement:
    argv = [sys.executable, "-m", WORKER, mode, str(target.server.port), target.database,
            str(target.dataset.tbl_dir)]
    return run_measured(argv, target.log_path(mode), env=env, self_timed=True)


def _airflow_env_base(work_dir: Path) -> dict[str, str]:
    """A private ``AIRFLOW_HOME`` so the benchmark neither reads nor writes the user's Airflow set-up."""
    home = work_dir / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


def _airflow_env(target: Target) -> dict[str, str]:
    server = target.server
    uri = f"mysql://{server.user}@{server.host}:{server.port}/{target.database}"
    return {**_airflow_env_base(target.work_dir), "AIRFLOW_CONN_BENCH_TARGET": uri}


def peer_loaders() -> list[Loader]:
    """All peers, in the order they run: the SQL ones first, the slow ``insert-rows`` last."""
    return [
        *(Loader(f"myloader-t{n}", SQL_INPUT, precreate_schema=False, load=partial(myloader, n))
          for n in MYLOADER_THREADS),
        Loader("mariadb-client", SQL_INPUT, precreate_schema=False, load=mariadb_client),
        Loader("load-data", CSV_INPUT, precreate_schema=True, load=load_data),
        Loader(REFERENCE_RAW, CSV_INPUT, precreate_schema=True, load=partial(mariadb_load_data, RAW_STREAMS)),
        Loader("insert-rows", CSV_INPUT, precreate_schema=True, load=insert_rows, probe=probe_airflow),
    ]
