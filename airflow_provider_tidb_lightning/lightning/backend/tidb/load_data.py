"""``logical-import-method = "load-data"``: CSV batches sent as ``LOAD DATA LOCAL INFILE`` streams.

The server parses a LOAD DATA stream with far less CPU than the same rows as INSERT tuples, and the
client writes it with fewer bytes: a TPC-H ``.tbl`` run goes out almost as it was read. A batch is
one statement whose "file" is the batch itself, held in memory and written to the connection as
the server asks for it: no temporary file, and no file the server names is ever opened (the
connection announces LOCAL INFILE in its handshake, but PyMySQL's own handler, which would open
any path the server asks for, stays off: see ``common/connection.py``).

The stream's format is fixed, whatever the source's CSV options: fields joined by one terminator
byte (the CSV separator when it can be, else a tab), lines ending in ``\\n``, ``\\`` escaping the
terminator, a backslash, a line break and NUL, ``\\N`` for NULL, nothing enclosed. The CSV reader
still decides what each field is (quotes, escapes, NULL texts, ``trim-last-separator``);
:class:`LoadDataEncoder` only writes its answer in this format instead of as SQL tuples.

LOAD DATA **LOCAL** turns errors into warnings (the server cannot stop the client's stream): a bad
value is truncated, a duplicate is skipped. So a batch is accepted only if the server counted every
line as a record, reported no warning (with ``IGNORE``: one per skipped duplicate, nothing else)
and skipped nothing it should not have. Anything else is rolled back and the batch goes again
through the INSERT path (:mod:`.writer`), where strict mode turns the same rows into errors and
bad rows reach the error tables with their file and byte offset, exactly as without this option.

SQL dumps reach the same machinery with their own statement and stream (:mod:`.sql_load_data`): a
batch goes as LOAD DATA only where it proves it reads as INSERT would, and its redo is itself.

The batch's statement runs in the writer's transaction with the checkpoint update, so exactly-once
holds as for INSERT: on MariaDB and MySQL, and on TiDB from v7.6.0. Older TiDB commits LOAD DATA
on its own (and v4.0 and older every 20,000 rows), so a rolled-back batch would stay: the importer
falls back to INSERT there (:func:`load_data_refusal`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pymysql
from pymysql.connections import LoadLocalPacketWrapper, OKPacketWrapper  # type: ignore[attr-defined]
from pymysql.constants import COMMAND, CR

from ...common.quoting import quote_identifier, quote_table
from ...common.server_info import ServerInfo
from ...mydump.rows import LineBatch, RowBatch
from .encoder import BIT

# The name the statement gives its "file"; the server must ask for exactly this one.
STREAM_NAME = "lightning-batch"
# Server and client codes for "LOCAL INFILE is disabled" (MySQL 8, MariaDB < 10.5 / TiDB, MariaDB 10.5+,
# client side).
REFUSED_CODES = frozenset({3948, 1148, 4166, 2068})
_PACKET = 1 << 20  # bytes per protocol packet of the stream
_TAB = b"\t"
# Bytes that must not be the field terminator: the escape, the line end, and letters that follow the
# escape in LOAD DATA's own sequences (``\N`` is NULL, ``\0`` is NUL, ...).
_NOT_TERMINATORS = frozenset(b"\\\n\r\x00'\"0bnrtZN")
_RESULT = re.compile(rb"Records: (\d+)\s+Deleted: (\d+)\s+Skipped: (\d+)")
_MIN_TIDB = (7, 6)

Stream = bytes | list[bytes]
"""A LOAD DATA stream, whole or in pieces sent one after the other."""


def field_terminator(separator: str) -> bytes:
    """The stream's field terminator: the CSV separator when it is one plain ASCII byte, else a tab."""
    sep = separator.encode()
    if len(sep) == 1 and sep[0] < 0x80 and sep[0] not in _NOT_TERMINATORS:
        return sep
    return _TAB


def usable_for(column_kinds: Sequence[str] | None) -> bool:
    """Whether a table's rows can go as LOAD DATA: not with BIT columns, which LOAD DATA fills with the
    text's bytes (``5`` becomes ``b'00110101'``) where INSERT writes the number."""
    return column_kinds is not None and BIT not in column_kinds


class LoadDataEncoder:
    """The CSV reader's encoder (a :class:`~..mydump.rows.TupleEncoder`) for LOAD DATA streams: one line
    per record, without its ``\\n``, in the format the module docstring describes."""

    def __init__(self, column_kinds: Sequence[str] | None, terminator: bytes) -> None:
        self.column_kinds = list(column_kinds) if column_kinds is not None else None
        self.terminator = terminator
        self._escaped_terminator = b"\\" + terminator
        self.line_rows = True
        """A line never holds a raw ``\\n`` (it is escaped): the reader's batches stay joined as the stream."""

    def encode(self, fields: list[bytes | None]) -> bytes:
        """One record: each field escaped, ``\\N`` for NULL."""
        return self.terminator.join(map(self._field, fields))

    def _field(self, value: bytes | None) -> bytes:
        if value is None:
            return b"\\N"
        if b"\\" in value:
            value = value.replace(b"\\", b"\\\\")
        if self.terminator in value:
            value = value.replace(self.terminator, self._escaped_terminator)
        if b"\n" in value:
            value = value.replace(b"\n", b"\\n")
        if b"\x00" in value:
            value = value.replace(b"\x00", b"\\0")
        return value

    def encode_block(
        self,
        text: bytes,
        sep: bytes,
        *,
        enclosed: bytes = b"",
        null: bytes = b"",
        stand_in: bytes = b"",
        nulls: tuple[bytes, ...] = (),
    ) -> bytes | None:
        """A run of plain records (see :meth:`~.encoder.RowEncoder.encode_block` for what the reader
        promises about ``text``) as stream lines, each followed by ``\\n``, or ``None`` to go record by
        record.

        With the separator as terminator, an unquoted run *is* the stream, returned as it is (the
        reader relies on getting ``text`` itself back to know each line kept its length): only a
        separator hidden in a field (``stand_in``) needs its escape. A quoted run loses its quotes,
        and the separators inside fields are escaped.
        """
        term = self.terminator
        if sep != term or b"\x00" in text:
            return None
        if b"\\" in text and not (null == b"\\N" and text.count(b"\\") == text.count(null)):
            return None  # a backslash is a field's escape here only as the raw NULL marker \N
        if nulls and self._has_null_text(text, sep, enclosed, nulls):
            return None
        if enclosed:
            escaped = text.replace(sep, self._escaped_terminator)
            inner = escaped[1:-2].replace(enclosed + self._escaped_terminator + enclosed, term)
            text = inner.replace(enclosed + b"\n" + enclosed, b"\n") + b"\n"
        if stand_in:
            text = text.replace(stand_in, self._escaped_terminator)
        return text

    @staticmethod
    def _has_null_text(text: bytes, sep: bytes, enclosed: bytes, nulls: tuple[bytes, ...]) -> bool:
        """Whether some field may equal a NULL text (a cautious test: a false alarm only costs speed)."""
        for value in nulls:
            if enclosed:
                if enclosed + value + enclosed in text:
                    return True
            elif value:
                if value in text:
                    return True
            elif text[:1] in (sep[:1], b"\n") or any(map(text.__contains__, (sep + sep, sep + b"\n", b"\n" + sep,
                                                                            b"\n\n"))):
                return True  # an empty field: at a line's start or end, between two separators, or alone
        return False


@dataclass(frozen=True)
class LoadDataTarget:
    """How one chunk's batches go as LOAD DATA: the statement, and how to read a batch again as INSERT
    tuples when the server does not take it whole (``redo``, the same rows and the same end)."""

    statement: bytes  # every CSV batch's (a SQL batch's comes from ``prepare``)
    redo: Callable[[RowBatch], RowBatch]
    server: str  # host:port, for the refusal message
    prepare: Callable[[RowBatch], tuple[bytes, bytes] | None] | None = None
    """SQL dumps: the statement and stream of a batch, or None for INSERT (see :mod:`.sql_load_data`)."""

    def request(self, batch: RowBatch) -> tuple[bytes, Stream] | None:
        """The statement and stream that send ``batch``, or None when it goes as INSERT."""
        if self.prepare is not None:
            return self.prepare(batch)
        return self.statement, stream_of(batch)


def load_statement(mode: str, schema: str, table: str, columns: tuple[str, ...] | None, charset: str,
                   terminator: bytes, *, no_backslash_escapes: bool = False) -> bytes:
    """``LOAD DATA LOCAL INFILE`` for one table, its duplicate mode mapped as INSERT's is: error -> none
    (LOCAL skips duplicates with a warning, which sends the batch to INSERT), replace -> ``REPLACE``,
    ignore -> ``IGNORE``. ``charset`` is the session's, a plain name the importer checked.

    The terminators are written as raw bytes inside their quotes, and the escape character as the
    session's ``sql_mode`` reads a lone backslash, so the statement means the same either way.
    """
    duplicates = {"error": "", "replace": " REPLACE", "ignore": " IGNORE"}[mode]
    column_list = f" ({','.join(quote_identifier(c) for c in columns)})" if columns else ""
    escape = "\\" if no_backslash_escapes else "\\\\"
    return (f"LOAD DATA LOCAL INFILE '{STREAM_NAME}'{duplicates} INTO TABLE {quote_table(schema, table)} "
            f"CHARACTER SET {charset} FIELDS TERMINATED BY '{terminator.decode('ascii')}' ENCLOSED BY '' "
            f"ESCAPED BY '{escape}' LINES STARTING BY '' TERMINATED BY '\n'{column_list}").encode()


@dataclass(frozen=True)
class LoadOutcome:
    """What the server said about one LOAD DATA stream."""

    affected: int
    warnings: int
    records: int | None  # None when the server's message does not say
    skipped: int
    server_status: int


def send_stream(conn: pymysql.Connection, statement: bytes, stream: Stream) -> LoadOutcome:
    """Run ``statement`` and answer the server's request for its file with ``stream`` (its pieces in turn).

    The protocol as PyMySQL speaks it, with the in-memory batch in place of a file: the server
    replies to the statement with a LOCAL INFILE request naming the file, the client sends the
    contents in packets and an empty packet, and the server answers OK (or an error, raised here).
    A request for any other name is refused with an empty stream.
    """
    c: Any = conn  # the protocol methods are PyMySQL's internals, absent from its stubs
    c._execute_command(COMMAND.COM_QUERY, statement)
    packet = c._read_packet()  # raises the server's error (LOCAL INFILE refused, no such table...)
    if not packet.is_load_local_packet():
        raise pymysql.err.OperationalError(CR.CR_COMMANDS_OUT_OF_SYNC, "expected the server to ask for the "
                                           "LOAD DATA stream")
    requested = LoadLocalPacketWrapper(packet).filename
    if requested != STREAM_NAME.encode():
        c.write_packet(b"")
        c._read_packet()
        raise pymysql.err.OperationalError(CR.CR_COMMANDS_OUT_OF_SYNC, f"the server asked for file {requested!r}, "
                                           "not the batch; refused")
    sent = 0
    for packet in _packets([stream] if isinstance(stream, bytes) else stream, c._next_seq_id):
        c._write_bytes(packet)
        sent += 1
    c._next_seq_id = (c._next_seq_id + sent) % 256
    ok = OKPacketWrapper(c._read_packet())
    c.server_status = ok.server_status  # the file checkpoint store reads whether a transaction is open
    counts = _RESULT.search(ok.message or b"")
    records, skipped = (int(counts.group(1)), int(counts.group(3))) if counts else (None, 0)
    return LoadOutcome(ok.affected_rows, ok.warning_count, records, skipped, ok.server_status)


def _packets(pieces: list[bytes], seq: int, size: int = _PACKET) -> Iterator[bytes]:
    """The stream as protocol packets of at most ``size`` bytes, numbered from ``seq``, then the empty
    packet that ends it. Each packet is built as it is sent, its bytes copied once, with its header
    (PyMySQL's ``write_packet`` would copy them again): the batch is never copied whole."""
    total = sum(map(len, pieces))
    parts: list[bytes | memoryview] = []
    room = 0
    for piece in pieces:
        view = memoryview(piece)
        while view:
            if not room:
                room = min(size, total)
                total -= room
                parts.append((room | seq << 24).to_bytes(4, "little"))  # 3-byte length, then the number
                seq = (seq + 1) % 256
            part = view[:room]
            parts.append(part)
            room -= len(part)
            view = view[len(part) :]
            if not room:
                yield b"".join(parts)
                parts = []
    yield bytes((0, 0, 0, seq))


def accepted_conflicts(mode: str, sent: int, outcome: LoadOutcome) -> int | None:
    """The batch's duplicates if the server took every row as INSERT would have, else ``None`` (redo).

    Every line must be a record; error mode allows no warning and no skipped row; replace counts
    replaced rows twice in ``affected``, as REPLACE does; ignore allows exactly one warning per
    skipped duplicate, so any other warning still sends the batch to INSERT.
    """
    if outcome.records is not None and outcome.records != sent:
        return None
    if mode == "ignore":
        skipped = sent - outcome.affected
        if skipped < 0 or outcome.warnings != skipped or (outcome.records is not None and outcome.skipped != skipped):
            return None
        return skipped
    if outcome.warnings or outcome.skipped:
        return None
    if mode == "replace":
        return outcome.affected - sent if outcome.affected >= sent else None
    return 0 if outcome.affected == sent else None


def stream_of(batch: RowBatch) -> Stream:
    """The batch's lines as a stream, each ending in ``\\n``: the CSV reader's batches already are, in pieces."""
    if isinstance(batch, LineBatch):
        return batch.texts
    return b"\n".join(batch.rows) + b"\n"


def refused_message(server: str, detail: str) -> str:
    """The one line for a server or connection that will not take LOAD DATA LOCAL INFILE."""
    return (f"the server at {server} refuses LOAD DATA LOCAL INFILE ({detail}): set local_infile = ON on the "
            "server (SET GLOBAL local_infile = 1) or use [tikv-importer] logical-import-method = \"insert\"")


def insert_fallback(server: ServerInfo) -> str | None:
    """Why batches must go as INSERT on this server although load-data was asked for, or ``None``.

    A TiDB before v7.6.0 commits LOAD DATA by itself, outside the batch's transaction, so a batch
    the server half-took could not be rolled back with its checkpoint.
    """
    if server.flavour == "tidb" and server.version_tuple[:2] < _MIN_TIDB:
        return (f"{server} commits LOAD DATA outside the batch's transaction (TiDB >= 7.6.0 does not), so "
                "logical-import-method = \"load-data\" writes INSERT statements on it")
    return None


def local_infile_off(cur: Any) -> bool:
    """Whether the server says ``local_infile`` is OFF (a server without the variable is asked nothing)."""
    try:
        cur.execute("SELECT @@local_infile")
    except pymysql.err.MySQLError:
        return False
    row = cur.fetchone()
    return row is not None and str(row[0]).upper() in ("0", "OFF")
