"""The in-memory scheduler: largest work first, within ``table-concurrency``."""

from __future__ import annotations

import threading

from airflow_provider_tidb_lightning.lightning.checkpoints.model import ChunkProgress
from airflow_provider_tidb_lightning.lightning.importer.plan import TableJob
from airflow_provider_tidb_lightning.lightning.importer.scheduler import Scheduler, Work, chunk_weight
from airflow_provider_tidb_lightning.lightning.mydump.layout import Chunk, DataFile
from airflow_provider_tidb_lightning.lightning.mydump.rows import ReadPosition


def _file(table: str, size: int, *, compression: str | None = None, fmt: str = "csv") -> DataFile:
    return DataFile(path=f"/d/db.{table}.{fmt}", relative=f"db.{table}.{fmt}", source_schema="db", source_table=table,
                    target_schema="db", target_table=table, format=fmt, compression=compression,  # type: ignore[arg-type]
                    size=size, sort_key="")


def _job(table: str, sizes: list[int]) -> TableJob:
    """A table of one file cut into chunks of ``sizes`` bytes, in file order."""
    data = _file(table, sum(sizes))
    chunks, start = [], 0
    for index, size in enumerate(sizes):
        end = start + size if index < len(sizes) - 1 else None
        chunks.append(Chunk(data, index, start, end))
        start += size
    return TableJob(f"`db`.`{table}`", "db", table, (), tuple(chunks))


def _scheduler(jobs: list[TableJob], table_concurrency: int) -> Scheduler:
    pending = [(job, chunk, ChunkProgress(ReadPosition(chunk.start))) for job in jobs for chunk in job.chunks]
    return Scheduler(pending, table_concurrency, threading.Event())


def _drain(scheduler: Scheduler) -> list[tuple[str, int]]:
    """Hand every chunk out and finish it at once, as one writer would."""
    order = []
    while (work := scheduler.next()) is not None:
        order.append((work.job.table, work.chunk.index))
        scheduler.done(work)
    return order


def test_weights_are_source_bytes_and_whole_files_for_compressed_or_parquet() -> None:
    data = _file("t", 1000)
    assert chunk_weight(Chunk(data, 0, 0, 400)) == 400
    assert chunk_weight(Chunk(data, 1, 400, None)) == 600
    assert chunk_weight(Chunk(_file("z", 70, compression="zstd"), 0, 0, None)) == 70
    assert chunk_weight(Chunk(_file("p", 90, fmt="parquet"), 3, 300, 400)) == 90


def test_largest_table_opens_first_and_largest_chunk_goes_first() -> None:
    small, big = _job("a_small", [10, 5]), _job("b_big", [40, 40, 15])
    assert _drain(_scheduler([small, big], 1)) == [("b_big", 0), ("b_big", 1), ("b_big", 2),
                                                   ("a_small", 0), ("a_small", 1)]


def test_a_table_opens_when_the_open_ones_have_nothing_left_to_hand_out() -> None:
    jobs = [_job("a", [30, 7]), _job("b", [12, 30, 30]), _job("c", [3])]
    scheduler = _scheduler(jobs, 2)
    first, second, third = scheduler.next(), scheduler.next(), scheduler.next()
    assert [(w.job.table, w.chunk.index) for w in (first, second, third) if w] == [("b", 1), ("b", 2), ("b", 0)]
    fourth = scheduler.next()  # b is handed out, not finished: the second table opens, the largest left
    assert fourth is not None and (fourth.job.table, fourth.chunk.index) == ("a", 0)
    assert [(w.job.table, w.chunk.index) for w in (scheduler.next(),) if w] == [("a", 1)]
    for work in (first, second, third, fourth):
        assert work is not None
        scheduler.done(work)  # b finishes: c may open
    assert _drain(scheduler) == [("c", 0)]


def test_equal_chunks_keep_file_order() -> None:
    assert _drain(_scheduler([_job("t", [8, 8, 8, 8])], 4)) == [("t", 0), ("t", 1), ("t", 2), ("t", 3)]


def test_table_concurrency_holds_a_new_table_until_one_finishes() -> None:
    scheduler = _scheduler([_job("a", [50]), _job("b", [20])], 1)
    first = scheduler.next()
    assert isinstance(first, Work) and first.job.table == "a"
    got: list[Work | None] = []
    waiter = threading.Thread(target=lambda: got.append(scheduler.next()))
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive() and not got  # "b" waits: one table in flight
    scheduler.done(first)
    waiter.join(5)
    assert got and got[0] is not None and got[0].job.table == "b"
    assert scheduler.counts() == (0, 1)
