"""Turn a Loader configuration into a tidb-lightning task for the TiDB backend, and write it as TOML.

TiDB's documentation says the TiDB backend replaces Loader and gives a key-by-key translation; this
module applies that table, so ``tidb-lightning-py --from-loader-config loader.toml > task.toml`` gives a
task file that :func:`~.load.load_task_config` (and tidb-lightning itself) accepts. Loader settings
without an equivalent are reported in a warning rather than guessed at: a table filter translated
wrongly would import the wrong tables.

The TOML writer is here because the conversion is its only producer; it writes just the shape of a
task file (strings, integers, booleans, arrays of those, tables, arrays of tables) so the provider
needs no TOML-writing dependency.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli

from ..errors import ConfigError

log = logging.getLogger(__name__)

# Loader's keys that have a tidb-lightning equivalent, in the order the documentation lists them.
_TOP_LEVEL = {
    "log-level": ("lightning", "level"),
    "log-file": ("lightning", "file"),
    "pool-size": ("lightning", "region-concurrency"),
    "dir": ("mydumper", "data-source-dir"),
    "status-addr": ("lightning", "status-addr"),
}
_DB_KEYS = {"host", "port", "user", "password", "sql-mode", "max-allowed-packet"}
_ROUTE_KEYS = {
    "pattern-schema": "schema-pattern",
    "pattern-table": "table-pattern",
    "target-schema": "target-schema",
    "target-table": "target-table",
}
_DROPPED = {
    "pprof-addr": "this provider serves no profiling endpoint",
}
_TIDB_STATUS_PORT = 10080


def convert_loader_config(loader: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    """Translate a Loader configuration (a dict or the path of Loader's TOML) into a task dict.

    The result is TOML-shaped (dashed keys, nested sections) with ``[tikv-importer] backend = "tidb"``.
    Loader kept its checkpoints in the target database, so ``checkpoint-schema`` becomes a MySQL-driver
    checkpoint. Keys without an equivalent are logged in one warning and left out.
    """
    raw, label = _read_loader(loader)
    task: dict[str, Any] = {"lightning": {}, "checkpoint": {}, "tikv-importer": {"backend": "tidb"}}
    unmapped: list[str] = []
    for key, value in raw.items():
        if key in _TOP_LEVEL:
            section, name = _TOP_LEVEL[key]
            task.setdefault(section, {})[name] = _source_dir(value) if key == "dir" else value
        elif key == "checkpoint-schema":
            task["checkpoint"].update(enable=True, schema=value, driver="mysql")
        elif key == "rm-checkpoint" and isinstance(value, bool):
            task["checkpoint"]["keep-after-success"] = "remove" if value else "origin"
        elif key == "db" and isinstance(value, Mapping):
            task["tidb"] = _target(value, unmapped)
        elif key == "route-rules" and isinstance(value, list):
            task["routes"] = [
                _route(rule, f"route-rules[{i}]", unmapped, label) for i, rule in enumerate(value)
            ]
        elif key in _DROPPED:
            log.warning("%s: dropped Loader's %s: %s", label, key, _DROPPED[key])
        else:
            unmapped.append(key)
    task.setdefault("tidb", {"status-port": _TIDB_STATUS_PORT})
    if unmapped:
        log.warning(
            "%s: Loader settings with no tidb-lightning equivalent were left out: %s "
            "(to select tables, write a [mydumper] filter)",
            label,
            ", ".join(unmapped),
        )
    return {section: value for section, value in task.items() if value != {}}


def _read_loader(loader: Mapping[str, Any] | str | os.PathLike[str]) -> tuple[Mapping[str, Any], str]:
    if isinstance(loader, Mapping):
        return loader, "<dict>"
    label = os.fspath(loader)
    try:
        return tomli.loads(Path(loader).read_text(encoding="utf-8")), label
    except OSError as exc:
        raise ConfigError(
            f"cannot read the Loader configuration: {exc.strerror or exc}", source=label
        ) from None
    except (UnicodeDecodeError, tomli.TOMLDecodeError) as exc:
        raise ConfigError(f"the Loader configuration is not valid TOML: {exc}", source=label) from None


def _source_dir(value: Any) -> Any:
    """Loader's examples end the directory with a slash; tidb-lightning's do not."""
    return (value.rstrip("/") or "/") if isinstance(value, str) else value


def _target(db: Mapping[str, Any], unmapped: list[str]) -> dict[str, Any]:
    """Loader's ``[db]`` becomes ``[tidb]``, plus the status port tidb-lightning asks for."""
    tidb = {key: value for key, value in db.items() if key in _DB_KEYS}
    unmapped.extend(f"db.{key}" for key in db if key not in _DB_KEYS)
    tidb.setdefault("status-port", _TIDB_STATUS_PORT)
    return tidb


def _route(rule: Any, key: str, unmapped: list[str], label: str) -> dict[str, Any]:
    """A ``[[route-rules]]`` entry becomes a ``[[routes]]`` entry in tidb-lightning's spelling."""
    if not isinstance(rule, Mapping):
        raise ConfigError("a route rule must be a table", key=key, source=label)
    unmapped.extend(f"{key}.{name}" for name in rule if name not in _ROUTE_KEYS)
    return {_ROUTE_KEYS[name]: value for name, value in rule.items() if name in _ROUTE_KEYS}


# --- TOML writer ------------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def dump_task_toml(task: Mapping[str, Any]) -> str:
    """Write a TOML-shaped task dict as TOML text that ``tomli`` reads back to an equal dict.

    Keys holding tables become ``[section]`` headers and lists of tables ``[[section]]`` headers,
    so the output reads like the task files in tidb-lightning's documentation.
    Raises ``TypeError`` for values a task file never holds (floats, dates, mixed arrays).
    """
    lines: list[str] = []
    _write_table(task, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _write_table(table: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    """Write ``table``'s plain values, then its sub-tables; the caller has written its header."""
    nested = []
    for key, value in table.items():
        if isinstance(value, Mapping) or _is_table_array(value):
            nested.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value, path + (key,))}")
    for key, value in nested:
        header = ".".join(_key(part) for part in path + (key,))
        items = [value] if isinstance(value, Mapping) else value
        for item in items:
            lines.extend(["", f"[{header}]" if isinstance(value, Mapping) else f"[[{header}]]"])
            _write_table(item, path + (key,), lines)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, Mapping) for item in value)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value: Any, path: tuple[str, ...]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple) and not any(
        isinstance(item, Mapping | list | tuple) for item in value
    ):
        return "[" + ", ".join(_value(item, path) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} at {'.'.join(path)} into a task file")


def _string(text: str) -> str:
    escaped = "".join(
        _ESCAPES.get(char, f"\\u{ord(char):04X}" if ord(char) < 0x20 or ord(char) == 0x7F else char)
        for char in text
    )
    return f'"{escaped}"'
