"""Refresh mode "swap" against the real server: today's dump replaces yesterday's whole, atomically.

A second dump that deleted, changed and added rows must leave the target equal to it (no stale
rows), while a reader polling both tables only ever sees one complete generation. Verification
refuses an empty load over a populated table, and the swap refuses what a rename would break
(foreign keys); table grants, which the server keeps by name, carry over to the new tables.
"""

from __future__ import annotations

import threading
import time

import pymysql
import pytest

from airflow_provider_tidb_lightning.lightning.errors import ImportFailed, SchemaError
from airflow_provider_tidb_lightning.lightning.importer.refresh import old_name
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.engine_helpers import task_config
from tests.support.refresh_dumps import SCHEMA, TABLES, day_one, day_two, table_names, table_rows, write_dump


def _swap_config(db_server, source, target, checkpoint=None, **refresh):
    return task_config(db_server, source, target, source_db=SCHEMA,
                       refresh={"mode": "swap", **refresh}, checkpoint=checkpoint or {},
                       tikv_importer={"logical-import-batch-size": "4KiB"},
                       lightning={"region-concurrency": 2, "task-info-schema-name": f"{target}_info"})


def _assert_equals(conn, db, rows):
    for table in TABLES:
        assert table_rows(conn, db, table) == rows[table], table


class _Reader(threading.Thread):
    """Polls both tables' counts in one statement until stopped; remembers every pair it saw."""

    def __init__(self, db_server, db):
        super().__init__(daemon=True)
        self.conn = db_server.connect(autocommit=True)
        self.db = db
        self.seen: list[tuple[int, int]] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()

    def run(self):
        sql = f"SELECT (SELECT COUNT(*) FROM `{self.db}`.`items`), (SELECT COUNT(*) FROM `{self.db}`.`events`)"
        with self.conn, self.conn.cursor() as cur:
            while not self.stop.is_set():
                try:
                    cur.execute(sql)
                    self.seen.append(tuple(int(v) for v in cur.fetchone()))
                except pymysql.err.MySQLError as exc:
                    self.errors.append(exc)
                time.sleep(0.005)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        """Until ``count`` statements have returned: the thread may be slow to get its turn on a busy machine."""
        deadline = time.monotonic() + timeout
        while len(self.seen) + len(self.errors) < count:
            assert self.is_alive() and time.monotonic() < deadline, f"the reader ran {len(self.seen)} of {count}"
            time.sleep(0.005)


def test_second_dump_replaces_the_first_exactly_and_readers_see_one_or_the_other(db_server, target, tmp_path):
    first, second = day_one(), day_two()
    one = write_dump(tmp_path / "day1", first)
    two = write_dump(tmp_path / "day2", second)
    run_import(_swap_config(db_server, one, target, **{"keep-old": 1}), task_id="day-1")
    with db_server.connect() as conn:
        _assert_equals(conn, target, first)
        assert table_names(conn, target) == sorted(TABLES)  # tables that did not exist were simply created
        with conn.cursor() as cur:  # a view of the target's own: it names the table, so it reads the new one
            cur.execute(f"CREATE VIEW `{target}`.`cheap` AS SELECT id FROM `{target}`.`items` WHERE price < 100")

    reader = _Reader(db_server, target)
    reader.start()
    try:
        reader.wait_for(1)  # it has seen the first generation
        summary = run_import(_swap_config(db_server, two, target, **{"keep-old": 1}), task_id="day-2")
        # Two more statements: the second of them started after the swap, so it saw the second generation.
        reader.wait_for(len(reader.seen) + len(reader.errors) + 2)
    finally:
        reader.stop.set()
        reader.join()

    counts = {tuple(len(first[t]) for t in TABLES), tuple(len(second[t]) for t in TABLES)}
    assert not reader.errors
    assert set(reader.seen) == counts, set(reader.seen)  # both generations seen, nothing in between
    first_pairs = reader.seen.index(tuple(len(second[t]) for t in TABLES))
    assert set(reader.seen[first_pairs:]) == {tuple(len(second[t]) for t in TABLES)}  # never back
    assert summary.total_rows == sum(len(r) for r in second.values())
    with db_server.connect() as conn:
        _assert_equals(conn, target, second)
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM `{target}`.`cheap`")
            assert cur.fetchone()[0] == sum(1 for row in second["items"] if row[2] < 100)
        left = [n for n in table_names(conn, target) if n not in (*TABLES, "cheap")]
        # keep-old = 1: yesterday's tables stay under their dated names; no shadow table is left.
        assert len(left) == 2 and all("__old" in n for n in left), left
        for table in TABLES:
            kept = next(n for n in left if n.startswith(f"{table}__old"))
            assert table_rows(conn, target, kept) == first[table]

    # A third generation: keep-old = 1 keeps only the newest replaced table of each.
    time.sleep(1.1)  # a new dated name
    run_import(_swap_config(db_server, one, target, **{"keep-old": 1}), task_id="day-3")
    with db_server.connect() as conn:
        _assert_equals(conn, target, first)
        left = [n for n in table_names(conn, target) if n not in (*TABLES, "cheap")]
        assert len(left) == 2
        for table in TABLES:
            kept = next(n for n in left if n.startswith(f"{table}__old"))
            assert table_rows(conn, target, kept) == second[table]


@pytest.mark.parametrize("checkpoint", [{"enable": False}, {"driver": "file"}])
def test_swap_works_with_every_checkpoint_store(db_server, target, tmp_path, checkpoint):
    if checkpoint.get("driver") == "file":
        checkpoint["dsn"] = str(tmp_path / "ckpt.json")
    first, second = day_one(), day_two()
    for day, rows in ((1, first), (2, second)):
        run_import(_swap_config(db_server, write_dump(tmp_path / f"day{day}", rows), target, checkpoint),
                   task_id=f"day-{day}")
    with db_server.connect() as conn:
        _assert_equals(conn, target, second)
        assert table_names(conn, target) == sorted(TABLES)


def test_views_of_the_dump_are_created_against_the_swapped_tables(db_server, target, tmp_path):
    """On a first import the tables exist only after the swap; the dump's view is created after it."""
    dump = write_dump(tmp_path / "day1", day_one())
    (dump / f"{SCHEMA}.cheap-schema-view.sql").write_text(
        "CREATE ALGORITHM=UNDEFINED DEFINER=`someone`@`%` SQL SECURITY DEFINER VIEW `cheap` AS "
        "SELECT `id` FROM `items` WHERE `price` < 100;\n")
    run_import(_swap_config(db_server, dump, target), task_id="day-1")
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{target}`.`cheap`")
        assert cur.fetchone()[0] == sum(1 for row in day_one()["items"] if row[2] < 100)


def test_an_empty_data_file_for_a_populated_table_is_refused(db_server, target, tmp_path):
    first = day_one()
    run_import(_swap_config(db_server, write_dump(tmp_path / "day1", first), target), task_id="day-1")
    truncated = write_dump(tmp_path / "day2", day_two(), empty=("items",))
    with pytest.raises(ImportFailed, match=r"`items`.*no rows.*allow-empty"):
        run_import(_swap_config(db_server, truncated, target), task_id="day-2")
    with db_server.connect() as conn:
        _assert_equals(conn, target, first)  # both live tables untouched, events too

    # Allowed on purpose: the rerun resumes (nothing to load again) and swaps.
    summary = run_import(_swap_config(db_server, truncated, target, **{"allow-empty": True}), task_id="day-2")
    assert summary.resumed and summary.total_rows == 0
    with db_server.connect() as conn:
        assert table_rows(conn, target, "items") == []
        assert table_rows(conn, target, "events") == day_two()["events"]
        assert table_names(conn, target) == sorted(TABLES)


def test_row_counts_recorded_by_the_dump_are_checked(db_server, target, tmp_path):
    """A mydumper >= 0.14 metadata file says how many rows each table had; a dump missing some is refused."""
    first, second = day_one(), day_two()
    run_import(_swap_config(db_server, write_dump(tmp_path / "day1", first), target), task_id="day-1")
    counts = {table: len(rows) for table, rows in second.items()}
    short = write_dump(tmp_path / "short", second, metadata={**counts, "items": counts["items"] + 1000})
    with pytest.raises(ImportFailed, match=rf"`items`.*metadata file says it holds {counts['items'] + 1000} rows"):
        run_import(_swap_config(db_server, short, target), task_id="short")
    with db_server.connect() as conn:
        _assert_equals(conn, target, first)

    run_import(_swap_config(db_server, write_dump(tmp_path / "day2", second, metadata=counts), target),
               task_id="day-2")
    with db_server.connect() as conn:
        _assert_equals(conn, target, second)


def test_a_foreign_key_to_a_refreshed_table_is_refused_before_loading(db_server, target, tmp_path):
    first = day_one()
    run_import(_swap_config(db_server, write_dump(tmp_path / "day1", first), target), task_id="day-1")
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{target}`.`orders` (id int PRIMARY KEY, item_id int,"
                    f" CONSTRAINT `fk_item` FOREIGN KEY (item_id) REFERENCES `{target}`.`items` (id))")
    with pytest.raises(SchemaError, match=r"foreign key fk_item of `.*`\.`orders` -> `.*`\.`items`"):
        run_import(_swap_config(db_server, write_dump(tmp_path / "day2", day_two()), target), task_id="day-2")
    with db_server.connect() as conn:
        _assert_equals(conn, target, first)


def test_a_trigger_on_a_refreshed_table_is_refused(db_server, target, tmp_path):
    """MariaDB / MySQL move a table's triggers with it on RENAME: they would go with the replaced table."""
    first = day_one()
    run_import(_swap_config(db_server, write_dump(tmp_path / "day1", first), target), task_id="day-1")
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{target}`.`audit` (id int)")
        cur.execute(f"CREATE TRIGGER `{target}`.`items_audit` AFTER INSERT ON `{target}`.`items`"
                    f" FOR EACH ROW INSERT INTO `{target}`.`audit` VALUES (NEW.id)")
    with pytest.raises(SchemaError, match=r"trigger items_audit on `.*`\.`items`"):
        run_import(_swap_config(db_server, write_dump(tmp_path / "day2", day_two()), target), task_id="day-2")
    with db_server.connect() as conn:
        _assert_equals(conn, target, first)


def test_table_grants_follow_the_name_to_the_new_table(db_server, target, tmp_path):
    """MariaDB / MySQL keep table privileges by name: after the swap they apply to the new table."""
    user = f"reader_{target[-8:]}"
    run_import(_swap_config(db_server, write_dump(tmp_path / "day1", day_one()), target), task_id="day-1")
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw-{user}'")
        cur.execute(f"GRANT SELECT ON `{target}`.`items` TO '{user}'@'%'")
    try:
        run_import(_swap_config(db_server, write_dump(tmp_path / "day2", day_two()), target), task_id="day-2")
        with pymysql.connect(host=db_server.host, port=db_server.port, user=user, password=f"pw-{user}") as conn:
            assert table_rows(conn, target, "items") == day_two()["items"]
            with pytest.raises(pymysql.err.OperationalError, match="denied"), conn.cursor() as cur:
                cur.execute(f"SELECT 1 FROM `{target}`.`events`")
    finally:
        with db_server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")


def test_names_fit_the_identifier_limit_on_the_server(db_server, target):
    """A 64-character table's shadow and dated names are valid identifiers the server accepts."""
    long = "t" * 64
    with db_server.connect() as conn, conn.cursor() as cur:
        name = old_name(f"`{target}`.`{long}`", long, "20261130000000")
        cur.execute(f"CREATE TABLE `{target}`.`{name}` (id int)")
        assert table_names(conn, target) == [name]
