"""The row counts a dump records about itself, from mydumper's ``metadata`` file (mydumper >= 0.14.1).

Since 0.14.1 mydumper writes an INI-like ``metadata`` file with one section per table::

    [`shop`.`items`]
    real_table_name=items
    rows = 3000

Older mydumper versions (plain "Started dump at" text) and Dumpling (its ``metadata`` holds binlog
positions only) record no row counts: then nothing is returned and the counts are not checked.
Only what is certain is returned: a malformed line or a section without ``rows`` is skipped.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .storage import ObjectStorage

# Names are quoted with backticks, or with double quotes when the file's [config] says
# (``quote-character = DOUBLE_QUOTE``); the quote is doubled inside a name.
_SECTION = re.compile(r'^\[(?:`((?:[^`]|``)+)`\.`((?:[^`]|``)+)`|"((?:[^"]|"")+)"\."((?:[^"]|"")+)")\]\s*$')
_ROWS = re.compile(r"^rows\s*=\s*(\d+)\s*$", re.IGNORECASE)  # 0.14.1 wrote "Rows = ", later "rows = "
_MAX_SIZE = 64 << 20  # a metadata file is small; a huge one is not mydumper's


def dump_row_counts(data_source_dir: str, storage: ObjectStorage | None = None) -> dict[tuple[str, str], int]:
    """``{(schema, table): rows}`` as the dump's ``metadata`` file records them; empty when it records none.

    ``storage`` is the object storage of a remote source (already listed), whose ``metadata`` object
    is read the same way, so a dump in a bucket is verified as one on disk."""
    if storage is not None:
        key = f"{storage.root}/metadata"
        size = storage.listed_size(key)
        if size is None or size > _MAX_SIZE:
            return {}
        with io.TextIOWrapper(storage.open(key), encoding="utf-8", errors="replace") as text:
            return parse_row_counts(text)
    path = os.path.join(data_source_dir, "metadata")
    try:
        if os.path.getsize(path) > _MAX_SIZE:
            return {}
        with open(path, encoding="utf-8", errors="replace") as stream:
            return parse_row_counts(stream)
    except OSError:
        return {}


def parse_row_counts(lines: Iterable[str]) -> dict[tuple[str, str], int]:
    """Parse an iterable of metadata lines (see the module docstring)."""
    counts: dict[tuple[str, str], int] = {}
    section: tuple[str, str] | None = None
    for line in lines:
        text = line.strip()
        if text.startswith("["):
            section = _section(text)
            continue
        rows = _ROWS.match(text)
        if section is not None and rows:
            counts[section] = int(rows.group(1))
    return counts


def _section(text: str) -> tuple[str, str] | None:
    """(schema, table) of a ``[`db`.`tbl`]`` header; None for any other section (``[config]``, ``[`db`]``)."""
    match = _SECTION.match(text)
    if match is None:
        return None
    if match.group(1) is not None:
        return match.group(1).replace("``", "`"), match.group(2).replace("``", "`")
    return match.group(3).replace('""', '"'), match.group(4).replace('""', '"')
