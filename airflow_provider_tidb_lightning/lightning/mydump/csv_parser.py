"""Streaming reader of CSV-like data files, producing SQL row tuples for the TiDB backend.

Two paths, chosen per stretch of input, giving identical rows, offsets and resume positions:

* the careful path, the reference: a lexer in the manner of tidb-lightning's ``csv_parser.go``
  that takes a record field by field (one compiled field pattern: quoted fields with embedded
  separators, newlines and doubled delimiters, backslash escapes), decides NULL and unescapes, and
  hands the values to the encoder's ``encode``;
* the fast path: a run of whole ``\\n``-terminated records whose fields need no unescaping (a
  TPC-H ``.tbl`` file; Dumpling's ``"abc","x,y",12,\\N``) is proved so over the whole run --
  by counting separators and delimiters (an unquoted run: all lines' separators at once, kept by
  one ``bytes.translate``), or for mixed quoting by one compiled record pattern -- and handed to
  the encoder's ``encode_block``, which writes all its rows with a few ``bytes.replace`` calls as
  one text. Where the proof fails, the records go through the careful path and the fast path is
  tried again after them, backing off while it keeps declining.

Rows go into a :class:`RowBatch` as a list, or, when the encoder's rows are lines (LOAD DATA), into
a :class:`LineBatch` that keeps each run's text as it is: no object per row, since the stream is
those lines.

The reader never writes SQL: quoting, escaping and NULL literals are the encoder's (a
:class:`~.rows.TupleEncoder` the caller passes in).

A record is at most ``max_record_bytes`` long, so an unterminated quoted field is an error at
its record's offset, not a read of the whole file into memory.

NULL follows tidb-lightning: with ``backslash-escape`` a raw ``\\N`` is NULL even when quoted
(``\\\\N`` is the text ``\\N``); otherwise a field equal to a ``null`` value (after unescaping,
quoted or not) is NULL, and with ``not-null`` nothing is. Empty lines are skipped.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate, islice, repeat
from operator import add
from typing import BinaryIO, NamedTuple

from ..config.model import CSVSection
from ..errors import SourceError
from .rows import LineBatch, Lines, ReadPosition, RowBatch, TupleEncoder
from .window import DEFAULT_MAX_RECORD_BYTES, StreamWindow

_UNESCAPES = {b"0": b"\x00", b"b": b"\b", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"Z": b"\x1a"}
# Bytes that keep a run of unquoted lines off the fast path: a backslash (an escape, or a byte the
# encoder escapes), a bare carriage return (a line terminator when the terminator is auto-detected),
# and NUL and ^Z, which the encoder declines to write in bulk.
_BLOCK_SPECIAL = rb"\\\x00\r\x1a"
# Bytes the fast path leaves to the careful path in quoted runs (besides "\n" and "\r").
_SQL_SPECIAL = b"\\\x00\x1a"
# A joiner for quoted contents, and a stand-in for a separator inside them while a run is encoded;
# the quoted runs the fast path takes never hold either byte.
_JOIN, _HIDDEN_SEP = b"\x00", b"\x1a"
_NEED_MORE = None
_OPEN_QUOTE = "open quote"  # like _NEED_MORE, inside a quoted field
_PLUS_ONE = (1).__add__
_SHORT_RUN = 16  # records: a shorter run of the fast path costs more than it saves


class _Run(NamedTuple):
    """A run of whole records the fast path proved: its source lines, their rows (each followed by
    ``\\n``; ``None`` if the encoder declined or nothing was proved) and how many there are.

    ``text`` is what the encoder was given and ``trimmed`` how many bytes each line of ``seg`` lost
    on the way (``-1``: not the same for every line); an encoder that hands ``text`` itself back
    wrote every row as long as its source line less ``trimmed``.
    """

    seg: bytes
    encoded: bytes | None
    lines: int
    text: bytes = b""
    trimmed: int = -1


def _nth_line_end(text: bytes, n: int) -> int:
    """The index just after the ``n``-th ``\\n`` of ``text`` (``n`` >= 1, and there are that many)."""
    return len(b"\n".join(text.split(b"\n", n)[:n])) + 1


class RowShapeError(SourceError):
    """A record has the wrong number of fields; the caller may record it and go on."""


class _Grammar:
    """The compiled patterns and constants for one :class:`CSVSection`."""

    def __init__(self, csv: CSVSection) -> None:
        if not csv.separator:
            raise ValueError("CSV separator must not be empty")
        self.sep = csv.separator.encode()
        self.quote = csv.delimiter.encode()
        self.escape = csv.backslash_escape
        self.trim = csv.trim_last_separator
        self.nulls = frozenset(v.encode() for v in csv.null) if not csv.not_null else frozenset()
        self.backslash_n_null = self.escape and b"\\N" in self.nulls
        term = csv.terminator.encode()
        self.term = term
        self.auto_term = not term
        term_re = rb"\r\n|\n|\r" if self.auto_term else re.escape(term)
        sep_re, quote_re = re.escape(self.sep), re.escape(self.quote)
        self.slack = max(len(self.sep), len(term) or 2, len(self.quote)) + 1

        self.blank_lines = re.compile(rb"(?:" + term_re + rb")*+")

        escaped = rb"\\." if self.escape else b""
        unquoted_char = rb"(?!" + sep_re + b"|" + term_re + rb")" + (rb"[^\\]" if self.escape else b".")
        unquoted = rb"((?:" + (escaped + b"|" if escaped else b"") + unquoted_char + rb")*+)"
        if self.quote:
            quoted_char = rb"(?!" + quote_re + rb")" + (rb"[^\\]" if self.escape else b".")
            inner = b"|".join(x for x in (escaped, quote_re + quote_re, quoted_char) if x)
            field = quote_re + rb"((?:" + inner + rb")*+)" + quote_re + rb"|(?!" + quote_re + rb")" + unquoted
        else:
            field = rb"()" + unquoted  # keep group numbers: 1 = quoted content, 2 = unquoted
        self.field = re.compile(rb"(?:" + field + rb")(" + sep_re + b"|" + term_re + rb")?", re.S)
        unescape = [escaped] if escaped else []
        if self.quote:
            unescape.append(quote_re + quote_re)
        self.unescape = re.compile(b"|".join(unescape), re.S) if unescape else None

        # Unquoted runs on the fast path: possible when lines end in "\n" only.
        self.block_ok = term in (b"", b"\n") and not re.search(rb"[\r\n" + _BLOCK_SPECIAL + rb"]", self.sep)
        # Single bytes checked with the memchr-speed ``in`` operator (a regex search is 20x slower).
        specials = _BLOCK_SPECIAL.decode("unicode_escape").encode("latin-1") + self.quote[:1]
        self.block_special = tuple(specials[i : i + 1] for i in range(len(specials)))
        self.record_run = self._record_run_pattern(csv, term)
        # NULL texts other than a raw \\N: a field equal to one is NULL, quoted or not.
        self.plain_nulls = tuple(v for v in self.nulls if not (self.backslash_n_null and v == b"\\N"))
        # NULL detection: a cheap substring test first, the exact field-boundary pattern only
        # when a NULL text occurs at all (always for the empty-string NULL). The runs tested hold no
        # byte of _BLOCK_SPECIAL, so a NULL text with one (\\N) needs no test.
        self.null_hints = tuple(v for v in self.nulls if v and not any(b in _BLOCK_SPECIAL for b in v))
        self.null_hints_complete = all(self.nulls)
        # A single-byte separator: translate() with this deletes every other byte but "\n", leaving each
        # line's separators for one comparison (a per-line count costs more than the rest of the run).
        self.marks = None
        if len(self.sep) == 1 and self.sep != b"\n":
            self.marks = bytes(b for b in range(256) if b not in (self.sep[0], 0x0A))
        # trim-last-separator on a run: a compiled literal substitutes twice as fast as bytes.replace.
        self.line_end_sep = re.compile(re.escape(self.sep + b"\n"))
        self.block_null = None
        if self.nulls:
            values = b"|".join(re.escape(v) for v in sorted(self.nulls, key=len, reverse=True))
            after = sep_re if self.trim else sep_re + rb"|$"
            self.block_null = re.compile(rb"(?:^|" + sep_re + rb")(?:" + values + rb")(?=" + after + rb")", re.M)

    def _record_run_pattern(self, csv: CSVSection, term: bytes) -> re.Pattern[bytes] | None:
        """A run of whole records the fast path can take with quoting, or None if it never applies.

        A field is quoted or not; it never holds the delimiter, a line break, a backslash, ``\\0``
        or ``\\x1a``, and an unquoted one never holds the separator.
        With ``backslash-escape`` a field may be exactly ``\\N`` (NULL). Records end in ``\\n``
        (or ``\\r\\n`` where that is a terminator); with ``trim-last-separator`` every record must
        end with a separator. Such records are what the careful path would find, field by field,
        and their delimiters come in open/close pairs, so ``split`` on the delimiter alternates
        between unquoted text and quoted content.
        """
        sep, quote = self.sep, self.quote
        specials = _SQL_SPECIAL + b"\n\r"
        if len(sep) != 1 or len(quote) != 1 or sep == quote or sep in specials + b"'" or quote in specials:
            return None
        if term not in (b"", b"\n", b"\r\n"):
            return None
        null = rb"\\N|" if self.backslash_n_null else b""
        quoted = rb"[^" + re.escape(quote + specials) + rb"]*+"
        plain = rb"[^" + re.escape(sep + quote + specials) + rb"]*+"
        q = re.escape(quote)
        field = rb"(?:" + q + rb"(?:" + null + quoted + rb")" + q + rb"|" + null + plain + rb")"
        eol = {b"": rb"\r?+\n", b"\n": rb"\n", b"\r\n": rb"\r\n"}[term]
        s = re.escape(sep)
        if csv.trim_last_separator:
            record = rb"(?:" + field + s + rb")++" + eol
        else:
            record = rb"(?!" + eol + rb")" + field + rb"(?:" + s + field + rb")*+" + eol
        return re.compile(rb"(?:" + record + rb")*+")

    def first_null(self, seg: bytes) -> int:
        """Where the first field equal to a NULL text starts in a run of plain lines (no byte of
        :data:`_BLOCK_SPECIAL`), or -1."""
        if self.block_null is None:
            return -1
        if self.null_hints_complete and not any(map(seg.__contains__, self.null_hints)):
            return -1
        m = self.block_null.search(seg)
        return -1 if m is None else m.start()

    def finish(self, content: bytes, quoted: bool) -> bytes | None:
        """Unescape one careful-path field and decide whether it is NULL."""
        if self.backslash_n_null and content == b"\\N":
            return None
        value = content
        if self.unescape is not None and (b"\\" in value or (quoted and self.quote in value)):
            value = self.unescape.sub(self._unescape_one, value)
        if value in self.nulls and not (self.escape and value == b"\\N"):
            return None
        return value

    def _unescape_one(self, m: re.Match[bytes]) -> bytes:
        token = m.group()
        if token[:1] == b"\\" and self.escape:
            return _UNESCAPES.get(token[1:], token[1:])
        return self.quote  # a doubled delimiter


class _RecordSource(StreamWindow):
    """Buffered records of a CSV stream: (offset, fields) with fields as bytes or None."""

    def __init__(
        self, stream: BinaryIO, path: str, grammar: _Grammar, start: int, block_size: int, max_record: int
    ) -> None:
        super().__init__(stream, path=path, start=start, block_size=block_size, max_record=max_record)
        self.g = grammar

    def skip_blank_lines(self) -> bool:
        """Move past empty lines; return False at end of input."""
        while True:
            self.pos = self.g.blank_lines.match(self.buf, self.pos).end()  # type: ignore[union-attr]  # matches ''
            if len(self.buf) - self.pos >= self.g.slack or self.eof:
                return self.pos < len(self.buf)
            self.fill()

    def next_record(self) -> tuple[int, list[bytes | None]] | None:
        """Parse the record at the position (after :meth:`skip_blank_lines`); None at end."""
        g = self.g
        while True:
            buf, pos = self.buf, self.pos
            parsed = self._careful(buf, pos)
            if not isinstance(parsed, tuple):  # _NEED_MORE or _OPEN_QUOTE
                if len(buf) - pos > self.max_record:
                    problem = "unterminated quoted field: " if parsed is _OPEN_QUOTE else ""
                    raise self.error(f"{problem}record longer than {self.max_record} bytes", pos)
                self.fill()
                continue
            raw, self.pos = parsed
            if g.trim and len(raw) > 1 and raw[-1] == (b"", False):
                raw.pop()
            return pos, [g.finish(content, quoted) for content, quoted in raw]

    def _careful(self, buf: bytes, pos: int) -> tuple[list[tuple[bytes, bool]], int] | str | None:
        """Fields and end of the record at ``pos``; ``_NEED_MORE`` / ``_OPEN_QUOTE`` if it may go on."""
        g = self.g
        fields: list[tuple[bytes, bool]] = []
        p = pos
        while True:
            m = g.field.match(buf, p)
            if m is None:  # only an opening delimiter without its closing one fails to match
                if not self.eof:
                    return _OPEN_QUOTE
                raise self.error("unterminated quoted field", pos)
            quoted = m.group(1)
            fields.append((quoted, True) if quoted is not None and g.quote else (m.group(2), False))
            ending = m.group(3)
            end = m.end()
            if ending is None:
                if not self.eof and end + g.slack >= len(buf):
                    return _NEED_MORE
                if end == len(buf):
                    return fields, end
                raise self._unexpected_data(end)
            if ending != g.sep:
                if not self.eof and end == len(buf) and ending == b"\r":
                    return _NEED_MORE  # maybe "\r\n" cut by the block boundary
                return fields, end
            p = end


    def _unexpected_data(self, index: int) -> SourceError:
        """The error for data after a field at buffer ``index``, quoting the 20 bytes there: read first
        if the window holds fewer, so that the message does not depend on how far the fast path read."""
        while len(self.buf) - index < 20 and not self.eof:
            base = self.base
            self.fill()
            index -= self.base - base
        return self.error(f"unexpected data after field: {self.buf[index : index + 20]!r}", index)


def read_csv_header(
    stream: BinaryIO, *, path: str, csv: CSVSection, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
) -> tuple[tuple[str, ...], int]:
    """Read the header record at the stream's start: (column names, offset after the header).

    A file with no record at all (0 bytes, or blank lines) has no header and no rows: ``()`` and its
    end, as tidb-lightning imports nothing from it rather than failing.
    """
    source = _RecordSource(stream, path, _Grammar(csv), 0, 64 * 1024, max_record_bytes)
    _skip_bom(source)
    if not source.skip_blank_lines():
        return (), source.base + source.pos
    offset, fields = source.next_record()  # type: ignore[misc]
    names = []
    for field in fields:
        if field is None:
            raise SourceError("NULL in CSV header", path=path, offset=offset)
        try:
            names.append(field.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise SourceError("CSV header is not valid UTF-8", path=path, offset=offset) from exc
    return tuple(names), source.base + source.pos


def _skip_bom(source: _RecordSource) -> None:
    if source.base == 0:
        while len(source.buf) < 3 and not source.eof:
            source.fill()
        if source.buf.startswith(b"\xef\xbb\xbf"):
            source.pos = 3


class _Rows:
    """The rows of the batch being read: a list, or with an encoder's ``line_rows`` the runs' texts as
    :class:`Lines` (the careful path's rows between them joined into one when a run follows)."""

    __slots__ = ("rows", "offsets", "pieces", "joined")

    def __init__(self, line_rows: bool) -> None:
        self.rows: list[bytes] = []
        self.offsets: list[int] = []
        self.pieces: list[Lines] | None = [] if line_rows else None
        self.joined = 0  # rows in ``pieces``

    def __len__(self) -> int:
        return self.joined + len(self.rows)

    def add(self, piece: Lines) -> None:
        self._join()
        self.pieces.append(piece)  # type: ignore[union-attr]  # only with line_rows
        self.joined += piece.number

    def _join(self) -> None:
        if self.rows and self.pieces is not None:
            text = b"\n".join(self.rows) + b"\n"
            self.pieces.append(Lines(text, len(self.rows), self.offsets[0], offsets=self.offsets))
            self.joined += len(self.rows)
            self.rows, self.offsets = [], []

    def batch(self, columns: tuple[str, ...] | None, end: ReadPosition, nbytes: int) -> RowBatch:
        if self.pieces is None:
            return RowBatch(columns, self.rows, self.offsets, end, nbytes)
        self._join()
        return LineBatch(columns, self.pieces, end)


class CSVReader:
    """Reads one line-aligned chunk of a CSV file as :class:`RowBatch` es of encoded rows.

    The stream must be positioned at ``start``; records starting before ``end`` belong to the
    chunk. At offset 0 a header (``csv.header``) and a UTF-8 BOM are skipped. ``columns`` is
    the INSERT column list (``None`` = table order); the expected field count is its length, else
    the number of the encoder's ``column_kinds`` when it has them: a record with another count
    raises :class:`RowShapeError`. A record longer than ``max_record_bytes`` (an unterminated
    quoted field, typically) raises :class:`SourceError` at the record's offset instead of reading
    the rest of the file into memory; the importer passes the statement size limit.

    ``fast=False`` switches the fast path off (tests compare both paths on the same input); the
    output is the same either way.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        path: str,
        csv: CSVSection,
        start: int = 0,
        end: int | None = None,
        columns: tuple[str, ...] | None,
        encoder: TupleEncoder,
        block_size: int = 1 << 20,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
        fast: bool = True,
    ) -> None:
        if block_size <= 0:
            raise ValueError("block_size must be positive")
        self._g = _Grammar(csv)
        self._src = _RecordSource(stream, path, self._g, start, block_size, max_record_bytes)
        self._path = path
        self._end = end
        self._columns = columns
        self._encoder = encoder
        kinds = encoder.column_kinds
        self._width = len(columns) if columns is not None else len(kinds) if kinds is not None else None
        self._fast = fast and (self._g.block_ok or self._g.record_run is not None)
        self._fast_from = 0  # absolute offset before which the fast path is not retried
        self._fast_backoff = 1  # how far after a declined record the fast path tries again
        self._records_first = False  # quoted runs start with the record pattern
        self._window = 1 << 30  # how far ahead the fast path looks (shrinks after short runs)
        self._ratio = 0.75  # source bytes per encoded byte in the last run: how much source fills a budget
        self._skip_header = csv.header
        self._started = False

    def batches(self, max_bytes: int, max_rows: int) -> Iterator[RowBatch]:
        """Yield batches of at most ``max_rows`` rows and ``max_bytes`` bytes (at least one row)."""
        if max_bytes <= 0 or max_rows <= 0:
            raise ValueError("max_bytes and max_rows must be positive")
        if not self._started:
            self._started = True
            if self._src.base == 0:
                _skip_bom(self._src)
                if self._skip_header and self._src.skip_blank_lines():
                    self._src.next_record()
        while True:
            batch = self._read_batch(max_bytes, max_rows)
            if batch is None:
                return
            yield batch

    def _read_batch(self, max_bytes: int, max_rows: int) -> RowBatch | None:
        src = self._src
        acc = _Rows(self._encoder.line_rows)
        nbytes = 0
        encode = self._encoder.encode
        width = self._width
        end = self._end
        while len(acc) < max_rows:
            if not src.skip_blank_lines():
                break
            if end is not None and src.base + src.pos >= end:
                break
            if self._fast and src.base + src.pos >= self._fast_from:
                taken, size, full = self._fast_rows(acc, max_bytes - nbytes, max_rows - len(acc))
                nbytes += size
                if full:
                    break
                if taken:
                    continue
            mark = src.base + src.pos
            offset, fields = src.next_record()  # type: ignore[misc]
            offset += src.base
            if width is not None and len(fields) != width:
                raise RowShapeError(f"expected {width} fields, found {len(fields)}", path=self._path, offset=offset)
            row = encode(fields)
            if len(acc) and nbytes + len(row) > max_bytes:
                src.pos = mark - src.base  # a refill only dropped bytes before the record
                break
            acc.rows.append(row)
            acc.offsets.append(offset)
            nbytes += len(row)
        if not len(acc):
            return None
        return acc.batch(self._columns, ReadPosition(src.base + src.pos), nbytes)

    def _fast_rows(self, acc: _Rows, byte_budget: int, row_budget: int) -> tuple[int, int, bool]:
        """The fast path: prove a run of whole records plain and encode it at once.

        The proof depends on the run's layout: with no delimiter in it, whole lines are counted
        (:meth:`_unquoted_run`); otherwise whole quoted lines are counted or the record pattern
        matched (:meth:`_quoted_run`). Both stop before the first record they cannot prove, which
        the careful path then reads. The run is as long as the budget should allow, judged by the
        last run's ratio of source to encoded bytes, or ends with the window's last whole line (the
        window is refilled, copying only the part line after it, when it holds none). Returns (rows
        taken, their bytes, batch full).
        """
        if byte_budget < 0:  # a first row over the budget: no other fits after it
            return 0, 0, True
        src, g = self._src, self._g
        want = int(byte_budget * self._ratio) + 256
        buf, pos = src.buf, src.pos
        cut = self._cut(buf, pos, want)
        if cut <= pos and not src.eof and pos + want > len(buf):
            src.fill()
            buf, pos = src.buf, src.pos
            cut = self._cut(buf, pos, want)
        if cut <= pos:
            return 0, 0, False
        run: _Run | None = None
        if g.block_ok and not self._records_first and not (g.quote and buf.find(g.quote, pos, cut) >= 0):
            run = self._unquoted_run(buf[pos:cut])
        if run is None and g.record_run is not None:
            run = self._quoted_run(buf, pos, cut)
        if run is None or run.encoded is None:
            return self._decline()
        seg, encoded, lines = run.seg, run.encoded, run.lines
        self._ratio = len(seg) / len(encoded)
        base = src.base + pos
        if acc.pieces is not None:
            take, size, used = self._take_lines(run, byte_budget, row_budget, not len(acc))
            if take == 0:
                return 0, 0, True
            text = encoded if take == lines else encoded[: size + take]
            if encoded is run.text and run.trimmed >= 0:  # each row is its source line less `trimmed` bytes
                acc.add(Lines(text, take, base, trimmed=run.trimmed))
            else:
                acc.add(Lines(text, take, base, seg[:used]))
        else:
            rows = encoded.split(b"\n")
            rows.pop()
            sizes = list(accumulate(map(len, rows)))
            take = min(lines, row_budget, bisect_right(sizes, byte_budget))
            if take == 0:
                if len(acc):
                    return 0, 0, True
                take = 1
            size = sizes[take - 1]
            starts = list(accumulate(islice(map(_PLUS_ONE, map(len, seg.split(b"\n", take))), take), initial=0))
            used = starts[-1]
            acc.offsets.extend(map(add, starts[:-1], repeat(base)))
            acc.rows.extend(rows if take == lines else rows[:take])
        src.pos = pos + used
        full = take < lines or take >= row_budget
        if len(seg) < cut - pos:  # the run stopped at a record it rejects
            self._window = max(4096, 4 * len(seg))
            if lines < _SHORT_RUN:  # not worth it: back off as after a decline
                self._fast_from = src.base + src.pos + self._fast_backoff
                self._fast_backoff = min(self._fast_backoff * 2, 1 << 20)
                return take, size, full
        else:
            self._window = min(2 * self._window, 1 << 30)
        self._fast_backoff = 1
        return take, size, full

    def _cut(self, buf: bytes, pos: int, want: int) -> int:
        """The end of the last whole line of the window within ``want`` bytes of ``pos`` (and the chunk),
        looking no further than the window of the last runs first."""
        limit = min(len(buf), pos + want)
        if self._end is not None:
            limit = min(limit, self._end - self._src.base)
        return buf.rfind(b"\n", pos, min(limit, pos + self._window)) + 1 or buf.rfind(b"\n", pos, limit) + 1

    @staticmethod
    def _take_lines(run: _Run, byte_budget: int, row_budget: int, first: bool) -> tuple[int, int, int]:
        """How much of a run fits in the batch, rows joined: (rows, their bytes, source bytes they span).

        The rows taken are the most whose sizes sum to at most ``byte_budget`` (at least one when the
        batch is empty), as the careful path cuts. Without a list of sizes: a line end at most
        ``byte_budget + k + 1`` into the text, ``k`` being the rows before the previous one found,
        closes a prefix within the budget, and when there is none the next row is over it.
        """
        encoded, lines = run.encoded, run.lines
        assert encoded is not None
        if len(encoded) - lines <= byte_budget and lines <= row_budget:
            return lines, len(encoded) - lines, len(run.seg)
        stop = len(encoded) if lines <= row_budget else _nth_line_end(encoded, row_budget)
        end = take = 0
        while True:
            q = encoded.rfind(b"\n", end, min(byte_budget + take + 1, stop))
            if q < 0:
                break
            take += encoded.count(b"\n", end, q + 1)
            end = q + 1
        if take == 0:
            if not first:
                return 0, 0, 0
            end, take = encoded.index(b"\n") + 1, 1
        if encoded is run.text and run.trimmed >= 0:
            return take, end - take, end + take * run.trimmed
        return take, end - take, _nth_line_end(run.seg, take)

    def _unquoted_run(self, seg: bytes) -> _Run | None:
        """The whole lines of ``seg`` (no delimiter in it) before the first one that is not a plain
        record, and their rows (``None``: not provable); ``None`` to try the record pattern.

        A line is a plain record when it holds no escape or byte :data:`_BLOCK_SPECIAL` names, is
        not empty, has no field equal to a NULL text and as many separators as the others (and,
        with ``trim-last-separator``, ends with one). Every separator then splits two fields.
        """
        g = self._g
        sep = g.sep
        stops = [i for i in map(seg.find, g.block_special) if i >= 0]
        if stops:
            if g.record_run is not None:  # escapes (\N) or \r\n lines: the record pattern decides
                return None
            seg = seg[: seg.rfind(b"\n", 0, min(stops)) + 1]
        null = g.first_null(seg)
        if null >= 0:
            seg = seg[: seg.rfind(b"\n", 0, null) + 1]
        if not seg:
            return _Run(seg, None, 0)
        text = g.line_end_sep.sub(b"\n", seg) if g.trim else seg
        lines = self._uniform_lines(seg, text)
        if not lines:
            return self._uneven_run(seg)
        trimmed = len(sep) if g.trim else 0
        return _Run(seg, self._encoder.encode_block(text, sep), lines, text, trimmed)

    def _uniform_lines(self, seg: bytes, text: bytes) -> int:
        """The number of lines of ``text`` (``seg`` trimmed) if all are records of one width, with one
        comparison instead of a count per line (0: not proved so, or not provable that way).

        Kept bytes of ``text`` are separators and line ends only: they must be ``n`` separators and a
        ``\\n``, repeated, ``n`` set by the width (or the first line). A blank line has no separator,
        so it fails this unless ``n`` is 0 (then it is looked for); with ``trim-last-separator``, each
        line must have lost one separator.
        """
        g = self._g
        if g.marks is None:
            return 0
        marks = text.translate(None, g.marks)
        n = self._width - 1 if self._width is not None else marks.find(b"\n")
        if n < 0:
            return 0
        unit = g.sep * n + b"\n"
        lines = len(marks) // len(unit)
        if marks != unit * lines or len(seg) - len(text) != (lines * len(g.sep) if g.trim else 0):
            return 0
        if n == 0 and not g.trim and b"\n\n" in text:
            return 0
        return lines

    def _uneven_run(self, seg: bytes) -> _Run:
        """The leading lines of ``seg`` (plain bytes, no NULL text) that are records of one width,
        counted line by line: :meth:`_uniform_lines` found a blank line or another width."""
        g = self._g
        sep = g.sep
        blank = seg.find(b"\n\n")
        if blank >= 0:
            seg = seg[: blank + 1]
        lines = seg.count(b"\n")
        if g.trim and seg.count(sep + b"\n") != lines:
            return _Run(seg, None, 0)
        text = seg.replace(sep + b"\n", b"\n") if g.trim else seg
        counts = list(map(bytes.count, text.split(b"\n", lines - 1), repeat(sep)))
        if not self._same_width(counts, lines):
            expected = counts[0] if self._width is None else self._width - 1
            lines = next(i for i, n in enumerate(counts) if n != expected)
            if lines == 0:
                return _Run(seg, None, 0)
            seg = seg[: _nth_line_end(seg, lines)]
            text = text[: _nth_line_end(text, lines)]
        trimmed = len(sep) if g.trim else 0
        return _Run(seg, self._encoder.encode_block(text, sep), lines, text, trimmed)

    def _quoted_run(self, buf: bytes, pos: int, cut: int) -> _Run:
        """The records from ``pos`` (up to ``cut``) before the first one the fast path cannot prove,
        and their tuples (Dumpling writes ``"abc","x,y",12,\\N``).

        Every line fully quoted with plain content (most of a quoted file) is proved so by
        counting delimiters; otherwise the longest run of records matching
        ``_Grammar.record_run`` is taken. A record neither takes (doubled delimiter, escape,
        newline in quotes, NULL text) is left to the careful path.
        """
        g = self._g
        encoded = None
        if not self._records_first:
            seg = buf[pos:cut]
            lines = seg.count(b"\n")
            encoded = self._all_quoted_rows(seg, lines)
            # After a failed proof the record pattern goes first: it stops at the first record it
            # rejects, so a file with occasional awkward records is not re-read up to ``cut``.
            self._records_first = encoded is None
        if encoded is None:
            stop = g.record_run.match(buf, pos, cut).end()  # type: ignore[union-attr]
            if stop == cut:
                self._records_first = False
            seg = buf[pos:stop]
            lines = seg.count(b"\n")
            if stop > pos:
                encoded = self._all_quoted_rows(seg, lines)
                if encoded is None:
                    return self._record_run_rows(seg)
        return _Run(seg, encoded, lines)

    def _all_quoted_rows(self, seg: bytes, lines: int) -> bytes | None:
        """Rows of ``seg`` (whole lines) if every line is ``"a","b",...,"z"`` with plain content.

        Proof by counting: every line starts and ends with a delimiter (distinct bytes, not part of
        a ``","``), so a line with k ``","`` has at least 2k+2 delimiters; a total of exactly
        2K+2L leaves none inside any field.
        """
        g = self._g
        quote = g.quote
        if g.record_run is None or g.trim or seg[:1] != quote or any(map(seg.__contains__, _SQL_SPECIAL)):
            return None
        text = seg
        if b"\r" in seg:
            if g.term not in (b"", b"\r\n") or seg.count(b"\r") != lines or seg.count(b"\r\n") != lines:
                return None
            text = seg.replace(b"\r\n", b"\n")
        elif g.term == b"\r\n":
            return None
        boundary = quote + g.sep + quote
        end, start = quote + b"\n", b"\n" + quote
        if (
            text.count(end) != lines
            or text.count(start) != lines - 1
            or text.startswith(end)
            or text.startswith(boundary)
            or start + b"\n" in text
            or b"\n" + boundary in text
            or boundary + b"\n" in text
            or text.count(quote) != 2 * (text.count(boundary) + lines)
        ):
            return None
        counts = list(map(bytes.count, text.split(b"\n", lines - 1), repeat(boundary)))
        if not self._same_width(counts, lines):
            return None
        return self._encoder.encode_block(text, g.sep, enclosed=quote, nulls=g.plain_nulls)

    def _record_run_rows(self, seg: bytes) -> _Run:
        """Rows of a run of ``_Grammar.record_run`` records; may stop early at a record of another width."""
        g = self._g
        sep = g.sep
        text = seg.replace(b"\r", b"") if b"\r" in seg else seg  # "\r" only before "\n" here
        if g.trim:
            text = text.replace(sep + b"\n", b"\n")
        parts = text.split(g.quote)
        hidden = False
        if len(parts) > 1:
            content = _JOIN.join(parts[1::2])
            if sep in content:  # a separator inside quotes: hide it while separators are rewritten
                parts[1::2] = content.replace(sep, _HIDDEN_SEP).split(_JOIN)
                hidden = True
            text = b"".join(parts)
        lines = text.split(b"\n")
        lines.pop()
        counts = list(map(bytes.count, lines, repeat(sep)))
        good = len(lines)
        if not self._same_width(counts, good):
            expected = counts[0] if self._width is None else self._width - 1
            good = next(i for i, n in enumerate(counts) if n != expected)
            if good == 0:
                return _Run(seg, None, 0)
            text = text[: sum(map(len, lines[:good])) + good]
            seg = seg[: _nth_line_end(seg, good)]
        # A backslash here is only ever a whole NULL field: the record pattern allows no other.
        encoded = self._encoder.encode_block(text, sep, null=b"\\N" if g.backslash_n_null else b"",
                                             stand_in=_HIDDEN_SEP if hidden else b"", nulls=g.plain_nulls)
        return _Run(seg, encoded, good)

    def _same_width(self, counts: list[int], lines: int) -> bool:
        """Whether every line has as many separators as the first (and as the column list says)."""
        expected = counts[0] if self._width is None else self._width - 1
        return min(counts) == expected == max(counts)

    def _decline(self) -> tuple[int, int, bool]:
        """Leave the next record(s) to the careful path; retry the fast path after a growing distance."""
        src = self._src
        self._fast_from = src.base + src.pos + self._fast_backoff
        self._fast_backoff = min(self._fast_backoff * 2, 1 << 20)
        self._window = 4096
        return 0, 0, False
