"""Streaming reader of mydumper / Dumpling SQL data files: ``INSERT ... VALUES (..),(..);``.

The TiDB backend re-sends rows as SQL, so the reader cuts each row tuple out of the byte stream
and hands it on verbatim -- but only once it is proved to hold nothing but literals. A tuple is
text the server would evaluate: ``(1,(SELECT ...))``, ``LOAD_FILE(..)``, ``SLEEP(2)`` or
``@@hostname`` in a dump would run with the import user's rights. So the reader accepts inside a
tuple what tidb-lightning's lexer (``mydump/parser.rl``) accepts, and nothing else: ``NULL``,
``TRUE``/``FALSE``, numbers, quoted strings, hex and bit literals (``x'..'``, ``0x..``, ``b'..'``,
``0b..``), the ``CONVERT(<string> USING utf8mb4)`` that mydumper writes for JSON, and unquoted
words, which tidb-lightning takes as strings and which are therefore sent quoted. Anything else
(a parenthesis inside a tuple, a backquote, a comment, an operator after a value) is refused with
the file and byte offset.

The lexer also reads the file the way tidb-lightning's does: rows follow ``VALUES``; other words
(``BEGIN``, ``COMMIT``, a table name) are noise; and tuples after a ``;`` are rows of the last
statement's columns. ``SET``, ``LOCK``/``UNLOCK TABLES`` statements are skipped whole.

Strings are re-encoded when the dump and the session disagree on backslashes: a dump written with
backslash escapes (the default, and what mydumper and Dumpling write) read by a session with
``NO_BACKSLASH_ESCAPES`` -- or a dump that declares ``NO_BACKSLASH_ESCAPES`` in its own
``SET SQL_MODE`` read by one without -- gets each string holding a backslash rewritten for the
session, so the stored value is the one the dump meant.

Two paths read the VALUES list, and both cut the same rows, offsets and resume positions:

* the careful path, the reference: a lexer in the manner of tidb-lightning's that finds a tuple's
  end token by token (plain text, string literal, ``(``, ``)``, ``,``), then checks its values
  one by one (re-encoding a value where needed) and raises a located error on anything else;
* the fast path, :func:`fast_rows`: a stretch of whole rows laid out one per line, as mydumper and
  Dumpling write them, proved by one pass of RE2 (:mod:`..common.linear_regex`) to hold nothing
  but strings without a backslash or a line break, numbers and ``NULL`` -- and so to be exactly
  its lines -- and passed on as one piece of the dump, uncopied and unsplit. Wherever the proof
  does not hold (escapes, line breaks in strings, a ``'`` string holding a ``"``, words, comments
  between rows) it tells the reader how far to go carefully instead.

Statements (``INSERT`` headers, ``SET``, comments) are always read carefully: there are few. As in
tidb-lightning, the statement's table name and verb are ignored: the target table and the
``on-duplicate`` mode decide where and how rows go.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from ..common.linear_regex import LinearPattern, compile_linear
from ..common.quoting import string_literal
from ..errors import SourceError
from .rows import SEGMENT_SEPARATOR, Piece, ReadPosition, RowBatch
from .window import DEFAULT_MAX_RECORD_BYTES, StreamWindow

# --- careful path: the tuple lexer ----------------------------------------------------------------
# String literals, by whether the dump escapes with backslashes (True: NO_BACKSLASH_ESCAPES).
_STRINGS = {
    False: (rb"'[^'\\]*+(?:(?:\\.|'')[^'\\]*+)*+'", rb'"[^"\\]*+(?:(?:\\.|"")[^"\\]*+)*+"'),
    True: (rb"'[^']*+(?:''[^']*+)*+'", rb'"[^"]*+(?:""[^"]*+)*+"'),
}
_STR_SINGLE, _STR_DOUBLE = _STRINGS[False]

# Token kinds inside a row tuple: ``m.lastindex`` of a :data:`_TUPLE_TOKENS` match.
PLAIN, STRING, OPEN, CLOSE, COMMA, SEMICOLON, OPEN_STRING = range(1, 8)


def _tuple_token(single: bytes, double: bytes) -> re.Pattern[bytes]:
    return re.compile(
        rb"([^()'\",;]++)"  # PLAIN: numbers, keywords, operators, blanks (never a string's quote)
        rb"|(" + single + b"|" + double + rb")"  # STRING: a whole literal, escapes included
        rb"|(\()|(\))|(,)|(;)"
        rb"|(['\"])",  # OPEN_STRING: a quote whose string does not end in the buffer
        re.S,
    )


_TUPLE_TOKENS = {flavor: _tuple_token(*strings) for flavor, strings in _STRINGS.items()}

# One value of a tuple and the blanks around it: ``m.lastindex`` is the kind. The word is
# tidb-lightning's ``unquoted`` token (anything up to a blank, quote, parenthesis, separator, ``/``
# or ``*``); its CONVERT is the ``convert(`` ... ``using utf8mb4)`` pair around one string.
V_STRING, V_CONVERT, V_BINARY, V_WORD = 1, 4, 5, 6
_BLANK = rb"[ \t\r\n]*+"


def _value_token(single: bytes, double: bytes) -> re.Pattern[bytes]:
    string = single + b"|" + double
    return re.compile(
        _BLANK + rb"(?:"
        rb"(" + string + rb")"
        rb"|((?i:CONVERT)\(" + _BLANK + rb")(" + string + rb")(" + _BLANK + rb"(?i:USING)[ \t\r\n]++(?i:utf8mb4)"
        + _BLANK + rb"\))"
        rb"|([xX]'[0-9a-fA-F]*+'|[bB]'[01]*+')"
        rb"|([^ \t\r\n,;()'\"`/*]++)"
        rb")" + _BLANK,
        re.S,
    )


_VALUE_TOKENS = {flavor: _value_token(*strings) for flavor, strings in _STRINGS.items()}


def _verbatim_row(single: bytes, double: bytes) -> re.Pattern[bytes]:
    """A whole tuple of values that go as they are (no word): one match instead of a loop per value."""
    string = single + b"|" + double
    value = (_BLANK + rb"(?:" + string + rb"|[-+]?(?:[0-9]++(?:\.[0-9]*+)?|\.[0-9]++)(?:[eE][-+]?[0-9]++)?"
             rb"|(?i:NULL|TRUE|FALSE)(?![^ \t\r\n,)])|0x[0-9a-fA-F]++|0b[01]++|[xX]'[0-9a-fA-F]*+'|[bB]'[01]*+'"
             rb"|(?i:CONVERT)\(" + _BLANK + rb"(?:" + string + rb")" + _BLANK + rb"(?i:USING)[ \t\r\n]++(?i:utf8mb4)"
             + _BLANK + rb"\))" + _BLANK)
    return re.compile(rb"\(" + value + rb"(?:," + value + rb")*+\)", re.S)


_VERBATIM_ROWS = {flavor: _verbatim_row(*strings) for flavor, strings in _STRINGS.items()}
# Words the server reads as the same literal tidb-lightning makes of them: sent as they are.
_LITERAL_WORD = re.compile(
    rb"(?i:NULL|TRUE|FALSE)|[-+]?(?:[0-9]++(?:\.[0-9]*+)?|\.[0-9]++)(?:[eE][-+]?[0-9]++)?|0x[0-9a-fA-F]++|0b[01]++"
)
# Backslash sequences of a backslash-escaped string (MySQL's table; ``\%`` and ``\_`` keep the backslash).
_ESCAPES = {b"0": b"\x00", b"b": b"\b", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"Z": b"\x1a", b"%": b"\\%",
            b"_": b"\\_"}
_ESCAPE = {b"'": re.compile(rb"\\(.)|''", re.S), b'"': re.compile(rb'\\(.)|""', re.S)}
_ONLY_LITERALS = ("only literals are accepted in a row tuple: NULL, TRUE/FALSE, numbers, strings, hex/bit literals, "
                  "CONVERT(<string> USING utf8mb4) and words taken as strings")

# _BLANKS and _SPACE match the empty string, so their match() is never None (hence the type ignores).
_BLANKS = re.compile(rb"[ \t\r\n]*+")

# --- statements -----------------------------------------------------------------------------------
_SPACE = re.compile(
    rb"(?:\s++"
    rb"|/\*(?:[^*]++|\*(?!/))*+\*/"  # /* */ and /*!40101 ... */ (versioned comments are skipped)
    rb"|(?:--|\#)[^\n]*+(?:\n|\Z)"  # -- (tidb-lightning's: no blank needed after it) and # line comments
    rb")*+",
    re.S,
)
_NAME = rb"(?:`(?:[^`]|``)++`|\"(?:[^\"]|\"\")++\"|[\w$\x80-\xff]++)"
_SP = _SPACE.pattern  # blanks and comments
_GAP = rb"(?:\s|(?=/\*|--\s|\#))" + _SP  # at least one blank or comment
_HEADER = re.compile(
    rb"(?:INSERT|REPLACE)(?:" + _GAP + rb"(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE))*+" + _GAP
    + rb"(?:INTO" + _GAP + rb")?" + _NAME + rb"(?:" + _SP + rb"\." + _SP + _NAME + rb")?" + _SP
    + rb"(?:\(((?:`(?:[^`]|``)*+`|\"(?:[^\"]|\"\")*+\"|[^)`\"])*+)\)" + _SP + rb")?VALUES?" + _SP + rb"(?=\()",
    re.I | re.S,
)
_INSERT_VERB = re.compile(rb"(?:INSERT|REPLACE)\b", re.I)
_SKIPPED_VERB = re.compile(rb"(?:SET|LOCK\s++TABLES?|UNLOCK\s++TABLES?)\b", re.I)
# What tidb-lightning's lexer reads as a literal, not as a word (so not as a table name).
_LITERAL_TOKEN = re.compile(rb"(?i:NULL|TRUE|FALSE)|-?[0-9]++|0x[0-9a-fA-F]++|0b[01]++")
# The bare words of a noise statement (group 1; quoted names and comments match with it empty).
_NOISE_WORD = re.compile(
    rb"\"(?:[^\"\\]|\\.|\"\")*+\"|`(?:[^`]|``)*+`|/\*(?:[^*]++|\*(?!/))*+\*/|(?:--|\#)[^\n]*+|([^\s,;()'\"`/*]++)", re.S
)
_SKIPPED_STATEMENT = re.compile(rb"(?:[^;'\"`]++|" + _STR_SINGLE + b"|" + _STR_DOUBLE + rb"|`(?:[^`]|``)*+`)*+;", re.S)
# A statement of words only (BEGIN; COMMIT; START TRANSACTION;): noise to tidb-lightning's lexer.
_NOISE_STATEMENT = re.compile(
    rb"(?:[^\s,;()'\"`/*]++|" + _STR_DOUBLE + rb"|`(?:[^`]|``)*+`)(?:" + _SPACE.pattern
    + rb"(?:[^\s,;()'\"`/*]++|" + _STR_DOUBLE + rb"|`(?:[^`]|``)*+`))*+" + _SPACE.pattern + rb";",
    re.S,
)
_COLUMN_NAME = re.compile(rb"\s*+(?:`((?:[^`]|``)*+)`|\"((?:[^\"]|\"\")*+)\"|([^\s,()'\"`/*]++))\s*+(?:,|\Z)")
_SET_NAMES = re.compile(rb"\bSET\s++NAMES\s++['\"`]?([\w]+)", re.I)
_SET_TIME_ZONE = re.compile(rb"\bSET\s++(?:SESSION\s++|@@(?:SESSION\.)?)?TIME_ZONE\s*+=\s*+'([^'\\]{1,64})'", re.I)
_SET_SQL_MODE = re.compile(rb"(?<![@\w])SQL_MODE\s*+=\s*+(['\"])([^'\"]*+)\1", re.I)
_FIRST_INSERT = re.compile(rb"\b(?:INSERT|REPLACE)\b", re.I)
# The sql_mode names that make "..." an identifier: ANSI_QUOTES and the combinations holding it.
ANSI_QUOTES_MODES = ("ANSI_QUOTES", "ANSI", "DB2", "MAXDB", "MSSQL", "ORACLE", "POSTGRESQL")

# Enough look-ahead to classify a statement or a comment start without reading more.
_MIN_AHEAD = 64
# A statement header (verb, table, column list) longer than this is not a dump we can read.
_MAX_HEADER = 16 << 20
_UNTERMINATED_STRING = "unterminated string in row tuple (row longer than {limit} bytes)"
_TOO_LONG = "row tuple longer than {limit} bytes"
_NEED_MORE = -1

# --- fast path ------------------------------------------------------------------------------------
_STEP = len(SEGMENT_SEPARATOR)
_BOUNDARY = SEGMENT_SEPARATOR + b"("
# A proved body is rows of literals only: numbers as tidb-lightning's lexer reads them, ``NULL``
# and strings (a doubled quote inside; no backslash, no line break), one tuple per line, ``,\n``
# between them. Numbers are read strictly (no ``1..2``, ``1e5e5`` or lone ``.``), so the fast path
# sends exactly what the careful path would; anything else (words, blanks, comments, operators, empty
# values, escapes) is for the careful path.
_NUMBER = rb"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"


def _literals_only(quote: bytes) -> LinearPattern:
    text = b"[^" + quote + rb"\\\n]*"
    string = quote + text + quote + b"(?:" + quote + text + quote + b")*"
    value = b"(?:" + string + b"|" + _NUMBER + b"|NULL)"
    row = rb"\(" + value + b"(?:," + value + rb")*\)"
    return compile_linear(row + rb"(?:,\n" + row + b")*")


_LITERALS_ONLY = {quote: _literals_only(quote) for quote in (b"'", b'"')}


class FastRun(NamedTuple):
    """What :func:`fast_rows` found at ``pos``: ``rows`` whole rows in ``buf[pos:end]``, joined by
    ``,\\n``. When ``rows`` is 0, nothing is proved and ``careful_until`` says up to which buffer
    index the careful path should read before the fast path is worth trying again."""

    end: int
    rows: int
    statement_ends: bool
    """``buf[end]`` is the statement's ``;`` (else it is the ``,\\n`` before the next row)."""
    careful_until: int
    """After the run, the buffer index up to which the careful path reads."""
    full: bool = False
    """The batch is complete: the run took ``max_rows`` rows, or the next row, alone on its line,
    would break ``max_bytes``. (Otherwise the careful path looks at the next row.)"""


def _plain_rows(body: bytes) -> int:
    """The number of rows in ``body`` when each of its lines is provably one whole row, else 0.

    One pass of RE2 (:data:`_LITERALS_ONLY`) proves it: its strings are in one quote kind (``"``
    if the body holds one anywhere, else ``'``) and hold no line break, so every line is one tuple
    and the rows are the lines.
    """
    quote = b'"' if b'"' in body else b"'"
    return body.count(b"\n") + 1 if _LITERALS_ONLY[quote].fullmatch(body) else 0


def fast_rows(buf: bytes, pos: int, max_bytes: int, max_rows: int) -> FastRun:
    """The fast path: the greedy batch of rows at ``buf[pos]`` (inside a VALUES list), if provable.

    Takes the longest run of whole rows whose lengths add up to at most ``max_bytes`` (at most
    ``max_rows`` of them) -- the cut the careful path makes row by row -- ending either before a
    ``,\\n(`` or at the statement's ``);``.
    A first row larger than ``max_bytes`` gives ``rows`` 0 and ``careful_until`` ``pos``.
    """
    nothing = FastRun(pos, 0, False, pos)
    if buf[pos : pos + 1] != b"(":
        return nothing._replace(careful_until=pos + 1)
    # rows' bytes up to x = (x - pos) - step * newlines(pos, x): grow x to the largest that fits.
    reach = pos + max_bytes
    newlines = buf.count(b"\n", pos, reach)
    while True:
        grown = min(pos + max_bytes + _STEP * newlines, len(buf))
        if grown <= reach:
            break
        newlines += buf.count(b"\n", reach, grown)
        reach = grown
    statement_end = buf.find(b");", pos, reach + 1)
    if statement_end >= 0:
        body_end, ends = statement_end + 1, True
    else:
        body_end, ends = buf.rfind(_BOUNDARY, pos, reach + _STEP + 1), False
        if body_end <= pos:
            return nothing
    body = buf[pos:body_end]
    count = _plain_rows(body)
    if not count:
        # Often one odd row (an escape, a backtick) spoils a stretch: prove the rows before it.
        odd = min((i for i in map(body.find, (b"\\", b"`", b"'" if body.find(b'"') >= 0 else b'"')) if i >= 0),
                  default=-1)
        prefix_end = body.rfind(_BOUNDARY, 0, odd) if odd > 0 else -1
        count = _plain_rows(body[:prefix_end]) if prefix_end > 0 else 0
        line_end = body.find(b"\n", odd) if odd >= 0 else -1
        careful_until = pos + line_end if line_end >= 0 else body_end
        if not count:
            return nothing._replace(careful_until=careful_until)
        if count <= max_rows:
            return FastRun(pos + prefix_end, count, False, careful_until)
    if count > max_rows:
        kept = buf[pos:body_end].split(SEGMENT_SEPARATOR, max_rows)
        kept.pop()
        return FastRun(pos + sum(map(len, kept)) + _STEP * (max_rows - 1), max_rows, False, pos, True)
    if ends:
        return FastRun(body_end, count, True, body_end)
    # The batch is full if the next row, proved alone on its line, does not fit.
    following = body_end + _STEP
    line_end = buf.find(b"\n", following, following + max_bytes + 2)
    full = (
        line_end > following
        and buf[line_end - 1] in b",;"
        and len(body) - _STEP * (count - 1) + line_end - 1 - following > max_bytes
        and _plain_rows(buf[following : line_end - 1]) == 1
    )
    return FastRun(body_end, count, False, body_end, full)


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


def sniff_no_backslash_escapes(head: bytes) -> bool:
    """Whether the ``SET SQL_MODE=...`` that precedes the first INSERT in ``head`` has
    ``NO_BACKSLASH_ESCAPES``: the dump's strings were then written without backslash escapes.

    mysqldump writes ``/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='...' */``; mydumper and
    Dumpling set no mode, and their strings use backslash escapes.
    """
    first = _FIRST_INSERT.search(head)
    modes = [m.group(2) for m in _SET_SQL_MODE.finditer(head, 0, first.start() if first else len(head))]
    return bool(modes) and b"NO_BACKSLASH_ESCAPES" in modes[-1].upper()


def _parse_columns(raw: bytes, path: str, offset: int) -> tuple[str, ...]:
    """The names of a statement's column list: quoted or bare identifiers, as tidb-lightning reads them
    (a number or a string there is an error)."""
    names = []
    i = 0
    while i < len(raw):
        m = _COLUMN_NAME.match(raw, i)
        bare = m.group(3) if m is not None else None
        if m is None or (bare is not None and (_LITERAL_TOKEN.fullmatch(bare) or bare.lower() == b"values")):
            raise SourceError(f"malformed column list {raw[:60]!r}", path=path, offset=offset)
        if bare is not None:
            name = bare
        elif m.group(1) is not None:
            name = m.group(1).replace(b"``", b"`")
        else:
            name = m.group(2).replace(b'""', b'"')
        try:
            names.append(name.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise SourceError("column name is not valid UTF-8", path=path, offset=offset) from exc
        i = m.end()
    return tuple(names)


class _Batch:
    """Rows gathered for one batch, as the pieces of the dump they were read from (see :data:`.rows.Piece`)."""

    __slots__ = ("pieces", "count", "nbytes", "proved")

    def __init__(self) -> None:
        self.pieces: list[Piece] = []
        self.count = 0
        self.nbytes = 0
        self.proved = True  # every piece came from the fast path

    def __len__(self) -> int:
        return self.count

    def add_segment(self, segment: bytes, offset: int, count: int) -> None:
        self.pieces.append((segment, offset, count))
        self.count += count
        self.nbytes += len(segment) - _STEP * (count - 1)

    def add_row(self, row: bytes, offset: int) -> None:
        self.pieces.append((row, offset, 1))
        self.count += 1
        self.nbytes += len(row)
        self.proved = False

    def build(self, columns: tuple[str, ...] | None, end: ReadPosition) -> RowBatch:
        return RowBatch.from_pieces(columns, self.pieces, end, proved=self.proved)


class SQLReader(StreamWindow):
    """Reads one chunk of a SQL data file as :class:`RowBatch` es.

    The stream must already be positioned at ``resume.offset`` (or ``start``); ``end`` is the
    chunk end: statements starting before it belong to the chunk and are read to their ``;``.
    A row tuple, comment or skipped statement longer than ``max_record_bytes`` (an unterminated
    string, typically) raises :class:`SourceError` at its start offset instead of reading the rest
    of the file into memory; the importer passes the statement size limit.

    ``fast=False`` switches the fast path off (tests compare both paths on the same input); the
    output is the same either way.

    ``no_backslash_escapes`` is the session's: whether its ``sql_mode`` has ``NO_BACKSLASH_ESCAPES``.
    ``dump_no_backslash_escapes`` says how the dump wrote its strings (see
    :func:`sniff_no_backslash_escapes`). When they differ, strings with a backslash are re-encoded.
    ``ansi_quotes``: the session's ``sql_mode`` has ``ANSI_QUOTES``, where ``"..."`` names a column;
    the dump's ``"..."`` strings (mydumper's) are then sent in single quotes.
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
        fast: bool = True,
        no_backslash_escapes: bool = False,
        dump_no_backslash_escapes: bool = False,
        ansi_quotes: bool = False,
    ) -> None:
        super().__init__(stream, path=path, start=resume.offset if resume else start, block_size=block_size,
                         max_record=max_record_bytes)
        self._end = end
        self._done = False
        self._in_values = bool(resume and resume.in_values)
        # The columns of the last statement: rows after its ';' are still its rows (tidb-lightning's lexer).
        self._columns = resume.columns if resume else None
        self._tuple_token = _TUPLE_TOKENS[dump_no_backslash_escapes]
        self._value_token = _VALUE_TOKENS[dump_no_backslash_escapes]
        self._verbatim_row = _VERBATIM_ROWS[dump_no_backslash_escapes]
        self._session_nbe = no_backslash_escapes
        self._reencode = no_backslash_escapes != dump_no_backslash_escapes
        self._dump_nbe = dump_no_backslash_escapes
        self._ansi_quotes = ansi_quotes
        self._column_cache: dict[bytes | None, tuple[str, ...] | None] = {None: None}
        # Stream offset before which the careful path reads (the fast path declined that stretch).
        self._careful_until = -1 if fast else 1 << 62

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
        """:meth:`fill` for an incomplete item starting at buffer index ``start``, unless it already
        exceeds ``max_record_bytes``: then raise ``problem`` (formatted with ``limit``) at ``start``."""
        if len(self.buf) - start > self.max_record:
            raise self.error(problem.format(limit=self.max_record), start)
        self.fill()

    # --- batches ----------------------------------------------------------------------------------
    def _read_batch(self, max_bytes: int, max_rows: int) -> RowBatch | None:
        batch = _Batch()
        columns = self._columns
        while True:
            if not self._in_values:
                header = self._next_statement()
                if header is None:
                    self._done = True
                    break
                header_columns, header_end = header
                if batch and header_columns != columns:
                    break
                columns = self._columns = header_columns
                self.pos = header_end
                self._in_values = True

            if self.base + self.pos >= self._careful_until:
                run = self._fast_run(max_bytes - batch.nbytes, max_rows - len(batch))
                if run.rows:
                    batch.add_segment(self.buf[self.pos : run.end], self.base + self.pos, run.rows)
                    self.pos = run.end + 1 if run.statement_ends else run.end + _STEP
                    self._in_values = not run.statement_ends
                    if run.full or len(batch) >= max_rows:
                        break
                    if run.statement_ends:
                        continue
                self._careful_until = self.base + run.careful_until

            row, start, after, still_in_values = self._careful_row()
            if batch and batch.nbytes + len(row) > max_bytes:
                break
            batch.add_row(row, self.base + start)
            self.pos = after
            self._in_values = still_in_values
            if len(batch) >= max_rows:
                break

        if not batch:
            return None
        end = ReadPosition(self.base + self.pos, self._columns, self._in_values)
        return batch.build(columns, end)

    def _fast_run(self, max_bytes: int, max_rows: int) -> FastRun:
        """:func:`fast_rows` at the position, with enough bytes buffered to see the greedy cut and the
        separator after it (but never more than one record may hold, so bad input still fails
        within ``max_record_bytes``)."""
        while not self.eof and len(self.buf) - self.pos < min(2 * max_bytes + 4096, self.max_record):
            self.fill()
        if max_bytes <= 0:
            return FastRun(self.pos, 0, False, self.pos)
        run = fast_rows(self.buf, self.pos, max_bytes, max_rows)
        if self._ansi_quotes and run.rows and self.buf.find(b'"', self.pos, run.end) >= 0:
            return FastRun(self.pos, 0, False, run.end)  # its "..." strings need single quotes
        return run

    def _careful_row(self) -> tuple[bytes, int, int, bool]:
        """The careful path: the row tuple at the position and the separator after it.

        Returns the row, its buffer index, the index after its separator and whether the
        statement continues. Nothing is consumed, so the caller may leave the row to the next
        batch. Refills the buffer until the row and its separator are complete.
        """
        while True:
            buf = self.buf
            p = _SPACE.match(buf, self.pos).end()  # type: ignore[union-attr]
            if not self.eof and (len(buf) - p < _MIN_AHEAD or buf.startswith(b"/*", p)):
                self._fill_for(p, "unterminated comment (more than {limit} bytes)")
                continue
            if p == len(buf):
                raise self.error("unexpected end of file: expected a row tuple after ','", p)
            if buf.startswith(b"/*", p):
                raise self.error("unterminated comment", p)
            if buf[p] != 0x28:  # "("
                raise self.error(f"expected a row tuple, found {buf[p : p + 20]!r}", p)
            end = self._lex_tuple(buf, p)
            if end == _NEED_MORE:
                continue
            q = _SPACE.match(buf, end).end()  # type: ignore[union-attr]
            if not self.eof and (len(buf) - q < 2 or buf.startswith(b"/*", q)):
                self._fill_for(p, "unterminated comment after a row tuple (more than {limit} bytes)")
                continue
            row = self._literals_only(buf[p:end], self.base + p)
            if q == len(buf):  # the last statement of the file may lack its ';'
                return row, p, q, False
            sep = buf[q]
            if sep == 0x2C:  # ","
                return row, p, _BLANKS.match(buf, q + 1).end(), True  # type: ignore[union-attr]
            if sep == 0x3B:  # ";"
                return row, p, q + 1, False
            if not self.eof and len(buf) - q < 20:  # quote the same bytes however the input was read
                self._fill_for(p, _TOO_LONG)
                continue
            raise self.error(f"expected ',' or ';' after row tuple, found {buf[q : q + 20]!r}", q)

    def _lex_tuple(self, buf: bytes, p: int) -> int:
        """The end of the tuple whose ``(`` is at ``buf[p]``, token by token; ``_NEED_MORE`` after a
        refill when the tuple runs past the buffer. A ``;`` or an unbalanced ``)`` outside strings is
        an error, so a bad row cannot swallow the rest of its statement."""
        depth = 0
        i = p
        match = self._tuple_token.match
        while True:
            m = match(buf, i)
            if m is None:  # end of buffer
                break
            kind = m.lastindex
            i = m.end()
            if kind == OPEN:
                depth += 1
            elif kind == CLOSE:
                depth -= 1
                if depth == 0:
                    return i
            elif kind == SEMICOLON:
                raise self.error("malformed row tuple (unquoted ';' or unbalanced parentheses)", p)
            elif kind == OPEN_STRING:
                if self.eof:
                    raise self.error("unterminated string in row tuple", p)
                # Nested deeper than the row itself, the likelier fault is a missing ')'.
                self._fill_for(p, _UNTERMINATED_STRING if depth == 1 else _TOO_LONG)
                return _NEED_MORE
        if self.eof:
            raise self.error("unterminated row tuple", p)
        self._fill_for(p, _TOO_LONG)
        return _NEED_MORE

    def _literals_only(self, row: bytes, offset: int) -> bytes:
        """``row`` (a whole tuple from the stream offset ``offset``) checked value by value: itself
        when every value may go as it is, else a copy with words quoted and strings re-encoded for
        the session. Anything but a literal raises a :class:`SourceError` at the value."""
        if (self._verbatim_row.fullmatch(row) and not (self._reencode and b"\\" in row)
                and not (self._ansi_quotes and b'"' in row)):
            return row
        match = self._value_token.match
        pieces: list[bytes] = []
        copied = 0  # row[copied:] is not in pieces yet
        i, last = 1, len(row) - 1
        while True:
            m = match(row, i)
            kind = m.lastindex if m is not None else None
            if kind is None:
                raise self._refused(row, i, offset)
            assert m is not None
            start, stop = (m.start(V_CONVERT - 2), m.end(kind)) if kind == V_CONVERT else m.span(kind)
            new: bytes | None = None
            if kind == V_STRING:
                new = self._session_string(m.group(1))
            elif kind == V_CONVERT:
                inner = self._session_string(m.group(3))
                if inner is not None:
                    new = m.group(2) + inner + m.group(4)
            elif kind == V_WORD:
                word = m.group(V_WORD)
                if word.startswith(b"--") or word.lower() == b"values":
                    raise self._refused(row, start, offset)
                if _LITERAL_WORD.fullmatch(word) is None:
                    new = string_literal(word, no_backslash_escapes=self._session_nbe)
            if new is not None:
                pieces += (row[copied:start], new)
                copied = stop
            i = m.end()
            if i == last:
                break
            if row[i] != 0x2C:  # ","
                raise self._refused(row, i, offset, after=start)
            i += 1
        if not pieces:
            return row
        pieces.append(row[copied:])
        return b"".join(pieces)

    def _session_string(self, literal: bytes) -> bytes | None:
        """A string literal of the dump re-encoded for the session, or None when it reads the same there."""
        if not (self._reencode and b"\\" in literal) and not (self._ansi_quotes and literal[:1] == b'"'):
            return None
        quote, text = literal[:1], literal[1:-1]
        if self._dump_nbe or b"\\" not in literal:
            value = text.replace(quote + quote, quote)
        else:
            value = _ESCAPE[quote].sub(lambda m: _ESCAPES.get(m[1], m[1]) if m[1] is not None else quote, text)
        return string_literal(value, no_backslash_escapes=self._session_nbe)

    def _refused(self, row: bytes, i: int, offset: int, after: int | None = None) -> SourceError:
        """The error for what stands at ``row[i]`` (after blanks): where a value should be or, with
        ``after`` (the previous value's start, where the error points), where ``,`` or ``)`` should be."""
        i = _BLANKS.match(row, i).end()  # type: ignore[union-attr]
        if row.startswith((b"/*", b"--", b"#"), i):
            what = "a comment"
        elif row.startswith(b"(", i):
            what = "a function call" if after is not None else "an expression in parentheses (a sub-query?)"
        elif row.startswith(b"`", i):
            what = "an identifier"
        elif after is not None:
            what = "an expression or a charset introducer"
        elif row.startswith((b",", b")"), i):
            what = "a missing value"
        else:
            what = "an operator"
        at = i if after is None else after
        return SourceError(f"{what} in a row tuple at {row[at : at + 24]!r}: {_ONLY_LITERALS}",
                           path=self.path, offset=offset + at)

    def _next_statement(self) -> tuple[tuple[str, ...] | None, int] | None:
        """Skip comments and ignorable statements up to the next rows of the chunk.

        Rows follow an INSERT/REPLACE header, or (as tidb-lightning reads a file) a ``;`` that ends
        rows: those are more rows of the same columns. A ``SET``/``LOCK``/``UNLOCK`` statement or a
        statement of words only (``BEGIN``, ``COMMIT``) is skipped and ends the columns' reach.
        Returns the column list and the buffer index of the first tuple; leaves the position at the
        statement start, so the caller can end a batch before a different column list. Returns
        ``None`` at the end of the chunk or file.
        """
        while True:
            buf = self.buf
            p = _SPACE.match(buf, self.pos).end()  # type: ignore[union-attr]
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
            if buf[p] in b";,":  # empty statement; tidb-lightning's lexer skips separators
                self.pos = p + 1
                continue
            if buf[p] == 0x28:  # "(": more rows after a ';'
                return self._columns, p
            m = _HEADER.match(buf, p)
            if m is not None:
                raw = m.group(1)
                columns = self._column_cache.get(raw)
                if columns is None and raw is not None:
                    columns = self._column_cache[raw] = _parse_columns(raw, self.path, self.base + p)
                return columns, m.end()
            if _INSERT_VERB.match(buf, p):
                if not self.eof and len(buf) - p < _MAX_HEADER:
                    self.fill()
                    continue
                raise self.error("malformed INSERT statement", p)
            skipped = _SKIPPED_STATEMENT if _SKIPPED_VERB.match(buf, p) else _NOISE_STATEMENT
            s = skipped.match(buf, p)
            if s is not None and skipped is _NOISE_STATEMENT and any(
                    w and _LITERAL_TOKEN.fullmatch(w) for w in _NOISE_WORD.findall(buf, p, s.end())):
                s = None  # a literal where tidb-lightning's lexer expects a table name
            if s is not None and (s.end() < len(buf) or self.eof):
                self.pos = s.end()
                self._columns = None
                continue
            if s is None and skipped is _SKIPPED_STATEMENT and self.eof:
                self.pos = len(buf)
                continue
            if not self.eof and len(buf) - p <= self.max_record:
                self._fill_for(p, "statement longer than {limit} bytes")
                continue
            if skipped is _SKIPPED_STATEMENT:
                self._fill_for(p, "statement longer than {limit} bytes")
            raise self.error(f"unexpected statement {buf[p : p + 30]!r}", p)
