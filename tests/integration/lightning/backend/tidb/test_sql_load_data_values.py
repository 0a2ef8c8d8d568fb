"""Property test against the real server: a SQL batch that ``SQLRows`` lets go as LOAD DATA, and that the
server takes without a warning, stores exactly what INSERT of the same tuples stores.

Random rows of numbers (plain, signed, leading zeros, exponents), ``NULL``, strings with doubled quotes,
separators and parentheses, raw bytes, in either quote kind and either session character set; every value
in every column type, so numbers land in VARCHAR, YEAR and DATE columns too (where ``SQLRows`` must refuse).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.backend.tidb.load_data import send_stream
from airflow_provider_tidb_lightning.lightning.backend.tidb.sql_load_data import (
    SQLRows,
    number_class,
    sql_load_statement,
)
from airflow_provider_tidb_lightning.lightning.mydump.rows import ReadPosition, RowBatch
from tests.support.sql_fields import row_fields

COLUMNS = (("i", "bigint"), ("d", "decimal(40,10)"), ("f", "double"), ("s", "varchar(40)"), ("b", "varbinary(40)"),
           ("y", "year"), ("t", "date"))
DDL = ", ".join(f"`{name}` {data_type} NULL" for name, data_type in COLUMNS)


def _string(quote: bytes, charset: str) -> st.SearchStrategy[bytes]:
    other = b'"' if quote == b"'" else b"'"
    if charset == "binary":
        raw = st.binary(max_size=12).map(lambda b: b.replace(b"\\", b"").replace(b"\n", b"").replace(other, b""))
    else:
        raw = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\\\n\"'"), max_size=10).map(
            str.encode)
        raw = st.tuples(raw, st.sampled_from([b"", quote, b",", b"),", b"(", b" "])).map(lambda p: p[0] + p[1])
    return raw.map(lambda v: quote + v.replace(quote, quote + quote) + quote)


_NUMBERS = st.sampled_from([b"-0", b"007", b"1e5", b"1E-3", b".5", b"1.", b"-0.0", b"0", b"1999", b"20200101",
                            b"-12.5", b"123456789012345678901234567890.5"])


def _fitting(quote: bytes, charset: str) -> list[st.SearchStrategy[bytes]]:
    """Per column of COLUMNS, values written as mydumper writes that column's values."""
    quoted = lambda values: values.map(lambda v: quote + v + quote)  # noqa: E731
    return [
        st.integers(-(10**18) + 1, 10**18 - 1).map(lambda n: str(n).encode()),
        st.decimals(min_value=-10**12, max_value=10**12, places=6, allow_nan=False).map(
            lambda d: format(d, "f").encode()),
        st.floats(allow_nan=False, allow_infinity=False, width=64).map(lambda f: repr(f).encode()),
        _string(quote, "utf8mb4"),  # valid UTF-8, for the utf8mb4 column
        _string(quote, charset),
        quoted(st.integers(1901, 2155).map(lambda n: str(n).encode())),
        quoted(st.sampled_from([b"2020-01-31", b"1999-12-31", b"2000-02-29"])),
    ]


@st.composite
def _batches(draw: st.DrawFn) -> tuple[bytes, str, list[bytes]]:
    """Rows whose values fit their columns, NULLs, and at most one column of any value (a number in a
    VARCHAR, YEAR or DATE column, a string in a number column)."""
    quote = draw(st.sampled_from([b"'", b'"']))
    charset = draw(st.sampled_from(["binary", "utf8mb4"]))
    fitting = _fitting(quote, charset)
    wild = draw(st.sampled_from([None] * 5 + list(range(len(COLUMNS)))))
    anything = st.one_of(_NUMBERS, *fitting)
    rows = []
    for n in range(draw(st.integers(1, 6))):
        values = [str(n + 1).encode()]
        for column, fits in enumerate(fitting):
            if draw(st.integers(0, 9)) == 0:
                values.append(b"NULL")
            else:
                values.append(draw(anything if column == wild else fits))
        rows.append(b"(" + b",".join(values) + b")")
    return quote, charset, rows


def test_what_sqlrows_sends_as_load_data_stores_what_insert_stores(db_server, fresh_db):
    with db_server.connect() as setup, setup.cursor() as cur:
        for table in ("ins", "ld"):
            cur.execute(f"CREATE TABLE `{fresh_db}`.`{table}` (`id` INT PRIMARY KEY, {DDL}) DEFAULT CHARSET=utf8mb4")
    kinds = [number_class("int")] + [number_class(data_type.split("(")[0]) for _, data_type in COLUMNS]
    compared = []
    conn = db_server.connect(local_infile=True)

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_batches())
    def check(batch_of: tuple[bytes, str, list[bytes]]) -> None:
        quote, charset, rows = batch_of
        statements = {q: sql_load_statement("error", fresh_db, "ld", None, charset, q) for q in (b"'", b'"')}
        segment = b",\n".join(rows)
        batch = RowBatch.from_pieces(None, [(segment, 0, len(rows))], ReadPosition(len(segment)), proved=True)
        request = SQLRows(statements, kinds).request(batch)
        has_number_elsewhere = any(_unquoted_outside_numbers(row) for row in rows)
        if has_number_elsewhere:
            assert request is None
        if request is None:
            return
        with conn.cursor() as cur:
            cur.execute(f"DELETE FROM `{fresh_db}`.ins")
            cur.execute(f"DELETE FROM `{fresh_db}`.ld")
            conn.commit()
            cur.execute(f"SET NAMES {charset}")
            try:
                cur.execute(f"INSERT INTO `{fresh_db}`.ins VALUES ".encode() + segment)  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001 - strict mode refused a value: LOAD DATA must warn about it
                conn.rollback()
                inserted = None
            else:
                inserted = True
            outcome = send_stream(conn, *request)
            conn.commit()
            cur.execute("SET NAMES utf8mb4")
            if inserted is None:
                assert outcome.warnings > 0 or outcome.records != len(rows)
                return
            if outcome.warnings or outcome.records != len(rows):
                return  # the writer redoes this batch as INSERT
            select = "SELECT id, i, CAST(d AS CHAR), CAST(f AS CHAR), s, b, y, t FROM `{}`.`{}` ORDER BY id"
            cur.execute(select.format(fresh_db, "ins"))
            expected = cur.fetchall()
            cur.execute(select.format(fresh_db, "ld"))
            assert cur.fetchall() == expected
            compared.append(len(rows))

    try:
        check()
    finally:
        conn.close()
    assert len(compared) >= 10  # the comparison did happen, on batches LOAD DATA took


def _unquoted_outside_numbers(row: bytes) -> bool:
    """Whether an unquoted number stands in a column that is not integer, DECIMAL or DOUBLE (s, b, y, t)."""
    fields = row_fields(row)
    return any(f[:1] not in (b"'", b'"') and f != b"NULL" for f in fields[4:])

