"""Property tests: the CSV reader's fast path and its careful path (the reference) agree.

On random CSV, in every option combination the fast path handles, both give the same rows,
offsets, batch cuts and resume positions, or fail with the same located error.
``CSVReader(fast=False)`` is the careful path alone.
"""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.backend.tidb.encoder import RowEncoder
from airflow_provider_tidb_lightning.lightning.config.model import CSVSection
from airflow_provider_tidb_lightning.lightning.errors import SourceError
from airflow_provider_tidb_lightning.lightning.mydump.csv_parser import CSVReader

CONFIGS = st.sampled_from([
    CSVSection(header=False),
    CSVSection(header=False, separator="|", delimiter="", trim_last_separator=True),
    CSVSection(header=False, separator="|", trim_last_separator=True),
    CSVSection(header=False, terminator="\r\n"),
    CSVSection(header=False, terminator="\n", null=("NULL", "")),
    CSVSection(header=False, not_null=True),
    CSVSection(header=False, backslash_escape=False),
    CSVSection(header=False, delimiter="'", separator=";"),
    CSVSection(header=False, separator="||", delimiter=""),
])
# Field pieces in the abstract: S = separator, Q = delimiter; the rest is data, awkward or not.
PIECES = st.sampled_from(["a", "12", " ", "S", "QQ", "'", "\\N", "\\\\", "\\", "NULL", "\n", "\r", "\x00", "\x1a",
                          "é", ",", "|", ";", '"'])
FIELDS = st.one_of(
    st.lists(PIECES, max_size=3).map("".join).map(lambda f: f.replace("S", "").replace("QQ", "")),
    st.lists(PIECES, max_size=3).map("".join).map(lambda f: "Q" + f + "Q"),
)
RECORDS = st.lists(FIELDS, min_size=1, max_size=4).map("S".join)
LIMITS = st.tuples(st.integers(1, 300), st.integers(1, 20), st.sampled_from([1, 7, 64, 1 << 16]))


@st.composite
def files(draw: st.DrawFn) -> tuple[CSVSection, bytes]:
    csv = draw(CONFIGS)
    quote = csv.delimiter or '"'
    records = draw(st.lists(RECORDS, min_size=1, max_size=25))
    width = draw(st.booleans())  # most files have one width: make that common
    if width:
        records = [r for r in records if r.count("S") == records[0].count("S")] or records[:1]
    trail = csv.separator if csv.trim_last_separator else ""
    ends = [csv.terminator] if csv.terminator else ["\n", "\n", "\r\n"]
    text = "".join(r + trail + draw(st.sampled_from(ends)) for r in records)
    return csv, text.replace("S", csv.separator).replace("Q", quote).encode()


def outcome(csv: CSVSection, data: bytes, fast: bool, max_bytes: int, max_rows: int, block_size: int,
            no_backslash_escapes: bool):  # noqa: ANN201
    """Every batch (rows, offsets, nbytes, end), or the error's (type, message, path, offset)."""
    encoder = RowEncoder(None, no_backslash_escapes=no_backslash_escapes)
    try:
        reader = CSVReader(io.BytesIO(data), path="t.csv", csv=csv, columns=None, encoder=encoder,
                           block_size=block_size, fast=fast)
        return [(b.rows, b.offsets, b.nbytes, b.end) for b in reader.batches(max_bytes, max_rows)]
    except SourceError as exc:
        return type(exc).__name__, exc.reason, exc.path, exc.offset


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(files(), LIMITS, st.booleans())
def test_paths_agree(file: tuple[CSVSection, bytes], limits: tuple[int, int, int], no_backslash: bool) -> None:
    csv, data = file
    careful = outcome(csv, data, False, *limits, no_backslash)
    assert outcome(csv, data, True, *limits, no_backslash) == careful
    if isinstance(careful, list):
        ends = [batch[3].offset for batch in careful]
        assert ends == sorted(ends)
    else:
        assert careful[2] == "t.csv" and 0 <= careful[3] <= len(data)


def test_fast_path_is_taken_on_plain_runs() -> None:
    """The property test would pass with no fast path at all: show it takes plain runs."""
    data = b"".join(b"%d|a|b's|\n" % i for i in range(100))
    csv = CSVSection(header=False, separator="|", delimiter="", trim_last_separator=True)
    reader = CSVReader(io.BytesIO(data), path="t.csv", csv=csv, columns=None,
                       encoder=RowEncoder(None, no_backslash_escapes=False))
    reader._src.next_record = None  # type: ignore[assignment,method-assign]  # the careful path must not run
    rows = [row for batch in reader.batches(1 << 20, 1000) for row in batch.rows]
    assert rows[:2] == [b"('0','a','b\\'s')", b"('1','a','b\\'s')"] and len(rows) == 100
