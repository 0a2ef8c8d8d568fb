"""Property tests: the LOAD DATA stream holds exactly the fields the CSV reader found.

On random CSV in several option combinations, the reader with :class:`LoadDataEncoder` gives the
same lines on its fast path as on its careful path, and each line, read back the way the server
reads a LOAD DATA stream (fields split at unescaped terminators, ``\\`` escapes, ``\\N`` = NULL),
gives the fields the careful path handed to the encoder. Plus the acceptance rule for what the
server reports.
"""

from __future__ import annotations

import io
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.backend.tidb.load_data import (
    LoadDataEncoder,
    LoadOutcome,
    accepted_conflicts,
    field_terminator,
    insert_fallback,
    load_statement,
)
from airflow_provider_tidb_lightning.lightning.common.server_info import parse_server_version
from airflow_provider_tidb_lightning.lightning.config.model import CSVSection
from airflow_provider_tidb_lightning.lightning.mydump.csv_parser import CSVReader

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

    def encode(self, fields: list[bytes | None]) -> bytes:
        return pickle.dumps(fields)

    def encode_block(self, *_args: object, **_kwargs: object) -> None:
        return None


def _read(csv: CSVSection, data: bytes, encoder: object, fast: bool) -> list[tuple[list[bytes], list[int], int]]:
    reader = CSVReader(io.BytesIO(data), path="t.csv", csv=csv, columns=None, encoder=encoder,  # type: ignore[arg-type]
                       block_size=64, fast=fast)
    return [(b.rows, b.offsets, b.end.offset) for b in reader.batches(200, 7)]


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
@given(files())
def test_stream_lines_hold_the_careful_paths_fields(case: tuple[CSVSection, bytes]) -> None:
    csv, data = case
    try:
        reference = _read(csv, data, _Fields(), fast=False)
    except Exception as exc:  # noqa: BLE001 - a malformed file: both paths must fail alike, checked below
        with pytest.raises(type(exc)):
            _read(csv, data, LoadDataEncoder(None, field_terminator(csv.separator)), fast=True)
        return
    term = field_terminator(csv.separator)
    fast = _read(csv, data, LoadDataEncoder(None, term), fast=True)
    careful = _read(csv, data, LoadDataEncoder(None, term), fast=False)
    assert fast == careful
    # Batch cuts follow the encoded sizes, so only the rows' offsets and the end are the reference's.
    assert [o for _, offsets, _ in fast for o in offsets] == [o for _, offsets, _ in reference for o in offsets]
    assert [end for _, _, end in fast][-1:] == [end for _, _, end in reference][-1:]
    lines = [line for rows, _, _ in fast for line in rows]
    expected = [pickle.loads(row) for rows, _, _ in reference for row in rows]
    assert [read_back(line, term) for line in lines] == expected
    assert all(b"\n" not in line for line in lines)


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
