"""split_chunks: cuts land exactly on statement / line starts and tile the file (the real mydumper dump:
tests/integration/lightning/mydump/test_tpch_dump.py)."""

from __future__ import annotations

import io
import random
from dataclasses import replace
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.config.model import MydumperSection
from airflow_provider_tidb_lightning.lightning.mydump import Chunk, split_chunks
from tests.support.mydump_harness import assert_tiles, data_file, expected_starts, sql_cuts, strict


def line_starts(content: bytes, terminator: bytes | None) -> list[int]:
    pieces = content.splitlines(keepends=True) if terminator is None else content.split(terminator)
    starts, offset = [], 0
    for piece in pieces[:-1] if terminator is not None else pieces:
        offset += len(piece) + (len(terminator) if terminator is not None else 0)
        starts.append(offset)
    return starts


def test_single_chunk_unless_strict_and_large(tmp_path: Path) -> None:
    path = tmp_path / "db.t.sql"
    path.write_bytes(b"INSERT INTO t VALUES (1);\n" * 1000)
    file = data_file(path, "sql")
    assert split_chunks(file, MydumperSection(max_region_size=100)) == [Chunk(file, 0, 0, None)]
    assert split_chunks(file, strict(10**6)) == [Chunk(file, 0, 0, None)]
    assert len(split_chunks(file, strict(1000))) > 1


def test_compressed_file_is_one_chunk(tmp_path: Path) -> None:
    path = tmp_path / "db.t.sql.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(50000))
    file = data_file(path, "sql", "gzip")
    assert split_chunks(file, strict(100)) == [Chunk(file, 0, 0, None)]


def test_chunk_key_is_relative_path_and_index(tmp_path: Path) -> None:
    path = tmp_path / "db.t.csv"
    path.write_bytes(b"a,b\n" * 5000)
    chunks = split_chunks(data_file(path, "csv"), strict(4096, header=False))
    assert [c.key for c in chunks[:2]] == ["db.t.csv:0", "db.t.csv:1"]


def random_sql(rng: random.Random) -> bytes:
    out = [b"/*!40101 SET NAMES binary*/;\n", b"/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n"]
    for statement in range(rng.randint(30, 60)):
        verb = rng.choice([b"INSERT INTO", b"insert into", b"REPLACE INTO"])
        newline = rng.choice([b"\n", b"\r\n"])
        out.append(verb + b" `t` VALUES" + newline)
        rows = [b"(%d,'x;%s')" % (statement, b"y" * rng.randint(0, 300)) for _ in range(rng.randint(1, 12))]
        # a ';' ending a line inside the statement is not a cut unless INSERT/REPLACE follows
        out.append((b"," + newline).join(rows) + b";" + b" " * rng.randint(0, 3) + newline)
        if rng.random() < 0.2:
            out.append(b"/*!40000 ALTER TABLE `t` ENABLE KEYS */;" + newline)
    return b"".join(out)


@pytest.mark.parametrize("seed", range(6))
def test_sql_cuts_match_a_whole_file_reference(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    content = random_sql(rng)
    path = tmp_path / "db.t.sql"
    path.write_bytes(content)
    file = data_file(path, "sql")
    cuts = sql_cuts(content)
    assert len(cuts) > 20
    for region in [1, 37, 500, 4093, 4096, 5000, rng.randint(1000, 9000)]:
        settings = replace(strict(region), read_block_size=4096)
        chunks = split_chunks(file, settings)
        assert_tiles(chunks, len(content))
        assert [c.start for c in chunks] == expected_starts(cuts, len(content), region), region
        pieces = b"".join(content[c.start : c.end] for c in chunks)
        assert pieces == content


@pytest.mark.parametrize("seed", range(4))
def test_csv_cuts_with_mixed_newlines(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    content = b"".join(
        b"%d,%s" % (i, b"v" * rng.randint(0, 120)) + rng.choice([b"\n", b"\r\n", b"\r"]) for i in range(800)
    )
    path = tmp_path / "db.t.csv"
    path.write_bytes(content)
    file = data_file(path, "csv")
    for region in [1, 2, 100, 4095, 4096, 4097, 10_000]:
        chunks = split_chunks(file, strict(region, terminator="", header=False))
        assert_tiles(chunks, len(content))
        assert [c.start for c in chunks] == expected_starts(line_starts(content, None), len(content), region)
        for chunk in chunks[1:]:
            assert content[chunk.start - 1 : chunk.start] in (b"\n", b"\r")
            assert content[chunk.start : chunk.start + 1] != b"\n"  # never between \r and \n


def test_csv_custom_multibyte_terminator(tmp_path: Path) -> None:
    terminator = b"|+|\n"
    # plain newlines inside records are data, not row ends
    content = b"".join(b"%d|a\nb|c" % i + terminator for i in range(3000))
    path = tmp_path / "db.t.csv"
    path.write_bytes(content)
    file = data_file(path, "csv")
    for region in [3, 4094, 5000]:
        chunks = split_chunks(file, strict(region, terminator="|+|\n", separator="|"))
        assert_tiles(chunks, len(content))
        assert [c.start for c in chunks] == expected_starts(line_starts(content, terminator), len(content), region)
        assert all(content[: c.start].endswith(terminator) for c in chunks[1:])


def test_csv_with_header_starts_at_zero(tmp_path: Path) -> None:
    content = b"id,name\n" + b"".join(b"%d,n%d\n" % (i, i) for i in range(5000))
    path = tmp_path / "db.t.csv"
    path.write_bytes(content)
    chunks = split_chunks(data_file(path, "csv"), strict(10_000, header=True))
    assert chunks[0].start == 0 and len(chunks) > 3
    assert_tiles(chunks, len(content))


def test_no_cut_after_the_mark_keeps_one_chunk(tmp_path: Path) -> None:
    content = b"INSERT INTO t VALUES\n" + b",\n".join(b"(%d)" % i for i in range(5000)) + b";\n"
    path = tmp_path / "db.t.sql"
    path.write_bytes(content)
    file = data_file(path, "sql")
    assert split_chunks(file, strict(100)) == [Chunk(file, 0, 0, None)]


def test_reads_only_windows_near_the_marks(tmp_path: Path) -> None:
    content = b"".join(b"%d,x\n" % i for i in range(400_000))
    path = tmp_path / "db.t.csv"
    path.write_bytes(content)
    read_sizes: list[int] = []

    class CountingFile(io.FileIO):
        def read(self, size: int = -1) -> bytes:
            data = super().read(size)
            read_sizes.append(len(data))
            return data

    settings = replace(strict(256 * 1024, header=False), read_block_size=4096)
    chunks = split_chunks(replace(data_file(path, "csv"), opener=CountingFile), settings)
    assert len(chunks) > 5
    assert read_sizes, "split_chunks did not read through its opener"
    assert sum(read_sizes) <= (len(chunks) - 1) * 4096 + 4096  # one window per cut, plus the failed last look


@pytest.mark.parametrize("shift", range(-3, 4))
def test_crlf_split_by_the_read_window_is_not_a_cut(tmp_path: Path, shift: int) -> None:
    # The first window read for the mark at 200 is [198, 198 + 4096); put a \r\n across its end.
    carriage_return = 198 + 4095 + shift
    content = b"a" * 100 + b"\n" + b"b" * (carriage_return - 101) + b"\r\n" + b"c" * 100 + b"\n"
    path = tmp_path / "db.t.csv"
    path.write_bytes(content)
    settings = replace(strict(200, terminator="", header=False), read_block_size=4096)
    chunks = split_chunks(data_file(path, "csv"), settings)
    assert [c.start for c in chunks] == [0, carriage_return + 2]
