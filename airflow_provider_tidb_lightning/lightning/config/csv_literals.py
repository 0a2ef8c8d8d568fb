"""CSV options written as TOML literal strings (``separator = '\\t'``): taken as written, and warned about.

TOML keeps backslashes in a literal (single-quoted) string, so ``'\\t'`` is the two characters
backslash and ``t``, not a tab. tidb-lightning reads the option the same way (its CSV config has no
unescaping step; ``CSVConfig.adjust`` only checks emptiness and prefixes), so this provider keeps the
value as written too; a file separated by tabs then does not split. Because that is almost never
what the task's author meant, the loader warns, naming the key and the basic-string spelling that
means the control character.
"""

from __future__ import annotations

import logging
import re

from .model import TaskConfig

log = logging.getLogger(__name__)

_ESCAPES = {"\\t": '"\\t"', "\\n": '"\\n"', "\\r": '"\\r"', "\\0": '"\\u0000"'}
_ESCAPE = re.compile(r"\\[tnr0]")


def warn_literal_escapes(cfg: TaskConfig) -> list[str]:
    """Warn about each CSV option that holds a backslash escape as plain characters; returns the keys."""
    csv = cfg.mydumper.csv
    options = {"separator": csv.separator, "delimiter": csv.delimiter, "terminator": csv.terminator}
    options |= {f"null[{i}]": value for i, value in enumerate(csv.null) if value != "\\N"}
    warned = []
    for name, value in options.items():
        found = _ESCAPE.search(value)
        if found is None:
            continue
        key = f"mydumper.csv.{name}"
        warned.append(key)
        log.warning("%s: %s is %r, with a backslash and %r as two characters (a TOML literal string keeps "
                    "backslashes), and tidb-lightning reads it the same way; write %s in double quotes if you "
                    "meant the control character", cfg.source, key, value, found.group()[1],
                    _ESCAPES[found.group()])
    return warned
