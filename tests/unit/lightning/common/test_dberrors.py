"""classify: server and client errors sorted into what the writer does about them."""

from __future__ import annotations

import pymysql
import pytest

from airflow_provider_tidb_lightning.lightning.common.dberrors import ErrorKind, classify, describe


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (pymysql.err.IntegrityError(1062, "Duplicate entry '1' for key 'PRIMARY'"), ErrorKind.CONFLICT),
        (pymysql.err.DataError(1366, "Incorrect string value"), ErrorKind.TYPE),
        (pymysql.err.ProgrammingError(1064, "You have an error in your SQL syntax"), ErrorKind.SYNTAX),
        (pymysql.err.OperationalError(1213, "Deadlock found"), ErrorKind.TRANSIENT),
        (pymysql.err.OperationalError(2013, "Lost connection"), ErrorKind.TRANSIENT),
        (pymysql.err.OperationalError(2099, "some other client error"), ErrorKind.TRANSIENT),
        (pymysql.err.InterfaceError(0, ""), ErrorKind.TRANSIENT),
        (ConnectionResetError("reset"), ErrorKind.TRANSIENT),
        (pymysql.err.OperationalError(1142, "INSERT command denied"), ErrorKind.FATAL),
        (ValueError("not a server error"), ErrorKind.FATAL),
    ],
)
def test_classify(exc, kind):
    assert classify(exc) is kind


def test_kinds_equal_the_strings_callers_compare_with():
    assert classify(pymysql.err.IntegrityError(1062, "dup")) == "conflict"
    assert {k.value for k in ErrorKind} == {"transient", "conflict", "type", "syntax", "fatal"}


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        # As tidb-lightning (Go's MySQL driver) prints them: code, SQLSTATE, the server's message.
        (pymysql.err.IntegrityError(1062, "Duplicate entry '1' for key 'PRIMARY'"),
         "Error 1062 (23000): Duplicate entry '1' for key 'PRIMARY'"),
        (pymysql.err.DataError(1406, "Data too long for column 'v' at row 1"),
         "Error 1406 (22001): Data too long for column 'v' at row 1"),
        (pymysql.err.ProgrammingError(1146, "Table 'x.y' doesn't exist"),
         "Error 1146 (42S02): Table 'x.y' doesn't exist"),
        (pymysql.err.OperationalError(1105, "unknown"), "Error 1105 (HY000): unknown"),  # not listed: HY000
        (pymysql.err.OperationalError(2013, "Lost connection"), "Error 2013: Lost connection"),  # client: none
        (ValueError("bad"), "ValueError: bad"),
    ],
)
def test_describe_prints_code_sqlstate_and_the_server_message(exc, text):
    assert describe(exc) == text
