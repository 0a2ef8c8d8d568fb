"""The unit tests run in seconds with no server; this keeps it so.

``db_server`` (and so every fixture built on it, such as ``sample_dir`` or ``tidb_conn_id``) fails
here instead of starting MariaDB: a test that needs a server belongs in ``tests/integration``.
The TPC-H ``.tbl`` files (``tpch_tbl_dir``) need no server and are fine.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def db_server() -> None:
    pytest.fail("a unit test asked for the test server: move it to tests/integration", pytrace=False)
