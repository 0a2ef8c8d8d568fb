"""A port on 127.0.0.1 where connections are refused, for tests of an unreachable server.

A port picked by binding to 0 and closing the socket is free only until someone else binds it:
another test's server, or anyone's on a shared CI machine; then the "closed" port answers.
``closed_port`` keeps its socket bound (never listening) while the test runs: connecting is refused
and no other socket can take the port.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
