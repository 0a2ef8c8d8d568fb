"""Streaming reader of mydumper / Dumpling SQL data files: ``INSERT ... VALUES (..),(..);``.

The TiDB backend re-sends rows as SQL, so the reader never decodes values: it cuts each row tuple
out of the byte stream verbatim and lets the server parse it. It still checks the tuple grammar
(balanced parentheses, terminated strings, no bare ``;``) so that one bad row cannot swallow its
neighbours into a single malformed statement, and so errors point at the offending byte offset.

Speed comes from matching whole rows with one compiled pattern (possessive quantifiers keep the
regex engine from backtracking) and walking the ``,``-separated list with ``Pattern.scanner``, so
Python runs a handful of bytecodes per row, never per character. Anything irregular (comments
between rows, the last row of a statement, a row cut by a block boundary) drops to a careful path.

As in tidb-lightning, the statement's table name and verb are ignored: the target table and the
``on-duplicate`` mode decide where and how rows go.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate, repeat
from operator import add
from typing import BinaryIO

from ..errors import SourceError
from .rows import SEGMENT_SEPARATOR, ReadPosition, RowBatch
from .window import DEFAULT_MAX_RECORD_BYTES, StreamWindow

# --- tuple grammar --------------------------------------------------------------------------------
# Written as "unrolled loops" (plain run, then (string|group, plain run)*) so the regex engine does
# not re-enter an alternation for every run of plain text; that alone doubles the speed.
_STR_SINGLE = rb"'[^'\\]*+(?:(?:\\.|'')[^'\\]*+)*+'"
_STR_DOUBLE = rb'"[^"\\]*+(?:(?:\\.|"")[^"\\]*+)*+"'
_PLAIN = rb"""[^()'";]*+"""


def _group(inner: bytes) -> bytes:
    """A parenthesised group whose content is plain text, strings or ``inner`` groups."""
    alternatives = b"|".join(p for p in (_STR_SINGLE, _STR_DOUBLE, inner) if p)
    return rb"\(" + _PLAIN + rb"(?:(?:" + alternatives + rb")" + _PLAIN + rb")*+\)"


# Three levels of nested parentheses inside a row, e.g. ``CONVERT(CAST(x AS CHAR(3)) USING utf8)``.
_NESTED = _group(_group(_group(b"")))
_TUPLE_SRC = _group(_NESTED)

_TUPLE = re.compile(_TUPLE_SRC, re.S)
# The longest well-formed prefix of a tuple: where it stops tells a cut-off row from a bad one.
_TUPLE_PREFIX = re.compile(
    rb"\(" + _PLAIN + rb"(?:(?:" + _STR_SINGLE + b"|" + _STR_DOUBLE + b"|" + _NESTED + rb")" + _PLAIN + rb")*+",
    re.S,
)
# The hot pattern: a row followed by the ``,`` that promises another row.
_ROW_COMMA = re.compile(rb"(" + _TUPLE_SRC + rb")[ \t\r\n]*+,[ \t\r\n]*+", re.S)

_BLANKS = re.compile(rb"[ \t\r\n]*+")
_ROW_SEPARATOR = SEGMENT_SEPARATOR
_ROW_BOUNDARY = b")" + _ROW_SEPARATOR + b"("

# --- statements -----------------------------------------------------------------------------------
_SPACE = re.compile(
    rb"(?:\s++"
    rb"|/\*(?:[^*]++|\*(?!/))*+\*/"  # /* */ and /*!40101 ... */ (versioned comments are skipped)
    rb"|(?:--(?=[\s\x00-\x1f])|\#)[^\n]*+(?:\n|\Z)"  # -- and # line comments
    rb")*+",
    re.S,
)
_NAME = rb"(?:`(?:[^`]|``)++`|[\w$\x80-\xff]++)"
_HEADER = re.compile(
    rb"(?:INSERT|REPLACE)(?:\s++(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE))*+\s++(?:INTO\s++)?"
    + _NAME
    + rb"(?:\s*+\.\s*+"
    + _NAME
    + rb")?\s*+(?:\(((?:`(?:[^`]|``)*+`|[^)`])*+)\)\s*+)?VALUES?\s*+(?=\()",
    re.I,
)
_INSERT_VERB = re.compile(rb"(?:INSERT|REPLACE)\b", re.I)
_SKIPPED_VERB = re.compile(rb"(?:SET|LOCK\s++TABLES?|UNLOCK\s++TABLES?)\b", re.I)
_SKIPPED_STATEMENT = re.compile(rb"(?:[^;'\"`]++|" + _STR_SINGLE + b"|" + _STR_DOUBLE + rb"|`(?:[^`]|``)*+`)*+;", re.S)
_COLUMN_NAME = re.compile(rb"`((?:[^`]|``)*+)`|([^\s,`]++)")
_SET_NAMES = re.compile(rb"\bSET\s++NAMES\s++['\"`]?([\w]+)", re.I)
_SET_TIME_ZONE = re.compile(rb"\bSET\s++(?:SESSION\s++|@@(?:SESSION\.)?)?TIME_ZONE\s*+=\s*+'([^'\\]{1,64})'", re.I)
_FIRST_INSERT = re.compile(rb"\b(?:INSERT|REPLACE)\b", re.I)

# Enough look-ahead to classify a statement or a comment start without reading more.
_MIN_AHEAD = 64
# A statement header (verb, table, column list) longer than this is not a dump we can read.
_MAX_HEADER = 16 << 20
_UNTERMINATED_STRING = "unterminated string in row tuple (row longer than {limit} bytes)"


# The bytes that decide where strings and rows begin and end; bytes.translate deletes the rest.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b"\"'`\\\n();")


def _plain_rows(body: bytes) -> int:
    """The number of rows in ``body`` when each of its lines is provably one whole row, else 0.

    The proof runs on the body's *skeleton* (its quotes, backslashes, backticks, parentheses,
    semicolons and newlines, a few percent of its size), all with C-level operations: no backslash
    and only one kind of quote, so quotes pair up in order; an even number of quotes on every line,
    so no string spans a line; exactly one ``(`` and one ``)`` per line, at its start and end (every
    line but the last ends in ``),``), so every line is one tuple with no parenthesis inside; and
    every ``;`` has an odd number of quotes before it on its line, so it is inside a string.
    Anything else is left to the slower paths.
    """
    skeleton = body.translate(None, _NOT_STRUCTURE)
    if b"\\" in skeleton or b"`" in skeleton:
        return 0
    quote = b'"' if b'"' in skeleton else b"'"
    if quote == b'"' and b"'" in skeleton:
        return 0
    count = skeleton.count(b"\n") + 1
    if (
        skeleton.count(b"(") != count
        or skeleton.count(b")") != count
        or body.count(b"),\n(") != count - 1
        or body[:1] != b"("
        or body[-1:] != b")"
        # every run of quotes between newlines has even length: removing pairs leaves no quote
        or quote in skeleton.translate(None, b"();").replace(quote + quote, b"")
    ):
        return 0
    semi = skeleton.find(b";")
    while semi >= 0:
        line_start = skeleton.rfind(b"\n", 0, semi) + 1
        if not skeleton.count(quote, line_start, semi) & 1:
            return 0
        semi = skeleton.find(b";", semi + 1)
    return count


def sniff_set_names(head: bytes) -> str | None:
    """Return the charset of the ``SET NAMES x`` that precedes the first INSERT in ``head``.

    mydumper starts every data file with ``/*!40101 SET NAMES binary*/;``. A reader resuming in
    the middle of the file never sees that line, so the writer sniffs the file's head once and
    uses the dump's charset for the session.
    """
    first = _FIRST_INSERT.search(head)
    m = _SET_NAMES.search(head, 0, first.start() if first else len(head))
    return m.group(1).decode("ascii").lower() if m else None


def sniff_time_zone(head: bytes) -> str | None:
    """Return the zone of a ``SET TIME_ZONE='+00:00'`` that precedes the first INSERT in ``head``.

    mydumper and Dumpling write TIMESTAMP values in UTC and say so at the top of every data file;
    the writer must use that zone or the values shift by the server's offset.
    """
    first = _FIRST_INSERT.search(head)
    m = _SET_TIME_ZONE.search(head, 0, first.start() if first else len(head))
    return m.group(1).decode("ascii") if m else None


def _parse_columns(raw: bytes, path: str, offset: int) -> tuple[str, ...]:
    names = []
    for quoted, bare in _COLUMN_NAME.findall(raw):
        name = quoted.replace(b"``", b"`") if quoted or not bare else bare
        try:
            names.append(name.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise SourceError("column name is not valid UTF-8", path=path, offset=offset) from exc
    return tuple(names)


class SQLReader(StreamWindow):
    """Reads one chunk of a SQL data file as :class:`RowBatch` es.

    The stream must already be positioned at ``resume.offset`` (or ``start``); ``end`` is the
    chunk end: statements starting before it belong to the chunk and are read to their ``;``.
    A row tuple, comment or skipped statement longer than ``max_record_bytes`` (an unterminated
    string, typically) raises :class:`SourceError` at its start offset instead of reading the rest
    of the file into memory; the importer passes the statement size limit.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        path: str,
        start: int = 0,
        end: int | None = None,
        resume: ReadPosition | None = None,
        block_size: int = 1 << 20,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        super().__init__(stream, path=path, start=resume.offset if resume else start, block_size=block_size,
                         max_record=max_record_bytes)
        self._end = end
        self._done = False
        self._in_values = bool(resume and resume.in_values)
        self._columns = resume.columns if resume and resume.in_values else None
        self._column_cache: dict[bytes | None, tuple[str, ...] | None] = {None: None}
        # Buffer index before which the block path is not retried after it declined a segment.
        self._block_path_from = 0

    def batches(self, max_bytes: int, max_rows: int) -> Iterator[RowBatch]:
        """Yield batches of at most ``max_rows`` rows and ``max_bytes`` bytes (at least one row)."""
        if max_bytes <= 0 or max_rows <= 0:
            raise ValueError("max_bytes and max_rows must be positive")
        while not self._done:
            batch = self._read_batch(max_bytes, max_rows)
            if batch is not None:
                yield batch

    # --- buffer -----------------------------------------------------------------------------------
    def _fill_for(self, start: int, problem: str) -> None:
        """:meth:`_fill` for an incomplete item starting at buffer index ``start``, unless it already
        exceeds ``max_record_bytes``: then raise ``problem`` (formatted with ``limit``) at ``start``."""
        if len(self.buf) - start > self.max_record:
            raise self.error(problem.format(limit=self.max_record), start)
        self.fill()

    # --- batches ----------------------------------------------------------------------------------
    def _read_batch(self, max_bytes: int, max_rows: int) -> RowBatch | None:
        rows: list[bytes] = []
        offsets: list[int] = []
        nbytes = 0
        columns = self._columns
        while True:
            if not self._in_values:
                header = self._next_statement()
                if header is None:
                    self._done = True
                    break
                header_columns, header_end = header
                if rows and header_columns != columns:
                    break
                columns = self._columns = header_columns
                self.pos = header_end
                self._in_values = True

            if not rows and self.pos >= self._block_path_from:
                segment = self._segment_batch(columns, max_bytes, max_rows)
                if segment is not None:
                    return segment

            if self.pos >= self._block_path_from:
                taken, size, full = self._block_rows(rows, offsets, max_bytes - nbytes, max_rows)
                nbytes += size
                if full:
                    break
                if taken:
                    continue

            # Hot loop: rows followed by ',' inside the buffer.
            buf = self.buf
            base = self.base
            pos = self.pos
            full = False
            for m in iter(_ROW_COMMA.scanner(buf, pos).match, None):
                row = m[1]
                size = len(row)
                if rows and nbytes + size > max_bytes:
                    full = True
                    break
                start = m.start()
                rows.append(row)
                offsets.append(base + start)
                nbytes += size
                pos = m.end()
                if len(rows) >= max_rows:
                    full = True
                    break
            self.pos = pos
            if full:
                break

            # Careful path: one row with whatever follows it, refilling the buffer as needed.
            parsed = self._careful_row()
            row, start, after, still_in_values = parsed
            size = len(row)
            if rows and nbytes + size > max_bytes:
                break
            rows.append(row)
            offsets.append(self.base + start)
            nbytes += size
            self.pos = after
            self._in_values = still_in_values
            if len(rows) >= max_rows:
                break

        if not rows:
            return None
        end = ReadPosition(self.base + self.pos, columns if self._in_values else None, self._in_values)
        if not self._in_values:
            self._columns = None
        return RowBatch(columns, rows, offsets, end, nbytes)

    def _segment_batch(self, columns: tuple[str, ...] | None, max_bytes: int, max_rows: int) -> RowBatch | None:
        """A whole batch as one contiguous, validated run of rows, or None to use the other paths.

        Finds the longest run of whole rows (``,\\n``-separated) whose lengths add up to at most
        ``max_bytes`` — the same greedy cut the row-by-row paths make — and proves with
        :func:`_plain_rows` that its lines are its rows. Costs a few C-level scans of the bytes and
        one object per row. A statement's last, partial batch is left to the other paths.
        """
        # Enough buffered bytes to see the whole greedy cut and the separator after it (but never
        # more than one record may hold, so bad input still fails within max_record_bytes).
        while not self.eof and len(self.buf) - self.pos < min(2 * max_bytes + 4096, self.max_record):
            self.fill()
        buf = self.buf
        pos = self.pos
        if buf[pos : pos + 1] != b"(":
            return None
        step = len(SEGMENT_SEPARATOR)
        # rows' bytes up to x = (x - pos) - step * newlines(pos, x): grow x to the largest that fits.
        reach = pos + max_bytes
        newlines = buf.count(b"\n", pos, reach)
        while True:
            grown = min(pos + max_bytes + step * newlines, len(buf))
            if grown <= reach:
                break
            newlines += buf.count(b"\n", reach, grown)
            reach = grown
        if buf.find(b");", pos, reach + 1) >= 0:
            # The statement ends within this batch: leave its tail to the row paths, which go on
            # into the next statement when it has the same column list.
            return None
        body_end = buf.rfind(SEGMENT_SEPARATOR + b"(", pos, reach + step + 1)
        if body_end <= pos or (reach >= len(buf) and not self.eof):
            return None
        body = buf[pos:body_end]
        count = _plain_rows(body)
        if not count:
            self._block_path_from = body_end
            return None
        if count > max_rows:
            return None
        self.pos = body_end + step
        end = ReadPosition(self.base + self.pos, columns, True)
        return RowBatch.from_segment(columns, body, self.base + pos, count, end)

    def _block_rows(
        self, rows: list[bytes], offsets: list[int], byte_budget: int, max_rows: int
    ) -> tuple[int, int, bool]:
        """Take many rows at once with C-speed ``bytes`` operations when the layout allows it.

        A segment of the VALUES list, ending before the statement's last row, is split on
        ``,\n``. The split is provably right (every piece is one balanced tuple) when the segment
        has no backslash, only one kind of quote with an even count in every piece, and exactly
        one ``(`` and one ``)`` per piece, found at the row boundaries. Quote parity per piece
        proves no string spans a boundary: each piece starts outside a string, so with an even
        count it also ends outside one. The rare piece holding a ``;`` is checked by the tuple
        pattern (the ``;`` must be quoted). Anything else (escapes, parentheses in data, both
        quote kinds) is left to the regex path.

        Returns (rows taken, their bytes, batch full).
        """
        buf = self.buf
        pos = self.pos
        if buf[pos : pos + 1] != b"(":
            return 0, 0, False
        limit = min(len(buf), pos + byte_budget + (byte_budget >> 3) + 256)
        statement_end = buf.find(b");", pos, limit)
        if statement_end >= 0:
            limit = statement_end + 1
        seg_end = buf.rfind(_ROW_BOUNDARY, pos, limit) + 1
        if seg_end <= 0:
            return 0, 0, False
        seg = buf[pos:seg_end]
        pieces = seg.split(_ROW_SEPARATOR)
        count = len(pieces)
        quote = b"'" if b'"' not in seg else b'"'
        if (
            seg.count(b"(") != count
            or seg.count(b")") != count
            or seg.count(_ROW_BOUNDARY) != count - 1
            or b"\\" in seg
            or (quote == b'"' and b"'" in seg)
            or any(map((1).__and__, map(bytes.count, pieces, repeat(quote))))
            or not self._semicolons_quoted(seg, pieces)
        ):
            self._block_path_from = limit
            return 0, 0, False

        sizes = list(accumulate(map(len, pieces)))
        take = min(count, max_rows - len(rows), bisect_right(sizes, byte_budget))
        if take == 0:
            if rows:
                return 0, 0, True
            take = 1
        base = self.base + pos
        offsets.extend(accumulate(map(add, map(len, pieces[: take - 1]), repeat(len(_ROW_SEPARATOR))), initial=base))
        rows.extend(pieces if take == count else pieces[:take])
        self.pos = pos + sizes[take - 1] + take * len(_ROW_SEPARATOR)
        return take, sizes[take - 1], take < count or len(rows) >= max_rows

    @staticmethod
    def _semicolons_quoted(seg: bytes, pieces: list[bytes]) -> bool:
        """Check the few pieces holding a ``;`` with the tuple pattern (the ``;`` must be quoted)."""
        semi = seg.find(b";")
        if semi < 0:
            return True
        starts = list(accumulate(map(add, map(len, pieces), repeat(len(_ROW_SEPARATOR))), initial=0))
        while semi >= 0:
            index = bisect_right(starts, semi) - 1
            if _TUPLE.fullmatch(pieces[index]) is None:
                return False
            semi = seg.find(b";", starts[index + 1])
        return True

    def _careful_row(self) -> tuple[bytes, int, int, bool]:
        """Parse the row tuple at the current position and the separator after it.

        Returns the row, its buffer index, the index after its separator and whether the
        statement continues. Nothing is consumed, so the caller may leave the row to the next
        batch. Refills the buffer until the row and its separator are complete.
        """
        while True:
            buf = self.buf
            p = _SPACE.match(buf, self.pos).end()
            if not self.eof and (len(buf) - p < _MIN_AHEAD or buf.startswith(b"/*", p)):
                self._fill_for(p, "unterminated comment (more than {limit} bytes)")
                continue
            if p == len(buf):
                raise self.error("unexpected end of file: expected a row tuple after ','", p)
            if buf.startswith(b"/*", p):
                raise self.error("unterminated comment", p)
            if buf[p] != 0x28:  # "("
                raise self.error(f"expected a row tuple, found {buf[p : p + 20]!r}", p)
            m = _TUPLE.match(buf, p)
            if m is None:
                stop = _TUPLE_PREFIX.match(buf, p).end()
                if stop < len(buf) and buf[stop] not in b"'\"(":
                    raise self.error("malformed row tuple (unquoted ';' or unbalanced parentheses)", p)
                if not self.eof:
                    in_string = stop < len(buf) and buf[stop] in b"'\""
                    self._fill_for(p, _UNTERMINATED_STRING if in_string else "row tuple longer than {limit} bytes")
                    continue
                if stop < len(buf) and buf[stop] in b"'\"":
                    raise self.error("unterminated string in row tuple", p)
                raise self.error("unterminated row tuple", p)
            q = _SPACE.match(buf, m.end()).end()
            if not self.eof and (len(buf) - q < 2 or buf.startswith(b"/*", q)):
                self._fill_for(p, "unterminated comment after a row tuple (more than {limit} bytes)")
                continue
            if q == len(buf):  # the last statement of the file may lack its ';'
                return m.group(), p, q, False
            sep = buf[q]
            if sep == 0x2C:  # ","
                return m.group(), p, _BLANKS.match(buf, q + 1).end(), True
            if sep == 0x3B:  # ";"
                return m.group(), p, q + 1, False
            raise self.error(f"expected ',' or ';' after row tuple, found {buf[q : q + 20]!r}", q)

    def _next_statement(self) -> tuple[tuple[str, ...] | None, int] | None:
        """Skip comments and ignorable statements up to the next INSERT/REPLACE of the chunk.

        Returns its column list and the buffer index just after ``VALUES``; leaves the position at
        the statement start, so the caller can end a batch before a different column list.
        Returns ``None`` at the end of the chunk or file.
        """
        while True:
            buf = self.buf
            p = _SPACE.match(buf, self.pos).end()
            if not self.eof and (len(buf) - p < _MIN_AHEAD or buf.startswith(b"/*", p)):
                self._fill_for(p, "unterminated comment (more than {limit} bytes)")
                continue
            self.pos = p
            if p == len(buf):
                return None
            if self._end is not None and self.base + p >= self._end:
                return None
            if buf.startswith(b"/*", p):
                raise self.error("unterminated comment", p)
            if buf[p] == 0x3B:  # empty statement
                self.pos = p + 1
                continue
            m = _HEADER.match(buf, p)
            if m is not None:
                raw = m.group(1)
                columns = self._column_cache.get(raw)
                if columns is None and raw is not None:
                    columns = self._column_cache[raw] = _parse_columns(raw, self.path, self.base + p)
                return columns, m.end()
            if _SKIPPED_VERB.match(buf, p):
                s = _SKIPPED_STATEMENT.match(buf, p)
                if s is not None:
                    self.pos = s.end()
                elif self.eof:
                    self.pos = len(buf)
                else:
                    self._fill_for(p, "statement longer than {limit} bytes")
                continue
            if _INSERT_VERB.match(buf, p):
                if not self.eof and len(buf) - p < _MAX_HEADER:
                    self.fill()
                    continue
                raise self.error("malformed INSERT statement", p)
            raise self.error(f"unexpected statement {buf[p : p + 30]!r}", p)
