"""Read a chunk's next batches in a thread of their own while the writer sends the current one.

Without it a writer thread reads and parses a batch, sends it and waits for the server (the rows,
the checkpoint update, COMMIT), and only then parses the next: its connection idles while the client
parses and the client idles while the server works. This is tidb-lightning's chunk restore
(``encodeLoop`` -> ``kvsCh`` -> ``deliverLoop``) with the roles placed for a connection that belongs
to one thread: the reader runs in a helper thread and hands batches through a bounded queue to the
writer, which stays in the worker thread with its connection, its checkpoint commits and its errors.

What stays true:

* **Order and exactly-once.** Batches reach the writer in the reader's order and the writer commits
  each one's end position as before; a batch read ahead but never written is simply read again on
  resume, since nothing of it was committed.
* **Bounded memory.** At most ``depth`` batches wait in the queue, plus the one the reader is
  building and the one the writer is sending.
* **Errors unchanged.** Whatever the reader raises (a :class:`~..errors.SourceError` with its file
  and offset, :class:`~..errors.ImportCancelled`, anything) is raised again, the same object, in the
  writer thread at the point where that batch would have been read.
* **No thread left behind.** Leaving the ``with`` block, normally or by any exception of the writer
  (a failed batch, a stop, a lost lease), tells the reader to stop and joins it: a reader blocked on a
  full queue wakes up and returns, one in the middle of a batch returns once it is built. The reader
  closes its iterator in its own thread (a generator must not be closed from another while it runs).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Generator, Iterator
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class _End:
    """The reader's last word: the iterator ended, or raised ``error``."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class ReadAhead(Generic[T]):
    """Iterate ``items`` in a thread named ``name``, at most ``depth`` items ahead of the consumer.

    Use as ``with ReadAhead(items, depth=1, name=...) as ahead: for item in ahead: ...``; one consumer thread.
    """

    def __init__(self, items: Iterator[T], *, depth: int, name: str) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self._items = items
        self._depth = depth
        self._queue: deque[T | _End] = deque()
        self._ready = threading.Condition()
        self._closed = False  # the consumer left: the reader stops at its next hand-over
        self._ended = False  # the consumer took the reader's last word
        self._thread = threading.Thread(target=self._read, name=name, daemon=True)

    def __enter__(self) -> ReadAhead[T]:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._ended:
            raise StopIteration
        with self._ready:
            while not self._queue:
                self._ready.wait()
            item = self._queue.popleft()
            self._ready.notify()
        if isinstance(item, _End):
            self._ended = True
            if item.error is not None:
                raise item.error
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop the reader (dropping what it read ahead) and wait for its thread to end."""
        with self._ready:
            self._closed = True
            self._queue.clear()
            self._ready.notify()
        if self._thread.ident is not None:
            self._thread.join()

    def _read(self) -> None:
        """The reader thread: the items, then the end (or the error, even one from closing the iterator)."""
        end = _End(None)
        try:
            self._hand_over()
        except BaseException as error:  # noqa: BLE001 - every error is the consumer's to raise
            end = _End(error)
        with self._ready:
            if not self._closed:
                self._queue.append(end)  # may go one past depth: it holds no rows
                self._ready.notify()

    def _hand_over(self) -> None:
        """Queue each item when there is room; return early once the consumer left."""
        try:
            for item in self._items:
                with self._ready:
                    while len(self._queue) >= self._depth and not self._closed:
                        self._ready.wait()
                    if self._closed:
                        return
                    self._queue.append(item)
                    self._ready.notify()
        finally:
            if isinstance(self._items, Generator):
                self._items.close()
