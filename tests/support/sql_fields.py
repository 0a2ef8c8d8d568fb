"""The plain field-by-field reading of a row tuple that the SQL load-data tests take as their reference."""

from __future__ import annotations


def row_fields(row: bytes) -> list[bytes]:
    """The fields of ``(..)`` as written: quoted strings whole (a doubled quote inside), the rest up to ``,``."""
    inner, fields, i = row[1:-1], [], 0
    while i <= len(inner):
        if inner[i : i + 1] in (b"'", b'"'):
            q, j = inner[i : i + 1], i + 1
            while True:
                j = inner.index(q, j)
                if inner[j + 1 : j + 2] != q:
                    break
                j += 2
            fields.append(inner[i : j + 1])
            i = j + 2
        else:
            j = inner.find(b",", i)
            j = len(inner) if j < 0 else j
            fields.append(inner[i:j])
            i = j + 1
    return fields
