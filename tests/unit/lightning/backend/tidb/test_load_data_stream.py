"""Property tests: the LOAD DATA stream holds exactly the fields the CSV reader found.

On random CSV in several option combinations, the reader with :class:`LoadDataEncoder` gives the
same lines on its fast path as on its careful path, and each line, read back the way the server
reads a LOAD DATA stream (fields split at unescaped terminators, ``\\`` escapes, ``\\N`` = NULL),
gives the fields the careful path handed to the encoder. The batches keep their lines joined
(:class:`LineBatch`), and the stream goes out in protocol packets that hold it whole. Plus the
acceptance rule for what the server reports.
"""

from __future__ import annotations

import io
import pickle
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.backend.tidb import load_data
from airflow_provider_tidb_lightning.lightning.backend.tidb.load_data import (
    LoadDataEncoder,
    LoadOutcome,
    accepted_conflicts,
    field_terminator,
    insert_fallback,
    load_statement,
    stream_of,
)
from airflow_provider_tidb_lightning.lightning.common.server_info import parse_server_version
from airflow_provider_tidb_lightning.lightning.config.model import CSVSection
from airflow_provider_tidb_lightning.lightning.mydump.csv_parser import CSVReader, RowShapeError
from airflow_provider_tidb_lightning.lightning.mydump.rows import LineBatch

CONFIGS = st.sampled_from([
    CSVSection(header=False),
    CSVSection(header=False, separator="|", delimiter="", trim_last_separator=True),
    CSVSection(header=False, separator="|", trim_last_separator=True),
    CSVSection(header=False, terminator="\r\n"),
    CSVSection(header=False, null=("NULL", "")),
    CSVSection(header=False, backslash_escape=False),
    CSVSection(header=False, separator="\t"),
    CSVSection(header=False, separator="||", delimiter=""),
])
PIECES = st.sampled_from(["a", "12", " ", "S", "QQ", "'", "\\N", "\\\\", "\\", "NULL", "\n", "\r", "\x00", "\x1a",
                          "é", ",", "|", "\t", '"', "N", "0"])
FIELDS = st.one_of(
    st.lists(PIECES, max_size=3).map("".join).map(lambda f: f.replace("S", "").replace("QQ", "")),
    st.lists(PIECES, max_size=3).map("".join).map(lambda f: "Q" + f + "Q"),
)


@st.composite
def files(draw: st.DrawFn) -> tuple[CSVSection, bytes]:
    csv = draw(CONFIGS)
    width = draw(st.integers(1, 4))
    plain = draw(st.booleans())  # long runs of plain records take the fast paths
    field = st.sampled_from(["abc", "Qx,yQ", "12", "QQ", "\\N"]) if plain else FIELDS
    records = draw(st.lists(st.lists(field, min_size=width, max_size=width).map("S".join), min_size=1, max_size=40))
    trail = csv.separator if csv.trim_last_separator else ""
    end = csv.terminator or "\n"
    text = "".join(r + trail + end for r in records)
    return csv, text.replace("S", csv.separator).replace("Q", csv.delimiter or '"').encode()


class _Fields:
    """A reference encoder: the careful path's fields themselves, pickled."""

    column_kinds = None
    line_rows = False

    def encode(self, fields: list[bytes | None]) -> bytes:
        return pickle.dumps(fields)

    def encode_block(self, *_args: object, **_kwargs: object) -> None:
        return None


LIMITS = st.tuples(st.integers(1, 400), st.integers(1, 30), st.sampled_from([1, 64, 1 << 16]))


def _read(csv: CSVSection, data: bytes, encoder: object, fast: bool,
          limits: tuple[int, int, int] = (200, 7, 64)) -> list[tuple[list[bytes], list[int], int]]:
    max_bytes, max_rows, block_size = limits
    reader = CSVReader(io.BytesIO(data), path="t.csv", csv=csv, columns=None, encoder=encoder,  # type: ignore[arg-type]
                       block_size=block_size, fast=fast)
    batches = list(reader.batches(max_bytes, max_rows))
    if isinstance(encoder, LoadDataEncoder):  # the lines stay joined, and are the stream
        for b in batches:
            assert isinstance(b, LineBatch)
            stream = stream_of(b)
            assert (b"".join(stream) if isinstance(stream, list) else stream) == b"".join(r + b"\n" for r in b.rows)
            assert b.nbytes == sum(map(len, b.rows)) and b.first_offset == b.offsets[0]
            assert len(b.rows) == len(b.offsets) == len(b) and (len(b) == 1 or b.nbytes <= max_bytes)
    return [(b.rows, b.offsets, b.end.offset) for b in batches]


_UNESCAPE = {b"0": b"\x00", b"n": b"\n", b"t": b"\t", b"r": b"\r", b"b": b"\b", b"Z": b"\x1a"}


def read_back(line: bytes, term: bytes) -> list[bytes | None]:
    """A stream line as the server reads it: ``ESCAPED BY '\\'``, nothing enclosed."""
    fields: list[bytes | None] = []
    current = bytearray()
    null = False  # the field so far is exactly the escape sequence \N
    i = 0
    while i < len(line):
        if line[i : i + 1] == b"\\":
            nxt = line[i + 1 : i + 2]
            null = nxt == b"N" and not current and not null
            current += _UNESCAPE.get(nxt, nxt)
            i += 2
        elif line[i : i + len(term)] == term:
            fields.append(None if null else bytes(current))
            current, null = bytearray(), False
            i += len(term)
        else:
            current += line[i : i + 1]
            null = False
            i += 1
    fields.append(None if null else bytes(current))
    return fields


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(files(), LIMITS)
def test_stream_lines_hold_the_careful_paths_fields(case: tuple[CSVSection, bytes],
                                                    limits: tuple[int, int, int]) -> None:
    csv, data = case
    try:
        reference = _read(csv, data, _Fields(), fast=False, limits=limits)
    except Exception as exc:  # noqa: BLE001 - a malformed file: both paths must fail alike, checked below
        with pytest.raises(type(exc)):
            _read(csv, data, LoadDataEncoder(None, field_terminator(csv.separator)), fast=True, limits=limits)
        return
    term = field_terminator(csv.separator)
    fast = _read(csv, data, LoadDataEncoder(None, term), fast=True, limits=limits)
    careful = _read(csv, data, LoadDataEncoder(None, term), fast=False, limits=limits)
    assert fast == careful
    # Batch cuts follow the encoded sizes, so only the rows' offsets and the end are the reference's.
    assert [o for _, offsets, _ in fast for o in offsets] == [o for _, offsets, _ in reference for o in offsets]
    assert [end for _, _, end in fast][-1:] == [end for _, _, end in reference][-1:]
    lines = [line for rows, _, _ in fast for line in rows]
    expected = [pickle.loads(row) for rows, _, _ in reference for row in rows]
    assert [read_back(line, term) for line in lines] == expected
    assert all(b"\n" not in line for line in lines)
    # With the table's width known (as the importer builds the encoder), a record of another width stops
    # both paths at the same offset.
    kinds = ["string"] * len(expected[0] if expected else [b""])

    def known_width(fast: bool) -> object:
        try:
            return _read(csv, data, LoadDataEncoder(kinds, term), fast=fast, limits=limits)
        except RowShapeError as exc:
            return exc.offset

    assert known_width(True) == known_width(False)


def test_a_tbl_file_goes_out_as_it_was_read_less_the_trailing_separators(tpch_tbl_dir: Path) -> None:
    """The fast path's whole point: a ``.tbl`` run is the stream with one substitution, no list of rows."""
    data = (tpch_tbl_dir / "orders.tbl").read_bytes()
    csv = CSVSection(separator="|", delimiter="", header=False, trim_last_separator=True)
    reader = CSVReader(io.BytesIO(data), path="t.tbl", csv=csv, columns=None, encoder=LoadDataEncoder(None, b"|"),
                       block_size=1 << 16)
    reader._src.next_record = None  # type: ignore[assignment,method-assign]  # the careful path must not run
    batches = list(reader.batches(100_000, 1 << 20))
    assert all(isinstance(b, LineBatch) and b._line_rows is None for b in batches)  # no list of rows was made
    assert b"".join(piece for b in batches for piece in stream_of(b)) == data.replace(b"|\n", b"\n")
    # Each batch as full as the budget allows: the next one's first row would not have fitted.
    assert all(b.nbytes <= 100_000 < b.nbytes + len(after.rows[0]) for b, after in pairwise(batches))
    assert batches[-1].end.offset == len(data) and len(batches) > 10
    starts = [0]
    for line in data.split(b"\n")[:-2]:
        starts.append(starts[-1] + len(line) + 1)
    assert [o for b in batches for o in b.offsets] == starts


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=40), max_size=6), st.integers(1, 16), st.integers(0, 255))
def test_packets_carry_the_stream_whole(pieces: list[bytes], size: int, seq: int) -> None:
    """The wire is packets of at most the packet size, numbered on from ``seq``, then an empty one."""
    payloads = []
    for packet in load_data._packets(pieces, seq, size):
        length, number = int.from_bytes(packet[:3], "little"), packet[3]
        assert number == (seq + len(payloads)) % 256 and length <= size and len(packet) == 4 + length
        payloads.append(packet[4:])
    assert payloads[-1] == b"" and all(payloads[:-1]) and b"".join(payloads) == b"".join(pieces)


def test_terminator_is_the_separator_only_when_it_cannot_be_misread() -> None:
    assert field_terminator("|") == b"|"
    assert field_terminator(",") == b","
    for awkward in ("\\", "N", "0", "n", "||", "é", "'", '"'):
        assert field_terminator(awkward) == b"\t"


def test_statement_maps_the_duplicate_mode_and_quotes_names() -> None:
    statement = load_statement("replace", "d`b", "t", ("a", "b`c"), "utf8mb4", b"|")
    assert statement == (b"LOAD DATA LOCAL INFILE 'lightning-batch' REPLACE INTO TABLE `d``b`.`t` CHARACTER SET "
                         b"utf8mb4 FIELDS TERMINATED BY '|' ENCLOSED BY '' ESCAPED BY '\\\\' LINES STARTING BY '' "
                         b"TERMINATED BY '\n' (`a`,`b``c`)")
    assert b" IGNORE INTO" in load_statement("ignore", "d", "t", None, "binary", b"\t")
    plain = load_statement("error", "d", "t", None, "binary", b"\t", no_backslash_escapes=True)
    assert b"'lightning-batch' INTO" in plain and b"TERMINATED BY '\t'" in plain and b"ESCAPED BY '\\' " in plain


@pytest.mark.parametrize(("mode", "outcome", "conflicts"), [
    ("error", LoadOutcome(3, 0, 3, 0, 0), 0),
    ("error", LoadOutcome(2, 1, 3, 1, 0), None),  # a duplicate LOCAL skipped: INSERT must say so
    ("error", LoadOutcome(3, 1, 3, 0, 0), None),  # a truncated value
    ("error", LoadOutcome(3, 0, 2, 0, 0), None),  # the server counted other lines than we sent
    ("replace", LoadOutcome(5, 0, 3, 0, 0), 2),
    ("replace", LoadOutcome(3, 1, 3, 0, 0), None),
    ("ignore", LoadOutcome(2, 1, 3, 1, 0), 1),  # one duplicate, one warning for it
    ("ignore", LoadOutcome(2, 2, 3, 1, 0), None),  # and another warning besides
    ("ignore", LoadOutcome(3, 1, 3, 0, 0), None),
])
def test_a_batch_is_accepted_only_as_insert_would_have_taken_it(mode: str, outcome: LoadOutcome,
                                                                 conflicts: int | None) -> None:
    assert accepted_conflicts(mode, 3, outcome) == conflicts


@pytest.mark.parametrize(("version", "falls_back"), [
    ("8.0.11-TiDB-v7.5.1", True),  # commits LOAD DATA outside the transaction
    ("5.7.25-TiDB-v6.5.0", True),
    ("8.0.11-TiDB-v7.6.0", False),
    ("8.0.11-TiDB-v8.5.1", False),
    ("10.11.6-MariaDB-0+deb12u1", False),
    ("8.0.36", False),
])
def test_old_tidb_writes_insert_statements(version: str, falls_back: bool) -> None:
    reason = insert_fallback(parse_server_version(version))
    assert (reason is not None) == falls_back
    if reason:
        assert "TiDB >= 7.6.0" in reason and "INSERT" in reason
