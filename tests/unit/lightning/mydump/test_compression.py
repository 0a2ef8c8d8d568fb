"""open_source: streaming gzip/zstd decoding and precise errors for damaged archives."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest
import zstandard

from airflow_provider_tidb_lightning.lightning.errors import SourceError
from airflow_provider_tidb_lightning.lightning.mydump.compression import (
    Compression,
    compression_from_name,
    normalize_compression,
    open_source,
)

# Varied enough not to compress to nothing, so truncation lands mid-stream.
PAYLOAD = b"".join(b"INSERT INTO t VALUES (%d,'row %d');\n" % (i, i * 7919 % 1000003) for i in range(40000))


def read_all(path: Path, compression: str) -> bytes:
    with open_source(str(path), compression) as stream:
        return stream.read()


def test_plain_file_is_seekable(tmp_path: Path) -> None:
    path = tmp_path / "db.t.sql"
    path.write_bytes(PAYLOAD)
    with open_source(str(path), "") as stream:
        stream.seek(100)
        assert stream.read(10) == PAYLOAD[100:110]


def test_gzip_round_trip_including_concatenated_members(tmp_path: Path) -> None:
    path = tmp_path / "db.t.sql.gz"
    path.write_bytes(gzip.compress(PAYLOAD) + gzip.compress(b"tail;\n"))
    assert read_all(path, "gzip") == PAYLOAD + b"tail;\n"


def test_zstd_round_trip_including_several_frames(tmp_path: Path) -> None:
    path = tmp_path / "db.t.sql.zst"
    compressor = zstandard.ZstdCompressor()
    path.write_bytes(compressor.compress(PAYLOAD) + compressor.compress(b"tail;\n"))
    assert read_all(path, "zstd") == PAYLOAD + b"tail;\n"


def test_small_reads_return_the_same_bytes(tmp_path: Path) -> None:
    path = tmp_path / "db.t.sql.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(PAYLOAD))
    pieces = []
    with open_source(str(path), "zstd") as stream:
        while piece := stream.read(777):
            pieces.append(piece)
    assert b"".join(pieces) == PAYLOAD


def test_truncated_gzip_names_file_and_decompressed_offset(tmp_path: Path) -> None:
    compressed = gzip.compress(PAYLOAD)
    truncated = compressed[: len(compressed) // 2]
    path = tmp_path / "db.t.sql.gz"
    path.write_bytes(truncated)
    expected_offset = len(zlib.decompressobj(wbits=31).decompress(truncated))
    assert 0 < expected_offset < len(PAYLOAD)

    with pytest.raises(SourceError) as info:
        read_all(path, "gzip")
    assert info.value.path == str(path)
    assert info.value.offset == expected_offset
    assert "truncated gzip stream" in str(info.value)
    assert f"byte offset {expected_offset}" in str(info.value)


def test_gzip_missing_its_trailer_is_truncated_not_short(tmp_path: Path) -> None:
    path = tmp_path / "db.t.sql.gz"
    path.write_bytes(gzip.compress(PAYLOAD)[:-4])  # drop ISIZE: all data decodes, the member never ends
    with pytest.raises(SourceError, match="truncated gzip stream"):
        read_all(path, "gzip")


def test_corrupt_gzip(tmp_path: Path) -> None:
    damaged = bytearray(gzip.compress(PAYLOAD))
    middle = len(damaged) // 2
    damaged[middle : middle + 64] = bytes(64)
    path = tmp_path / "db.t.sql.gz"
    path.write_bytes(bytes(damaged))
    with pytest.raises(SourceError, match="corrupt gzip stream") as info:
        read_all(path, "gzip")
    assert info.value.path == str(path)
    assert info.value.offset is not None and info.value.offset < len(PAYLOAD)


def test_truncated_zstd(tmp_path: Path) -> None:
    compressed = zstandard.ZstdCompressor().compress(PAYLOAD)
    path = tmp_path / "db.t.sql.zst"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(SourceError, match="truncated zstd stream") as info:
        read_all(path, "zstd")
    assert info.value.path == str(path)
    assert info.value.offset is not None and 0 < info.value.offset < len(PAYLOAD)


def test_truncated_small_zstd_names_the_compressed_byte(tmp_path: Path) -> None:
    """A zstd decoder gives whole blocks only: cut inside the first, nothing was decoded, so the
    decompressed offset is 0 and the message says where the compressed stream broke."""
    compressed = zstandard.ZstdCompressor().compress(b"INSERT INTO t VALUES (1);\n" * 100)
    path = tmp_path / "db.t.sql.zst"
    path.write_bytes(compressed[:-5])
    with pytest.raises(SourceError) as info:
        read_all(path, "zstd")
    assert info.value.reason == f"truncated zstd stream: the file ends at compressed byte {len(compressed) - 5}, " \
                                "inside a frame"
    assert info.value.path == str(path) and info.value.offset == 0


def test_not_zstd_at_all(tmp_path: Path) -> None:
    path = tmp_path / "db.t.sql.zst"
    path.write_bytes(b"this is plain text, not a zstd frame\n" * 10)
    with pytest.raises(SourceError, match="corrupt zstd stream") as info:
        read_all(path, "zstd")
    assert info.value.offset == 0


def test_empty_compressed_file_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "db.t.sql.gz"
    path.write_bytes(b"")
    assert read_all(path, "gzip") == b""


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot open") as info:
        open_source(str(tmp_path / "nope.sql"), "")
    assert info.value.path == str(tmp_path / "nope.sql")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.b.sql", ""),
        ("a.b.sql.gz", "gzip"),
        ("a.b.SQL.GZIP", "gzip"),
        ("a.b.csv.zst", "zstd"),
        ("dir.x/a.b.csv.zstd", "zstd"),
        ("noext", ""),
    ],
)
def test_compression_from_name(name: str, expected: str) -> None:
    assert compression_from_name(name) == expected


def test_normalize_compression() -> None:
    assert normalize_compression("auto", "x.sql.gz") == "gzip"
    assert normalize_compression("", "x.sql.zst") == "zstd"
    assert normalize_compression("GZ", "x.sql") == "gzip"
    assert normalize_compression("zst", "x.sql") == "zstd"
    with pytest.raises(SourceError, match="unsupported compression 'lz4'") as info:
        normalize_compression("lz4", "x.sql.lz4")
    assert info.value.path == "x.sql.lz4"


def test_auto_detection_when_opening(tmp_path: Path) -> None:
    path = tmp_path / "db.t.sql.gz"
    path.write_bytes(gzip.compress(b"abc"))
    assert read_all(path, "auto") == b"abc"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("gz", Compression.GZIP), ("GZIP", Compression.GZIP), ("zst", Compression.ZSTD), ("", Compression.NONE)],
)
def test_rule_values_fold_to_one_compression_member(value: str, expected: Compression) -> None:
    assert normalize_compression(value, "db.t.sql") is expected


def test_auto_looks_at_the_name_and_unknown_values_are_refused() -> None:
    assert normalize_compression("auto", "db.t.sql.zst") is Compression.ZSTD
    with pytest.raises(SourceError, match="unsupported compression 'lz4'"):
        normalize_compression("lz4", "db.t.sql.lz4")
