"""Refresh mode ``swap``: load every table into a shadow table beside it, then swap them all in at once.

A scheduled full refresh must neither leave rows that the source deleted nor show readers a
half-loaded table. So, with ``[refresh] mode = "swap"``, each target table is loaded into a shadow
table (``<table>__new_<hash>``, the hash of the task id and the table, so a retry of the task finds
its own shadow again and nothing else can have that name), with the engine's usual checkpoints and
error records. The checkpoint keeps the live table's key; only the table the rows go to changes.
When every table is loaded and verified, one ``RENAME TABLE live TO old, shadow TO live, ...``
replaces them all: the three servers rename several tables atomically, so readers see yesterday's
tables or today's, never a mix, and a crash leaves one state or the other.

Which state a rerun is in is read off the server: the checkpoint remembers the shadow's identity
(its table id), and a rename keeps the id. A shadow with that id: the swap is still to do. No
shadow and a live table with that id: the swap happened, only the cleanup (old generations) and
the views remain.

Verification before the swap compares each shadow's ``COUNT(*)`` with the rows the checkpoint
says were written (duplicates that REPLACE counted this run may make it smaller, never larger), and
refuses an empty shadow for a live table that has rows unless ``allow-empty`` is set: a truncated
dump must not wipe a table. Foreign keys and triggers on a swapped table would follow the old
table through the rename, so the swap refuses them up front (see docs/refresh.md).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, replace
from typing import Any

import pymysql

from ..checkpoints import CheckpointStore
from ..checkpoints.model import TaskCheckpoint
from ..common.dberrors import describe
from ..common.failpoint import fault_point
from ..common.quoting import quote_table
from ..config.charsets import Charset
from ..config.model import RefreshSection, TaskConfig
from ..errors import ImportFailed, SchemaError
from ..mydump.dump_metadata import dump_row_counts
from ..mydump.storage import ObjectStorage
from .plan import Plan, TableJob
from .stats import RunStats
from .target_schema import _text, create_table, table_exists, table_identity

_MAX_NAME = 64  # MySQL, MariaDB and TiDB identifiers
_STAMP = "%Y%m%d%H%M%S"
_STAMP_DIGITS = "YYYYmmddHHMMSS"
_KEY = re.compile(r"^`((?:[^`]|``)*)`\.`((?:[^`]|``)*)`$")


def _digest(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()


def _with_suffix(table: str, suffix: str) -> str:
    """``table`` cut so that ``table + suffix`` fits the identifier limit."""
    return table[:_MAX_NAME - len(suffix)] + suffix


def shadow_name(task_id: str, key: str, table: str) -> str:
    """The shadow of the live table ``key`` (```db`.`tbl```) for ``task_id``: stable across retries, unique."""
    return _with_suffix(table, f"__new_{_digest(task_id, key)[:8]}")


def shadow_key(task_id: str, key: str) -> str:
    """The quoted ```db`.`shadow``` of a checkpoint's table key (for ``--checkpoint-error-destroy``)."""
    match = _KEY.match(key)
    if match is None:
        raise ValueError(f"not a quoted table key: {key!r}")
    schema, table = (part.replace("``", "`") for part in match.groups())
    return quote_table(schema, shadow_name(task_id, key, table))


def old_name(key: str, table: str, stamp: str) -> str:
    """The dated name a replaced table keeps (``keep-old``): the stamp sorts, the hash ties it to ``key``."""
    return f"{_old_head(table)}__old{stamp}_{_digest(key)[:6]}"


def _old_head(table: str) -> str:
    return table[:_MAX_NAME - len("__old") - len(_STAMP_DIGITS) - len("_") - 6]


def _old_pattern(key: str, table: str) -> re.Pattern[str]:
    return re.compile(f"^{re.escape(_old_head(table))}__old(\\d{{14}})_{_digest(key)[:6]}$")


@dataclass(frozen=True)
class SwapTarget:
    key: str  # the live table, `db`.`tbl`: the checkpoint's key
    schema: str
    live: str
    shadow: str

    @property
    def live_name(self) -> str:
        return quote_table(self.schema, self.live)

    @property
    def shadow_name(self) -> str:
        return quote_table(self.schema, self.shadow)


class SwapRefresh:
    """The swap mode of one import: the plan that loads into shadows, the schema hooks and the swap step."""

    def __init__(self, settings: RefreshSection, plan: Plan, task_id: str, log: logging.Logger,
                 dump_rows: Mapping[tuple[str, str], int] | None = None) -> None:
        self.settings = settings
        self.task_id = task_id
        self.log = log
        self.targets = {job.key: SwapTarget(job.key, job.schema, job.table, shadow_name(task_id, job.key, job.table))
                        for job in plan.tables}
        self.sources = {job.key: job.schema_source for job in plan.tables}
        self.dump_rows = _rows_per_target(plan, dump_rows or {})
        # Same keys (checkpoint, statistics, error records name the live table); rows go to the shadow.
        self.plan = replace(plan, tables=tuple(replace(job, table=self.targets[job.key].shadow) for job in plan.tables))

    # -- schema step (called by TableStep) ---------------------------------------------------------

    def create_shadow(self, cur: Any, job: TableJob, *, no_schema: bool, charset: Charset = Charset.AUTO) -> None:
        """Create the shadow of a pending table: like the live table, or from the dump when there is none.

        A pending table has no rows counted anywhere, so a shadow left by a crash before its status was
        saved is dropped first: the name is this task's alone.
        """
        target = self.targets[job.key]
        try:
            cur.execute(f"DROP TABLE IF EXISTS {target.shadow_name}")
            if table_exists(cur, target.schema, target.live):
                cur.execute(f"CREATE TABLE {target.shadow_name} LIKE {target.live_name}")
                fault_point("schema-created")
                return
        except pymysql.err.MySQLError as exc:
            raise SchemaError(f"creating the shadow table {target.shadow_name} failed: {describe(exc)}",
                              table=job.key) from exc
        if no_schema:
            raise SchemaError("mydumper.no-schema is set but the target table does not exist, so refresh mode "
                              "\"swap\" has no definition for its shadow table", table=job.key)
        create_table(cur, replace(self.sources[job.key], target_table=target.shadow), charset)

    def identity(self, cur: Any, job: TableJob) -> str:
        """The identity of the table the rows went to: the shadow, or the live table once the swap happened."""
        target = self.targets[job.key]
        return table_identity(cur, target.schema, target.shadow) or table_identity(cur, target.schema, target.live)

    def check_constraints(self, cur: Any) -> None:
        """Refuse foreign keys and triggers on the refreshed tables: a rename takes them to the old table."""
        if not self.targets:
            return
        schemas = sorted({t.schema for t in self.targets.values()})
        names = {(t.schema, name) for t in self.targets.values() for name in (t.live, t.shadow)}
        marks = ", ".join(["%s"] * len(schemas))
        cur.execute(
            "SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME"
            " FROM information_schema.KEY_COLUMN_USAGE WHERE REFERENCED_TABLE_NAME IS NOT NULL"
            f" AND (TABLE_SCHEMA IN ({marks}) OR REFERENCED_TABLE_SCHEMA IN ({marks}))", schemas * 2)
        problems = sorted({f"foreign key {_text(name)} of {quote_table(_text(s), _text(t))} -> "
                           f"{quote_table(_text(rs), _text(rt))}"
                           for s, t, name, rs, rt in cur.fetchall()
                           if (_text(s), _text(t)) in names or (_text(rs), _text(rt)) in names})
        cur.execute(f"SELECT EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, TRIGGER_NAME FROM information_schema.TRIGGERS"
                    f" WHERE EVENT_OBJECT_SCHEMA IN ({marks})", schemas)
        problems += sorted(f"trigger {_text(name)} on {quote_table(_text(s), _text(t))}"
                           for s, t, name in cur.fetchall() if (_text(s), _text(t)) in names)
        if problems:
            raise SchemaError(
                f"refresh mode \"swap\" cannot keep {'; '.join(problems)}: RENAME TABLE takes them to the replaced "
                "table. Drop them (and re-create them after the import), or import with [refresh] mode = \"none\"")

    # -- swap step (called by the import once every table is done) ---------------------------------

    def swap_in(self, connect: Callable[[], pymysql.Connection], store: CheckpointStore, stats: RunStats) -> None:
        """Every table is loaded: swap the shadows in, on a short-lived admin connection (see :meth:`swap`)."""
        task = store.load(self.task_id)
        if task is None:
            raise ImportFailed(f"task {self.task_id}: its checkpoint disappeared before the swap", data_error=False)
        tables = stats.summaries(resumed=False)
        with closing(connect()) as admin, admin.cursor() as cur:
            # Rows the dump holds and the import did not write: bad rows, and duplicates INSERT IGNORE dropped.
            self.swap(cur, task, {t.table: t.conflicts for t in tables},
                      {t.table: t.skipped_rows + t.conflicts for t in tables})

    def swap(self, cur: Any, task: TaskCheckpoint, conflicts: Mapping[str, int],
             skipped: Mapping[str, int]) -> None:
        """Verify the shadows and swap them in with one RENAME, or finish a swap a crash interrupted."""
        if not self.targets:  # a dump of views only
            return
        pending = self._pending(cur, task)
        if pending:
            self.check_constraints(cur)
            self._verify(cur, task, conflicts, skipped)
            self._rename(cur)
        else:
            self.log.info("task %s: the tables were swapped in by an earlier run; finishing", self.task_id)
        self._prune(cur)

    def _pending(self, cur: Any, task: TaskCheckpoint) -> bool:
        """True if the swap is to do, False if it happened; an error if the server is in neither state."""
        states = {}
        for key, target in self.targets.items():
            saved = task.tables[key].target_id
            if saved and table_identity(cur, target.schema, target.shadow) == saved:
                states[key] = True
            elif saved and table_identity(cur, target.schema, target.live) == saved:
                states[key] = False
            else:
                raise ImportFailed(
                    f"table {key}: its shadow table {target.shadow_name} (loaded by task {self.task_id}, identity "
                    f"{saved or 'unknown'}) is neither there nor swapped in; it was dropped or replaced. Start the "
                    f"task over with tidb-lightning-py-ctl --checkpoint-remove=all", table=key, data_error=False)
        if len(set(states.values())) > 1:
            swapped = sorted(k for k, pending in states.items() if not pending)
            raise ImportFailed(f"task {self.task_id}: only some tables were swapped in ({', '.join(swapped)}): "
                               "something else renamed tables since; check the targets by hand", data_error=False)
        return next(iter(states.values()), False)

    def _verify(self, cur: Any, task: TaskCheckpoint, conflicts: Mapping[str, int],
                skipped: Mapping[str, int]) -> None:
        """Check each shadow's rows (``verify``) and that no populated table is about to be emptied."""
        written: dict[str, int] = dict.fromkeys(self.targets, 0)
        for chunk in task.chunks.values():
            written[chunk.table] += chunk.progress.rows
        for key, target in self.targets.items():
            if self.settings.verify:
                self._check_counts(cur, target, written[key], conflicts.get(key, 0), skipped.get(key, 0))
            if not self.settings.allow_empty and _is_empty(cur, target.shadow_name) \
                    and table_exists(cur, target.schema, target.live) and not _is_empty(cur, target.live_name):
                raise ImportFailed(
                    f"table {key}: the dump holds no rows for it while the live table has rows; refusing to "
                    "replace it with an empty table (a truncated dump?). The live tables are untouched. Set "
                    "[refresh] allow-empty = true if the table really is empty now", table=key)

    def _check_counts(self, cur: Any, target: SwapTarget, written: int, conflicts: int, skipped: int) -> None:
        """The shadow holds what the import wrote (less duplicates REPLACE folded); the dump, what it read."""
        cur.execute(f"SELECT COUNT(*) FROM {target.shadow_name}")
        count = int(cur.fetchone()[0])
        if not written - conflicts <= count <= written:
            raise ImportFailed(
                f"table {target.key}: verification before the swap failed: the shadow table {target.shadow_name} "
                f"has {count} rows, the import wrote {written} ({conflicts} of them duplicates this run). The live "
                "table is untouched. Find out what else wrote to the shadow table, then start over "
                "(tidb-lightning-py-ctl --checkpoint-remove=all), or set [refresh] verify = false", table=target.key)
        dumped = self.dump_rows.get(target.key)
        if dumped is not None and not written <= dumped <= written + skipped:
            raise ImportFailed(
                f"table {target.key}: verification before the swap failed: the dump's metadata file says it holds "
                f"{dumped} rows, the import wrote {written} ({skipped} bad or duplicate rows left out this run). The "
                "live table is untouched. Check the dump (an interrupted or edited dump?), or set [refresh] verify = "
                "false",
                table=target.key)

    def _rename(self, cur: Any) -> None:
        stamp = self._free_stamp(cur)
        pairs = []
        for target in self.targets.values():
            if table_exists(cur, target.schema, target.live):
                old = quote_table(target.schema, old_name(target.key, target.live, stamp))
                pairs.append(f"{target.live_name} TO {old}")
            pairs.append(f"{target.shadow_name} TO {target.live_name}")
        fault_point("swap-starting")
        try:
            cur.execute("RENAME TABLE " + ", ".join(pairs))
        except pymysql.err.MySQLError as exc:
            raise ImportFailed(f"task {self.task_id}: swapping in the loaded tables failed: {describe(exc)}; the live "
                               "tables are untouched, a rerun tries the swap again", data_error=False) from exc
        self.log.info("task %s: swapped %d table(s) in with one RENAME TABLE", self.task_id, len(self.targets))
        fault_point("swap-done")

    def _free_stamp(self, cur: Any) -> str:
        """Now, as the replaced tables' date; a second later while a name is taken (two swaps in one second)."""
        now = time.time()
        while True:
            stamp = time.strftime(_STAMP, time.gmtime(now))
            if not any(table_exists(cur, t.schema, old_name(t.key, t.live, stamp)) for t in self.targets.values()):
                return stamp
            now += 1

    def _prune(self, cur: Any) -> None:
        """Drop replaced tables beyond the ``keep-old`` newest generations of each table."""
        for target in self.targets.values():
            pattern = _old_pattern(target.key, target.live)
            cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES"
                        " WHERE TABLE_SCHEMA = %s AND TABLE_NAME LIKE %s", (target.schema, _like_prefix(target.live)))
            generations = sorted((name for name in map(_text, (row[0] for row in cur.fetchall()))
                                  if pattern.match(name)), reverse=True)
            for name in generations[self.settings.keep_old:]:
                cur.execute(f"DROP TABLE IF EXISTS {quote_table(target.schema, name)}")
                self.log.info("table %s: dropped the replaced table %s", target.key, name)


def _like_prefix(table: str) -> str:
    """A LIKE pattern for names starting with the old generations' head (the regex then decides)."""
    return re.sub(r"([\\%_])", r"\\\1", _old_head(table)) + "%"


def _is_empty(cur: Any, table: str) -> bool:
    cur.execute(f"SELECT 1 FROM {table} LIMIT 1")
    return cur.fetchone() is None


def _rows_per_target(plan: Plan, dumped: Mapping[tuple[str, str], int]) -> dict[str, int]:
    """The dump's row count of each target table: the sum over its sources, when the dump gives every one."""
    folded = {(schema.lower(), table.lower()): rows for (schema, table), rows in dumped.items()}
    counts = {}
    for job in plan.tables:
        rows = [folded.get((s.source_schema.lower(), s.source_table.lower())) for s in job.sources]
        if rows and all(n is not None for n in rows):
            counts[job.key] = sum(n for n in rows if n is not None)
    return counts


def plan_for(config: TaskConfig, plan: Plan, task_id: str, log: logging.Logger,
             storage: ObjectStorage | None = None) -> tuple[Plan, SwapRefresh | None]:
    """The plan to load (shadow tables in swap mode) and the refresh that swaps them in (None: mode none).

    ``storage`` is a remote source's object storage, where the dump's ``metadata`` is read from."""
    if config.refresh.mode != "swap":
        return plan, None
    dumped = dump_row_counts(config.mydumper.data_source_dir, storage) if config.refresh.verify else {}
    refresh = SwapRefresh(config.refresh, plan, task_id, log, dumped)
    return refresh.plan, refresh

