"""DataDecoder: data-character-set decoded to UTF-8 with data-invalid-char-replace, as tidb-lightning does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.config.charsets import Charset
from airflow_provider_tidb_lightning.lightning.mydump.data_charset import DataDecoder, needs_decoding


@pytest.mark.parametrize(
    ("charset", "data", "replacement", "expected"),
    [
        (Charset.GBK, "中文,1\n".encode("gbk"), "\ufffd", "中文,1\n"),
        (Charset.GB18030, "𠀀,2\n".encode("gb18030"), "\ufffd", "𠀀,2\n"),
        (Charset.LATIN1, "café,€\n".encode("cp1252"), "\ufffd", "café,€\n"),
        (Charset.GBK, b"a\x80b", "\ufffd", "a\ufffdb"),  # an undecodable byte is replaced
        (Charset.GBK, b"a\xffb", "?", "a?b"),  # by data-invalid-char-replace
        (Charset.LATIN1, b"\x81", "[bad]", "[bad]"),
    ],
)
def test_decoded_with_replacement(charset, data, replacement, expected):
    assert DataDecoder(charset, replacement).decode(data, final=True) == expected.encode()


def test_a_character_split_across_blocks_is_decoded_once_whole():
    data = "甲乙丙".encode("gbk")
    decoder = DataDecoder(Charset.GBK)
    assert decoder.decode(data[:3]) + decoder.decode(data[3:], final=True) == "甲乙丙".encode()


@pytest.mark.parametrize("charset", [Charset.BINARY, Charset.UTF8MB4, Charset.AUTO, Charset.ASCII])
def test_other_character_sets_pass_through(charset):
    assert not needs_decoding(charset)
    with pytest.raises(ValueError):
        DataDecoder(charset)


@given(text=st.text(alphabet=st.characters(codec="gbk")), cut=st.integers(min_value=0))
def test_gbk_text_survives_any_block_split(text, cut):
    data = text.encode("gbk")
    cut %= len(data) + 1
    decoder = DataDecoder(Charset.GBK)
    assert decoder.decode(data[:cut]) + decoder.decode(data[cut:], final=True) == text.encode()


@given(data=st.binary())
def test_any_bytes_decode_without_error(data):
    assert DataDecoder(Charset.GB18030).decode(data, final=True).decode("utf-8") is not None


def test_decoded_stream_reads_utf8_forward_only():
    import io

    from airflow_provider_tidb_lightning.lightning.mydump.data_charset import decoded_stream

    source = io.BytesIO("甲,乙\n".encode("gbk") * 1000 + b"\x80")
    stream = decoded_stream(source, Charset.GBK, "?", block_size=7)
    assert not stream.seekable()  # a resumed chunk reads through from the start, as for a compressed file
    assert stream.read(4) == "甲".encode() + b","
    assert stream.read() == ("乙\n" + "甲,乙\n" * 999 + "?").encode()
    stream.close()
    assert source.closed
