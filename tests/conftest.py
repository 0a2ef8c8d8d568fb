"""Shared test fixtures: an isolated Airflow home and a real MySQL-protocol server.

Airflow reads its configuration when it is first imported, so the environment below is set
before any test module can import it. The server is a private MariaDB started once per
session (TiDB's own test server is not packaged for Debian); set ``TIDB_LIGHTNING_TEST_DSN``
(``mysql://user:pass@host:port/``) to run the same tests against a TiDB or MySQL instead.

The TPC-H sample (scale 0.01) is made by the session itself (``tests/support/tpch.py``):
``tpch_tbl_dir`` needs no server (``tpchgen-cli`` alone), ``sample_dir`` adds a real mydumper dump
made on the test server. Both are built once per session, in a few seconds.

Fixtures other test files rely on: ``airflow_db``, ``db_server``, ``make_database``,
``fresh_db``, ``target``, ``scratch_databases``, ``tpch_tbl_dir``, ``sample_dir``, ``sample_sql``,
``reference_db``, ``tidb_conn_id``, ``s3_endpoint``, ``s3_sample``. Helpers for tests live in
``tests/support/``, never in a test module.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import pymysql
import pytest
from hypothesis import HealthCheck, settings

# None of these imports Airflow, so the environment below is still in time.
from airflow_provider_tidb_lightning.lightning.common.quoting import quote_identifier
from tests.support import tpch
from tests.support.db_checks import drop_side_schemas, load_reference
from tests.support.db_server import DSN_ENV, DbServer, identify, server_from_dsn, start_private_server
from tests.support.paths import REPO
from tests.support.s3_server import S3Endpoint, start_s3

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="tl-airflow-home-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "example_dags"))
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
# OpenLineage events of every task run go to a file the lineage tests read (support/lineage.py);
# the provider decides whether its listener exists when its plugin loads, so this is set here.
OPENLINEAGE_FILE = Path(_AIRFLOW_HOME) / "openlineage.jsonl"
os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
    {"type": "file", "log_file_path": str(OPENLINEAGE_FILE), "append": True}
)
if metadata.version("apache-airflow").startswith("2."):
    # Airflow 2's unit-test configuration picks LocalExecutor, which refuses SQLite; the
    # SequentialExecutor (Airflow 2's default, gone in Airflow 3) is the one that runs on it.
    os.environ["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"

# Hypothesis' deadline (200 ms an example) and its too_slow health check measure the machine, not the code: on
# a loaded CI runner one example paused by the scheduler fails a property that holds. Every property here is
# about values, none about speed; the number of examples, the shrinking and the other health checks stay.
settings.register_profile("values-not-speed", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("values-not-speed")

TEST_CONN_ID = "tidb_test"
SAMPLE_SCALE = 0.01


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's SQLite metadata database, created once from the ORM (no migrations: ~2 s)."""
    from airflow.utils import db

    db.initdb()


@pytest.fixture(scope="session")
def db_server() -> Iterator[DbServer]:
    """The test server: ``TIDB_LIGHTNING_TEST_DSN`` if set, else a private MariaDB for the session."""
    dsn = os.environ.get(DSN_ENV)
    if dsn:
        yield identify(server_from_dsn(dsn))
        return
    mariadb, server = start_private_server()
    try:
        yield identify(server)
    finally:
        mariadb.stop()


@pytest.fixture
def make_database(db_server: DbServer) -> Iterator[Callable[..., str]]:
    """``make_database(prefix="t") -> name``: a new empty database, dropped after the test."""
    created: list[str] = []

    def make(prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with db_server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        created.append(name)
        return name

    yield make
    if created:
        with db_server.connect() as conn, conn.cursor() as cur:
            for name in created:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def fresh_db(make_database: Callable[..., str]) -> str:
    """The name of one new empty database, dropped after the test."""
    return make_database()


@pytest.fixture(scope="session")
def tpch_tbl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<table>.tbl`` files of TPC-H at scale 0.01 from ``tpchgen-cli``, made once per session (no server)."""
    root = tmp_path_factory.mktemp("sample") / "tpch-sf0.01"
    try:
        return tpch.generate_tbl(root / "tbl", SAMPLE_SCALE)
    except (tpch.MissingTool, tpch.ToolFailed) as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def sample_dir(tpch_tbl_dir: Path, db_server: DbServer) -> Path:
    """TPC-H at scale 0.01 as ``tbl/`` and a real mydumper dump ``mydumper-sql/``, made once per session.

    The dump is made on the test server through a temporary ``tpch`` database (dropped afterwards).
    """
    try:
        return tpch.make_sample(tpch_tbl_dir.parent, db_server, SAMPLE_SCALE)
    except (tpch.MissingTool, tpch.ToolFailed) as exc:
        pytest.fail(str(exc), pytrace=False)
    except pymysql.err.ProgrammingError as exc:
        pytest.fail(f"could not create the `{tpch.SOURCE_DB}` source database of the TPC-H sample on {db_server}:"
                    f" {exc}; drop it if a previous session left it behind", pytrace=False)


@pytest.fixture(scope="session")
def sample_sql(sample_dir: Path) -> Path:
    """The sample's mydumper dump directory (``sample_dir / "mydumper-sql"``)."""
    return sample_dir / "mydumper-sql"


@pytest.fixture(scope="session")
def tidb_conn_id(db_server: DbServer) -> Iterator[str]:
    """The id of an Airflow ``tidb`` connection to the test server, defined through the environment."""
    variable = f"AIRFLOW_CONN_{TEST_CONN_ID.upper()}"
    previous = os.environ.get(variable)
    os.environ[variable] = json.dumps(
        {
            "conn_type": "tidb",
            "host": db_server.host,
            "port": db_server.port,
            "login": db_server.user,
            "password": db_server.password,
        }
    )
    yield TEST_CONN_ID
    if previous is None:
        os.environ.pop(variable, None)
    else:
        os.environ[variable] = previous


@pytest.fixture
def reference_db(db_server: DbServer, sample_dir: Path) -> str:
    """The sample's SQL dump executed by the ``mariadb`` client: what every import of it must equal."""
    return load_reference(db_server, sample_dir)


@pytest.fixture
def target(db_server: DbServer, fresh_db: str) -> Iterator[str]:
    """A fresh target database; its checkpoint and task-info schemas are dropped afterwards too."""
    yield fresh_db
    drop_side_schemas(db_server, fresh_db)


@pytest.fixture
def scratch_databases(db_server: DbServer) -> Iterator[list[str]]:
    """A list to append database names to, dropped after the test (task-info schemas, databases the engine made)."""
    names: list[str] = []
    yield names
    with db_server.connect() as conn, conn.cursor() as cur:
        for name in names:
            cur.execute(f"DROP DATABASE IF EXISTS {quote_identifier(name)}")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """moto's S3 server on 127.0.0.1 (a free port), checking credentials; bucket ``dumps`` exists."""
    server, endpoint = start_s3()
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def s3_sample(s3_endpoint: S3Endpoint, sample_sql: Path) -> str:
    """The sample's mydumper dump uploaded to ``s3://dumps/tpch-sql/``; returns the prefix."""
    s3_endpoint.upload_dir(sample_sql, "tpch-sql")
    return "tpch-sql"
