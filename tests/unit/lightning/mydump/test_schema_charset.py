"""Schema files decoded from ``[mydumper] character-set`` as tidb-lightning's ``decodeCharacterSet`` does."""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.config.charsets import Charset
from airflow_provider_tidb_lightning.lightning.errors import SourceError
from airflow_provider_tidb_lightning.lightning.mydump.schema_charset import (
    SchemaDecodeError,
    decode_schema,
    decode_schema_file,
    is_set_names,
)

TEXT = "CREATE TABLE t (c VARCHAR(9) DEFAULT '中文' COMMENT '表');"


@pytest.mark.parametrize(
    ("data", "charset", "expected", "converted"),
    [
        (TEXT.encode(), Charset.AUTO, TEXT.encode(), False),  # valid UTF-8: as it is
        (TEXT.encode(), Charset.UTF8MB4, TEXT.encode(), False),
        (TEXT.encode("gb18030"), Charset.AUTO, TEXT.encode(), True),  # else GB18030
        (TEXT.encode("gb18030"), Charset.GB18030, TEXT.encode(), True),
        (TEXT.encode("gbk"), Charset.GBK, TEXT.encode(), True),
        (b"\xff\xfe\x00", Charset.BINARY, b"\xff\xfe\x00", False),  # binary: never touched
        ("caf\u00e9 \u20ac".encode("cp1252"), Charset.LATIN1, "café €".encode(), True),
        (b"\x81\x9d", Charset.LATIN1, "\x81\x9d".encode(), True),  # MySQL's latin1 keeps cp1252's holes
        (b"plain", Charset.ASCII, b"plain", True),
    ],
)
def test_decoded(data, charset, expected, converted):
    assert decode_schema(data, charset) == (expected, converted)


@pytest.mark.parametrize(
    ("data", "charset", "offset"),
    [
        (b"CREATE TABLE t (c INT) COMMENT '\xe4\xb8';", Charset.UTF8MB4, 32),  # invalid UTF-8
        (b"CREATE TABLE t (c INT) COMMENT '\xff\xff\xff';", Charset.AUTO, 32),  # neither UTF-8 nor GB18030
        (b"abc\x80", Charset.GBK, 3),
        (b"ab\xe9", Charset.ASCII, 2),
    ],
)
def test_a_file_that_fits_neither_fails_naming_the_byte(data, charset, offset):
    with pytest.raises(SchemaDecodeError, match="invalid schema encoding") as failed:
        decode_schema(data, charset)
    assert failed.value.offset == offset
    with pytest.raises(SourceError) as named:
        decode_schema_file(data, charset, "db.t-schema.sql")
    assert named.value.path == "db.t-schema.sql" and named.value.offset == offset


@pytest.mark.parametrize(
    ("statement", "expected"),
    [(b"SET NAMES gbk", True), (b"/*!40101 SET NAMES binary*/", True), (b"set character set utf8", True),
     (b"SET CHARSET latin1", True), (b"SET FOREIGN_KEY_CHECKS=0", False), (b"/*!40014 SET sql_mode=''*/", False)],
)
def test_set_names_statements(statement, expected):
    assert is_set_names(statement) is expected
