"""A stream that counts what it hands out, for tests that prove a reader stops early."""

from __future__ import annotations

import io


class CountingStream(io.BytesIO):
    """Counts the bytes handed out, to prove a reader stopped early."""

    handed_out = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.handed_out += len(data)
        return data
