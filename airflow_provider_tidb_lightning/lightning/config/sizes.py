"""Byte sizes written the way tidb-lightning's task files write them ("96KiB", "1MB", "256MiB").

tidb-lightning reads these with docker's ``units.RAMInBytes``, where every unit is binary: "1MB",
"1MiB", "1M" and "1m" all mean 1,048,576 bytes. A task file copied from tidb-lightning must mean the
same batch and region sizes here, so this parser follows that rule rather than SI units.
"""

from __future__ import annotations

import re

_UNITS: dict[str, int] = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SIZE = re.compile(r"(\d+(?:\.\d+)?) ?([kmgtp]?)(?:i?b)?", re.IGNORECASE)


def parse_byte_size(value: int | str) -> int:
    """Return ``value`` in bytes: an int is taken as is, a string may carry a binary unit.

    A fractional number is allowed with a unit ("1.5KiB" is 1536); the result is truncated to whole
    bytes, as tidb-lightning does. Raises ``ValueError`` (with a message fit for the user) otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected a byte size (an integer or a string like '96KiB'), got {value!r}")
    if isinstance(value, int):
        return value
    match = _SIZE.fullmatch(value.strip())
    if match is None:
        raise ValueError(
            f"invalid byte size {value!r}; expected a number and an optional unit, like '256MiB'"
        )
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.lower()])
