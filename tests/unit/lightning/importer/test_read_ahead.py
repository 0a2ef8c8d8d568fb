"""The read-ahead hand-over on its own: order, bounded queue, errors as raised, and its thread always joined."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.errors import ImportCancelled, SourceError
from airflow_provider_tidb_lightning.lightning.importer.read_ahead import ReadAhead


class _Source:
    """Items 0..n-1, raising ``error`` instead of item ``fail_at``; says how far it ran, and where it was closed."""

    def __init__(self, n: int, fail_at: int | None = None, error: BaseException | None = None) -> None:
        self.n, self.fail_at, self.error = n, fail_at, error
        self.produced = 0
        self.closed_in: str | None = None

    def items(self) -> Iterator[int]:
        try:
            for i in range(self.n):
                if i == self.fail_at:
                    assert self.error is not None
                    raise self.error
                self.produced = i + 1
                yield i
        finally:
            self.closed_in = threading.current_thread().name


def _consume(ahead: ReadAhead[int], stop_after: int) -> list[int]:
    seen: list[int] = []
    for item in ahead:
        seen.append(item)
        if len(seen) == stop_after:
            break
    return seen


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 12), depth=st.integers(1, 3), stop_after=st.integers(1, 14),
       fail_at=st.none() | st.integers(0, 12))
def test_the_consumer_sees_the_items_in_order_then_the_error_and_the_reader_always_ends(n, depth, stop_after,
                                                                                         fail_at):
    error = SourceError("bad row", path="db.t.sql", offset=1234)
    source = _Source(n, fail_at, error)
    name = f"test-reader-{n}-{depth}-{stop_after}-{fail_at}"
    ends = min(n, fail_at) if fail_at is not None else n
    raised: BaseException | None = None
    with ReadAhead(source.items(), depth=depth, name=name) as ahead:
        try:
            seen = _consume(ahead, stop_after)
        except SourceError as exc:
            raised, seen = exc, list(range(ends))
    assert seen == list(range(min(ends, stop_after)))
    fails = fail_at is not None and fail_at < n and stop_after > fail_at
    assert raised is (error if fails else None)  # the reader's own exception object, not a copy or a wrapper
    if raised is not None:
        assert str(raised) == "db.t.sql at byte offset 1234: bad row" and raised.offset == 1234
    assert source.produced <= len(seen) + depth + 1  # never more than depth ahead (+1 being built)
    assert source.closed_in == name  # the generator was closed, in the reader thread
    assert name not in {t.name for t in threading.enumerate()}


@pytest.mark.parametrize("error", [ImportCancelled("stopped"), KeyError("x"), SystemExit(3)])
def test_any_exception_of_the_reader_is_raised_unchanged_in_the_consumer(error):
    source = _Source(5, fail_at=2, error=error)
    with pytest.raises(type(error)) as info, ReadAhead(source.items(), depth=1, name="test-reader-any") as ahead:
        list(ahead)
    assert info.value is error


def test_a_consumer_that_fails_with_the_queue_full_stops_and_joins_the_reader():
    """The reader is blocked handing over an item nobody will take: leaving the block wakes it and joins it."""
    source = _Source(1000)
    with pytest.raises(RuntimeError, match="writer failed"), ReadAhead(source.items(), depth=2,
                                                                       name="test-reader-full") as ahead:
        assert next(ahead) == 0
        deadline = time.monotonic() + 10
        while source.produced < 4 and time.monotonic() < deadline:  # 1 taken, 2 queued, 1 waiting for room
            time.sleep(0.01)
        raise RuntimeError("writer failed")
    assert source.produced == 4
    assert source.closed_in == "test-reader-full"
    assert "test-reader-full" not in {t.name for t in threading.enumerate()}
