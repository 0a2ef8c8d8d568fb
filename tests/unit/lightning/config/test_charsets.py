"""Character set names: one table for the loader and for the SET NAMES a data file is sent under."""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.config.charsets import Charset, parse_charset, session_charset


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("binary", "binary"),
        ("", "binary"),  # tidb-lightning's default for an empty data-character-set
        ("auto", "binary"),  # auto-detection is for schema files; data goes as it is
        ("utf8", "utf8mb4"),
        ("UTF8MB4", "utf8mb4"),
        ("gbk", "gbk"),
        ("gb18030", "gb18030"),
        ("latin1", "latin1"),
        ("ascii", "ascii"),
    ],
)
def test_session_charset(name, expected):
    assert session_charset(name) == expected


def test_unknown_charset_is_a_value_error():
    with pytest.raises(ValueError):
        parse_charset("latin2")


def test_charset_members_are_their_names():
    assert parse_charset("utf8") is Charset.UTF8MB4 and f"{Charset.GBK}" == "gbk"
