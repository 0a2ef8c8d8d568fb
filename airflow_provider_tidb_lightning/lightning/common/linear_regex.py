"""Whole-batch proofs by RE2: linear in the input, never backtracking, the GIL released while it runs.

Two proofs read every byte of every batch of a SQL dump: the reader's fast path proves a batch to
be literals only (``mydump/sql_parser.py``), and ``logical-import-method = "load-data"`` proves its
numbers fit their columns (``backend/tidb/sql_load_data.py``). Python's ``re`` reads TPC-H rows at
200-300 MB/s there (its engine steps through the alternatives of every value); RE2's DFA reads them
at about 650 MB/s, while another thread (the other writers, the chunks' readers) runs, and no input
can make it backtrack. These are regular languages with no captures, so nothing is lost.

Patterns are bytes and read as Latin-1: one byte is one character, whatever the dump's encoding.
RE2 has no possessive quantifiers (it needs none: it never backtracks).
"""

from __future__ import annotations

from typing import Protocol, cast

import re2


class PatternTooLarge(ValueError):
    """RE2 refused a pattern as too large for its memory budget (a proof for thousands of columns)."""


class LinearPattern(Protocol):
    """What the proofs use of a compiled RE2 pattern."""

    def fullmatch(self, text: bytes) -> object | None:
        """A match object when the whole of ``text`` matches, else None."""


def compile_linear(pattern: bytes) -> LinearPattern:
    """``pattern`` compiled by RE2, bytes as Latin-1 characters, no capturing groups; :class:`PatternTooLarge`
    when it does not fit RE2's default memory budget (8 MB)."""
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    options.never_capture = True
    options.log_errors = False  # a DFA out of memory (very wide tables) falls back to the NFA: slower, not wrong
    try:
        return cast(LinearPattern, re2.compile(pattern, options))
    except re2.error as exc:
        raise PatternTooLarge(f"RE2: {exc}") from None
