"""Read a tidb-lightning task configuration into a :class:`~.model.TaskConfig`.

A task file written for tidb-lightning must work here unchanged, so the loader knows four kinds of
keys: the keys the TiDB backend uses (:data:`_KEYS`, each with its converter), the keys tidb-lightning
has for its other backends or its server mode (:data:`_IGNORED`: accepted, reported in one warning),
the keys tidb-lightning's TiDB backend uses but this engine does not apply (:data:`_UNAPPLIED`: checked,
and reported with the reason when their value would have changed the import), and everything else,
which is a typo until proven otherwise (an error that suggests the close match).

Like tidb-lightning's ``Config.Adjust``, validation runs once after every source of values (file or
dict, then the caller's overrides) has been merged, and every error names the dotted TOML key and
where the value came from. Values are never echoed for keys that may hold secrets: type errors name
only the type.
"""

from __future__ import annotations

import copy
import difflib
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import tomli

from ..errors import ConfigError
from .black_white_list import InvalidTables, adjust_black_white_list, table_names
from .charsets import CHARSET_ALIASES, Charset
from .conflict import adjust_conflict
from .csv_literals import warn_literal_escapes
from .model import (
    BACKENDS_OF_TIDB_LIGHTNING,
    DEFAULT_BATCH_SIZE,
    SUPPORTED_BACKENDS,
    CheckpointDriver,
    FileRule,
    KeepAfterSuccess,
    LogicalImportMethod,
    OnDuplicate,
    RefreshMode,
    Route,
    SourceFingerprint,
    TableName,
    TaskConfig,
    TidbSection,
    TLSMode,
)
from .sizes import parse_byte_size
from .storage_url import is_remote, parse_storage_url

log = logging.getLogger(__name__)

PASSWORD_MASK = "******"


class _Invalid(Exception):
    """A value cannot be used for its key; the loader adds the key (plus ``subkey``) and the source."""

    def __init__(self, message: str, subkey: str = "") -> None:
        super().__init__(message)
        self.subkey = subkey


Converter = Callable[[Any], Any]
_E = TypeVar("_E", bound=StrEnum)


# --- converters: TOML value -> model value, raising _Invalid -------------------------------------------


def _kind(value: Any) -> str:
    """The TOML name of a value's type: errors say what was found without showing a possible secret."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array"}
    return "a table" if isinstance(value, Mapping) else names.get(type(value), type(value).__name__)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected a string, got {_kind(value)}")
    return value


def _name(value: Any) -> str:
    text = _string(value)
    if not text:
        raise _Invalid("must not be empty")
    return text


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected a boolean (true or false), got {_kind(value)}")
    return value


def _integer(minimum: int, maximum: int | None = None) -> Converter:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"expected an integer, got {_kind(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise _Invalid(f"must be {bound}, got {value}")
        return value

    return convert


def _size(value: Any) -> int:
    """A positive byte size: an integer or a string with a binary unit, like tidb-lightning's ByteSize."""
    try:
        size = parse_byte_size(value)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    if size <= 0:
        raise _Invalid(f"must be larger than 0, got {value!r}")
    return size


def _choice(allowed: tuple[str, ...], aliases: Mapping[str, str] | None = None) -> Callable[[Any], str]:
    """A case-insensitive enumeration; ``aliases`` maps tidb-lightning's alternative spellings."""

    def convert(value: Any) -> str:
        text = _string(value).lower()
        text = (aliases or {}).get(text, text)
        if text not in allowed:
            expected = ", ".join(f'"{a}"' for a in allowed)
            raise _Invalid(f'unknown value "{value}"; expected one of {expected}')
        return text

    return convert


def _enum(kind: type[_E], aliases: Mapping[str, str] | None = None) -> Callable[[Any], _E]:
    """A :func:`_choice` among the members of a StrEnum, returning the member."""
    choose = _choice(tuple(member.value for member in kind), aliases)
    return lambda value: kind(choose(value))


def _keep_after_success(value: Any) -> KeepAfterSuccess:
    """tidb-lightning also takes a boolean here: true keeps a renamed copy, false removes."""
    if isinstance(value, bool):
        return KeepAfterSuccess.RENAME if value else KeepAfterSuccess.REMOVE
    return _enum(KeepAfterSuccess, {"true": "rename", "false": "remove"})(value)


def _conflict_strategy(value: Any) -> OnDuplicate | str:
    """``conflict.strategy``: an on-duplicate mode, or "" (also spelled "none") to follow on-duplicate."""
    text = _choice(("", *OnDuplicate), {"none": ""})(value)
    return OnDuplicate(text) if text else ""


def _backend(value: Any) -> str:
    name = _string(value).lower()
    if name not in SUPPORTED_BACKENDS:
        raise _Invalid(
            f'backend "{value}" is not supported by this provider: it implements only the TiDB backend '
            f'("tidb"); tidb-lightning\'s backends are {", ".join(BACKENDS_OF_TIDB_LIGHTNING)}'
        )
    return name


def _charset(allow_auto: bool) -> Callable[[Any], Charset]:
    """Character sets tidb-lightning can decode, folding its alternative spellings ("utf8" is utf8mb4).

    Only the schema files' ``character-set`` may be "auto"; an empty ``data-character-set`` is binary.
    """
    names = tuple(c.value for c in Charset if allow_auto or c is not Charset.AUTO)
    aliases = {alias: str(charset) for alias, charset in CHARSET_ALIASES.items() if alias or not allow_auto}
    choose = _choice(names, aliases)
    return lambda value: Charset(choose(value))


def _string_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid(f"expected an array of strings, got {_kind(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise _Invalid(f"expected a string, got {_kind(item)}", f"[{index}]")
    return tuple(value)


def _null(value: Any) -> tuple[str, ...]:
    """``mydumper.csv.null`` is a string or, since tidb-lightning v7, an array of strings."""
    return (value,) if isinstance(value, str) else _string_list(value)


def _escaped_by(value: Any) -> bool:
    """The newer spelling of backslash-escape; only a backslash (or none) is supported as escape."""
    text = _string(value)
    if text not in ("", "\\"):
        raise _Invalid(f"only a backslash or an empty string is supported, got {text!r}")
    return text == "\\"


def _table_names(value: Any) -> tuple[TableName, ...]:
    """``[[black-white-list.do-tables]]`` / ``ignore-tables``: ``{db-name, tbl-name}`` tables."""
    try:
        return table_names(value)
    except InvalidTables as exc:
        raise _Invalid(str(exc), exc.at) from None


def _source_dir(value: Any) -> str:
    """A local directory, optionally as a ``file://`` URL, or an object storage URL (s3://, gcs://, azure://)."""
    text = _string(value)
    if "://" not in text:
        return text
    if is_remote(text):
        parse_storage_url(text)  # an unknown scheme or parameter fails here, naming the key
        return text
    url = urlsplit(text)
    if url.netloc not in ("", "localhost") or not url.path:
        raise _Invalid(f"expected a file:///absolute/path URL, got {text!r}")
    return unquote(url.path)


def _table(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Invalid(f"expected a table, got {_kind(value)}")
    return value


def _at(subkey: str, convert: Converter, value: Any) -> Any:
    """Convert a value nested inside a key's value, so an error names e.g. ``routes[1].target-table``."""
    try:
        return convert(value)
    except _Invalid as exc:
        raise _Invalid(str(exc), subkey + exc.subkey) from None


def _check_keys(table: Mapping[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
    for name in table:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else f"; known keys are {', '.join(allowed)}"
            raise _Invalid(f"no such key{hint}", f"{prefix}.{name}")


def _session_var(value: Any) -> str | int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Invalid(f"expected a string or an integer, got {_kind(value)}")
    return value


def _session_vars(value: Any) -> dict[str, str | int]:
    return {name: _at(f".{name}", _session_var, var) for name, var in _table(value).items()}


def _table_items(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        raise _Invalid(f"expected an array of tables, got {_kind(value)}")
    for index, item in enumerate(value):
        _at(f"[{index}]", _table, item)
    return value


_ROUTE_KEYS = ("schema-pattern", "table-pattern", "target-schema", "target-table")
_LOADER_ROUTE_KEYS = {"pattern-schema": "schema-pattern", "pattern-table": "table-pattern"}
_ROUTE_UNSUPPORTED = ("extract-table", "extract-schema", "extract-source")


def _routes(value: Any) -> list[Route]:
    """``[[routes]]``, also in Loader's pattern-schema/pattern-table spelling."""
    routes = []
    for index, item in enumerate(_table_items(value)):
        at = f"[{index}]"
        for name in _ROUTE_UNSUPPORTED:
            if name in item:
                raise _Invalid("adding source columns is not supported here", f"{at}.{name}")
        _check_keys(item, _ROUTE_KEYS + tuple(_LOADER_ROUTE_KEYS), at)
        fields = {name: _at(f"{at}.{name}", _string, text) for name, text in item.items()}
        for old, new in _LOADER_ROUTE_KEYS.items():
            if old in fields and fields.setdefault(new, fields[old]) != fields[old]:
                raise _Invalid(f'"{new}" and its Loader spelling "{old}" disagree', f"{at}.{new}")
        if not fields.get("schema-pattern"):
            raise _Invalid("a route needs a schema-pattern", f"{at}.schema-pattern")
        if not fields.get("table-pattern") and fields.get("target-table"):
            raise _Invalid("target-table needs a table-pattern", f"{at}.target-table")
        routes.append(Route(**{name.replace("-", "_"): fields.get(name, "") for name in _ROUTE_KEYS}))
    return routes


_FILE_RULE_KEYS = ("pattern", "path", "schema", "table", "type", "key", "compression")


def _file_rules(value: Any) -> list[dict[str, str]]:
    """Check the shape of ``[[mydumper.files]]``; the rules become FileRule objects once the source
    dir is known. Patterns and templates (``type = "$3"`` is allowed) are checked by the file router,
    which is the one that knows Go's regex and template syntax."""
    rules = []
    for index, item in enumerate(_table_items(value)):
        at = f"[{index}]"
        _check_keys(item, _FILE_RULE_KEYS, at)
        rule = {name: _at(f"{at}.{name}", _string, text) for name, text in item.items()}
        if bool(rule.get("pattern")) == bool(rule.get("path")):
            raise _Invalid("a file rule needs exactly one of pattern and path", f"{at}.pattern")
        rules.append(rule)
    return rules


# --- the key table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    """One TOML key the TiDB backend uses: where it lands in TaskConfig and how to read it.

    ``emit`` is False for alternative spellings, so :func:`task_config_to_dict` writes each value once.
    """

    attr: str
    convert: Converter
    emit: bool = True


# Declaration order is assignment order: a later spelling of the same setting wins, as in tidb-lightning
# ([tidb.security] over [security], mydumper.csv.escaped-by over backslash-escape).
_KEYS: dict[str, _Key] = {
    "lightning.level": _Key(
        "lightning.level", _choice(("debug", "info", "warn", "error", "fatal"), {"warning": "warn"})
    ),
    "lightning.file": _Key("lightning.file", _string),
    "lightning.region-concurrency": _Key("lightning.region_concurrency", _integer(0)),
    "lightning.table-concurrency": _Key("lightning.table_concurrency", _integer(0)),
    "lightning.max-error": _Key("lightning.max_error.type", _integer(0), emit=False),
    "lightning.max-error.syntax": _Key("lightning.max_error.syntax", _integer(0)),
    "lightning.max-error.charset": _Key("lightning.max_error.charset", _integer(0)),
    "lightning.max-error.type": _Key("lightning.max_error.type", _integer(0)),
    "lightning.task-info-schema-name": _Key("lightning.task_info_schema_name", _name),
    "lightning.check-requirements": _Key("lightning.check_requirements", _boolean),
    "lightning.status-addr": _Key("lightning.status_addr", _string),
    "checkpoint.enable": _Key("checkpoint.enable", _boolean),
    "checkpoint.schema": _Key("checkpoint.schema", _name),
    "checkpoint.driver": _Key("checkpoint.driver", _enum(CheckpointDriver)),
    "checkpoint.dsn": _Key("checkpoint.dsn", _string),
    "checkpoint.keep-after-success": _Key("checkpoint.keep_after_success", _keep_after_success),
    "checkpoint.source-fingerprint": _Key("checkpoint.source_fingerprint", _enum(SourceFingerprint)),
    "checkpoint.shared": _Key("checkpoint.shared", _boolean),
    "checkpoint.lease-seconds": _Key("checkpoint.lease_seconds", _integer(1)),
    "tikv-importer.backend": _Key("tikv_importer.backend", _backend),
    "tikv-importer.on-duplicate": _Key("tikv_importer.on_duplicate", _enum(OnDuplicate)),
    "tikv-importer.logical-import-batch-size": _Key("tikv_importer.logical_import_batch_size", _size),
    "tikv-importer.logical-import-batch-rows": _Key("tikv_importer.logical_import_batch_rows", _integer(1)),
    "tikv-importer.logical-import-method": _Key("tikv_importer.logical_import_method", _enum(LogicalImportMethod)),
    "conflict.strategy": _Key("conflict.strategy", _conflict_strategy),
    "conflict.threshold": _Key("conflict.threshold", _integer(0)),
    "conflict.max-record-rows": _Key("conflict.max_record_rows", _integer(0)),
    "mydumper.data-source-dir": _Key("mydumper.data_source_dir", _source_dir),
    "mydumper.character-set": _Key("mydumper.character_set", _charset(allow_auto=True)),
    "mydumper.data-character-set": _Key("mydumper.data_character_set", _charset(allow_auto=False)),
    "mydumper.data-invalid-char-replace": _Key("mydumper.data_invalid_char_replace", _string),
    "mydumper.case-sensitive": _Key("mydumper.case_sensitive", _boolean),
    "mydumper.strict-format": _Key("mydumper.strict_format", _boolean),
    "mydumper.max-region-size": _Key("mydumper.max_region_size", _size),
    "mydumper.read-block-size": _Key("mydumper.read_block_size", _size),
    "mydumper.filter": _Key("mydumper.filter", _string_list),
    "mydumper.no-schema": _Key("mydumper.no_schema", _boolean),
    "mydumper.default-file-rules": _Key("mydumper.default_file_rules", _boolean),
    "mydumper.csv.separator": _Key("mydumper.csv.separator", _string),
    "mydumper.csv.delimiter": _Key("mydumper.csv.delimiter", _string),
    "mydumper.csv.terminator": _Key("mydumper.csv.terminator", _string),
    "mydumper.csv.null": _Key("mydumper.csv.null", _null),
    "mydumper.csv.header": _Key("mydumper.csv.header", _boolean),
    "mydumper.csv.header-schema-match": _Key("mydumper.csv.header_schema_match", _boolean),
    "mydumper.csv.not-null": _Key("mydumper.csv.not_null", _boolean),
    "mydumper.csv.backslash-escape": _Key("mydumper.csv.backslash_escape", _boolean),
    "mydumper.csv.escaped-by": _Key("mydumper.csv.backslash_escape", _escaped_by, emit=False),
    "mydumper.csv.trim-last-separator": _Key("mydumper.csv.trim_last_separator", _boolean),
    "mydumper.files": _Key("mydumper.files", _file_rules),
    "routes": _Key("routes", _routes),
    # tidb-lightning's deprecated table selection, warned about (config/black_white_list.py)
    "black-white-list.do-dbs": _Key("mydumper.black_white_list.do_dbs", _string_list),
    "black-white-list.do-tables": _Key("mydumper.black_white_list.do_tables", _table_names),
    "black-white-list.ignore-dbs": _Key("mydumper.black_white_list.ignore_dbs", _string_list),
    "black-white-list.ignore-tables": _Key("mydumper.black_white_list.ignore_tables", _table_names),
    "tidb.host": _Key("tidb.host", _name),
    "tidb.port": _Key("tidb.port", _integer(1, 65535)),
    "tidb.user": _Key("tidb.user", _string),
    "tidb.password": _Key("tidb.password", _string),
    "tidb.sql-mode": _Key("tidb.sql_mode", _string),
    "tidb.tls": _Key("tidb.tls", _enum(TLSMode)),
    "tidb.max-allowed-packet": _Key("tidb.max_allowed_packet", _size),
    "tidb.session-vars": _Key("tidb.session_vars", _session_vars),
    "security.ca-path": _Key("tidb.ca_path", _string),
    "security.cert-path": _Key("tidb.cert_path", _string),
    "security.key-path": _Key("tidb.key_path", _string),
    "tidb.security.ca-path": _Key("tidb.ca_path", _string, emit=False),
    "tidb.security.cert-path": _Key("tidb.cert_path", _string, emit=False),
    "tidb.security.key-path": _Key("tidb.key_path", _string, emit=False),
    "refresh.mode": _Key("refresh.mode", _enum(RefreshMode, {"": "none", "off": "none"})),
    "refresh.verify": _Key("refresh.verify", _boolean),
    "refresh.allow-empty": _Key("refresh.allow_empty", _boolean),
    "refresh.keep-old": _Key("refresh.keep_old", _integer(0, 100)),
}

# Tables whose keys are listed individually above (or below, as ignored or unapplied).
_TABLES = frozenset(
    "lightning checkpoint tikv-importer conflict mydumper mydumper.csv tidb tidb.security security refresh "
    "black-white-list".split()
)
# Keys that are a table or a scalar shorthand for one of the table's keys (max-error = 10 sets its type).
_TABLE_OR_SHORTHAND = frozenset({"lightning.max-error"})


@dataclass(frozen=True)
class _Unapplied:
    """A key tidb-lightning's TiDB backend uses and this engine does not apply.

    Its value is still checked, so a typo stays an error; ``matters(value, values)`` says whether the
    value (with the other converted ``values`` of the task) would have changed the import, and only
    then does the loader warn, naming the key and ``why``. Nothing lands in TaskConfig.
    """

    convert: Converter
    matters: Callable[[Any, Mapping[str, Any]], bool]
    why: str


_UNAPPLIED: dict[str, _Unapplied] = {
    "lightning.max-error.conflict": _Unapplied(
        _integer(0),
        lambda _, __: True,
        "deprecated in tidb-lightning; the conflict budget is conflict.threshold (with conflict.strategy)",
    ),
    "tidb.status-port": _Unapplied(
        _integer(0, 65535),
        lambda port, _: port != TidbSection.status_port,
        "the import speaks SQL only; the Airflow readiness sensor takes the status port from the "
        "connection's status_port extra",
    ),
}


def _in(section: str, names: str) -> set[str]:
    return {f"{section}.{name}" for name in names.split()}


# tidb-lightning keys for the physical backends, server mode, metrics and post-import steps the TiDB
# backend skips. Accepted so that a tidb-lightning task file loads unchanged; reported in one warning.
_IGNORED_TABLES = frozenset({"post-restore", "cron"})
_IGNORED = frozenset(
    _in(
        "lightning",
        "server-mode pprof-port index-concurrency io-concurrency "
        "meta-schema-name max-error-records max-size max-days max-backups format enable-diagnose-logs",
    )
    | _in(
        "tikv-importer",
        "addr remote-worker-addr max-kv-pairs send-kv-pairs send-kv-size compress-kv-pairs region-split-size "
        "region-split-keys region-split-batch-size region-split-concurrency region-check-backoff-limit "
        "sorted-kv-dir disk-quota range-concurrency duplicate-resolution incremental-import parallel-import "
        "keyspace-name add-index-by-sql engine-mem-cache-size local-writer-mem-cache-size "
        "store-write-bwlimit logical-import-prep-stmt pause-pd-scheduler-scope block-size chunk-size "
        "chunk-cache-dir",
    )
    | _in("mydumper", "batch-size batch-import-ratio source-id")
    | _in(
        "tidb",
        "pd-addr distsql-scan-concurrency build-stats-concurrency index-serial-scan-concurrency "
        "checksum-table-concurrency log-level",
    )
    | {
        "conflict.precheck-conflict-before-import",
        "security.redact-info-log",
        "tidb.security.redact-info-log",
    }
)

# tidb-lightning keys that change which data is imported and that this provider does not implement:
# ignoring them would import something else than asked, so they are errors.
_UNSUPPORTED = frozenset({"mydumper.ignore-data-columns", "mydumper.ignore-columns"})

_ALL_KEYS = sorted(set(_KEYS) | set(_UNAPPLIED) | _TABLES | _IGNORED_TABLES | _IGNORED | _UNSUPPORTED)


# --- loading ----------------------------------------------------------------------------------------


class _Origin:
    """Says where a dotted key's value came from: the caller's overrides or the source itself."""

    def __init__(self, label: str, override_keys: list[str]) -> None:
        self.label = label
        self._override_keys = override_keys

    def is_override(self, key: str) -> bool:
        return any(key == k or key.startswith((k + ".", k + "[")) for k in self._override_keys)

    def of(self, key: str) -> str:
        return f"overrides for {self.label}" if self.is_override(key) else self.label


def load_task_config(
    source: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    require_source: bool = True,
) -> TaskConfig:
    """Load, merge and validate a task configuration.

    ``source`` is the path of a tidb-lightning task TOML file, a dict in the same shape (dashed keys,
    nested sections), or None for tidb-lightning's defaults. ``overrides`` maps dotted TOML keys
    (``"tikv-importer.on-duplicate"``, ``"mydumper.csv.separator"``, ``"routes"``) to values; they replace
    what the source says before anything is validated, so an override can fix an invalid file value.
    ``require_source=False`` accepts a configuration without ``mydumper.data-source-dir`` (the ctl
    commands only need the target and the checkpoint settings).

    Raises :class:`~airflow_provider_tidb_lightning.lightning.errors.ConfigError` naming the key and the source.
    """
    raw, label, base_dir = _read_source(source)
    origin = _Origin(label, [str(k) for k in (overrides or {})])
    _apply_overrides(raw, overrides or {}, origin)

    values: dict[str, Any] = {}
    ignored: list[str] = []
    _walk(raw, "", values, ignored, origin)
    if ignored:
        log.warning(
            "%s: ignoring tidb-lightning settings the TiDB backend has no use for: %s",
            label,
            ", ".join(ignored),
        )
    unapplied = [
        f"{key} ({spec.why})"
        for key, spec in _UNAPPLIED.items()
        if key in values and spec.matters(values[key], values)
    ]
    if unapplied:
        log.warning("%s: not applied by this provider: %s", label, "; ".join(unapplied))

    cfg = TaskConfig(source=label)
    # File rules need the source directory (a rule's path is relative to it): _adjust builds them.
    file_rules: list[dict[str, str]] = values.pop("mydumper.files", [])
    for key, spec in _KEYS.items():
        if key in values:
            _set(cfg, spec.attr, values[key])
    _adjust(cfg, base_dir, origin, require_source, file_rules)
    adjust_conflict(cfg, values.keys(), lambda message, key: ConfigError(message, key=key, source=origin.of(key)))
    adjust_black_white_list(cfg, lambda message, key: ConfigError(message, key=key, source=origin.of(key)))
    warn_literal_escapes(cfg)
    return cfg


def _read_source(
    source: str | os.PathLike[str] | Mapping[str, Any] | None,
) -> tuple[dict[str, Any], str, Path | None]:
    """The raw TOML-shaped dict, the label errors use for it, and the directory relative paths start in."""
    if source is None:
        return {}, "<defaults>", None
    if isinstance(source, Mapping):
        return copy.deepcopy(dict(source)), "<dict>", None
    if not isinstance(source, str | os.PathLike):
        raise ConfigError(f"a task configuration is a path or a dict, not {type(source).__name__}")
    path = Path(source)
    label = os.fspath(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the task configuration: {exc.strerror or exc}", source=label
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the task configuration is not UTF-8 text ({exc.reason})", source=label) from None
    try:
        raw = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise ConfigError(f"the task configuration is not valid TOML: {exc}", source=label) from None
    return raw, label, path.resolve().parent


def _apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any], origin: _Origin) -> None:
    for dotted, value in overrides.items():
        parts = str(dotted).split(".")
        if not all(parts):
            raise ConfigError(
                "an override key must be a dotted TOML key", key=str(dotted), source=origin.of(str(dotted))
            )
        table = raw
        for depth, part in enumerate(parts[:-1]):
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(
                    f"cannot override inside {where}, which is not a table",
                    key=str(dotted),
                    source=origin.of(str(dotted)),
                )
        table[parts[-1]] = copy.deepcopy(value)


def _walk(
    table: Mapping[str, Any], prefix: str, values: dict[str, Any], ignored: list[str], origin: _Origin
) -> None:
    """Convert each key of ``table`` (the TOML table at ``prefix``) into ``values``, entering sections."""
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if key in _IGNORED_TABLES and isinstance(value, Mapping):
            ignored.extend(f"{key}.{sub}" for sub in value)
        elif key in _IGNORED or key in _IGNORED_TABLES:
            ignored.append(key)
        elif key in _UNSUPPORTED:
            raise ConfigError(
                "this setting is not supported by this provider", key=key, source=origin.of(key)
            )
        elif key in _TABLES or (key in _TABLE_OR_SHORTHAND and isinstance(value, Mapping)):
            if not isinstance(value, Mapping):
                raise ConfigError(f"expected a table, got {_kind(value)}", key=key, source=origin.of(key))
            _walk(value, key, values, ignored, origin)
        elif key in _KEYS or key in _UNAPPLIED:
            try:
                values[key] = (_KEYS[key] if key in _KEYS else _UNAPPLIED[key]).convert(value)
            except _Invalid as exc:
                full = key + exc.subkey
                raise ConfigError(str(exc), key=full, source=origin.of(full)) from None
        else:
            raise ConfigError(
                f"tidb-lightning has no such key{_suggestion(key)}", key=key, source=origin.of(key)
            )


def _suggestion(key: str) -> str:
    """A "did you mean" for a key tidb-lightning does not have: a sibling with a close name, else the
    same name in another section, else any close dotted key."""
    prefix, _, leaf = key.rpartition(".")
    siblings = {k.rpartition(".")[2]: k for k in _ALL_KEYS if k.rpartition(".")[0] == prefix}
    close = difflib.get_close_matches(leaf, list(siblings), n=1)
    if close:
        return f'; did you mean "{siblings[close[0]]}"?'
    elsewhere = [k for k in _ALL_KEYS if k.rpartition(".")[2] == leaf]
    if elsewhere:
        return f'; did you mean "{elsewhere[0]}"?'
    close = difflib.get_close_matches(key, _ALL_KEYS, n=1, cutoff=0.8)
    return f'; did you mean "{close[0]}"?' if close else ""


def _set(cfg: TaskConfig, attr: str, value: Any) -> None:
    *path, last = attr.split(".")
    target: Any = cfg
    for part in path:
        target = getattr(target, part)
    setattr(target, last, value)


def _get(cfg: TaskConfig, attr: str) -> Any:
    target: Any = cfg
    for part in attr.split("."):
        target = getattr(target, part)
    return target


def _adjust(
    cfg: TaskConfig, base_dir: Path | None, origin: _Origin, require_source: bool, file_rules: list[dict[str, str]]
) -> None:
    """Fill derived values and check the rules that involve more than one key (tidb-lightning's adjust)."""

    def fail(message: str, key: str) -> ConfigError:
        return ConfigError(message, key=key, source=origin.of(key))

    app = cfg.lightning
    if app.region_concurrency == 0:
        app.region_concurrency = os.cpu_count() or 1
    if app.table_concurrency == 0:  # what tidb-lightning does for the TiDB backend
        app.table_concurrency = app.region_concurrency
    importer = cfg.tikv_importer
    if importer.logical_import_batch_size == 0:
        importer.logical_import_batch_size = DEFAULT_BATCH_SIZE[importer.logical_import_method]

    md = cfg.mydumper
    if md.data_source_dir and not os.path.isabs(md.data_source_dir) and not is_remote(md.data_source_dir):
        from_file = not origin.is_override("mydumper.data-source-dir")
        relative_to = base_dir if base_dir is not None and from_file else Path.cwd()
        md.data_source_dir = os.path.normpath(relative_to / md.data_source_dir)
    if require_source and not md.data_source_dir:
        raise fail("the dump directory to import is required", "mydumper.data-source-dir")
    md.files = [_file_rule(rule, md.data_source_dir, index, fail) for index, rule in enumerate(file_rules)]

    csv = md.csv
    if not csv.separator:
        raise fail("the CSV separator must not be empty", "mydumper.csv.separator")
    if csv.delimiter and (csv.separator.startswith(csv.delimiter) or csv.delimiter.startswith(csv.separator)):
        raise fail(
            f"separator {csv.separator!r} and delimiter {csv.delimiter!r} must not be a prefix of each other",
            "mydumper.csv.separator",
        )
    if md.strict_format and not csv.terminator:
        raise fail('strict-format needs a mydumper.csv.terminator, like "\\r\\n"', "mydumper.strict-format")
    if not csv.not_null and not csv.null:
        csv.null = ("",)  # tidb-lightning's compatibility rule: an empty list means the empty string

    if cfg.checkpoint.shared and not (cfg.checkpoint.enable and cfg.checkpoint.driver == CheckpointDriver.MYSQL):
        raise fail('several processes can share an import only through checkpoints on the target: set [checkpoint] '
                   'enable = true and driver = "mysql", or turn shared off', "checkpoint.shared")
    if cfg.checkpoint.shared and cfg.refresh.mode == RefreshMode.SWAP:
        raise fail('refresh mode "swap" checks and swaps tables with one process\'s counts: it cannot be shared '
                   "between processes; turn [checkpoint] shared off", "checkpoint.shared")

    tidb = cfg.tidb
    if tidb.tls == "cluster" and not tidb.ca_path:
        raise fail('tls = "cluster" needs [security] ca-path', "tidb.tls")
    if tidb.tls == "false":
        tidb.ca_path = tidb.cert_path = tidb.key_path = ""
    if bool(tidb.cert_path) != bool(tidb.key_path):
        raise fail("cert-path and key-path must be given together", "security.key-path")


def _file_rule(
    rule: dict[str, str], source_dir: str, index: int, fail: Callable[[str, str], ConfigError]
) -> FileRule:
    """Build a FileRule; a ``path`` rule matches exactly that file, relative to the source directory."""
    pattern = rule.get("pattern", "")
    if rule.get("path"):
        path = rule["path"]
        if os.path.isabs(path):
            relative = os.path.relpath(path, source_dir or os.sep)
            if not source_dir or relative.startswith(os.pardir):
                raise fail(
                    f"path {path!r} is not inside mydumper.data-source-dir", f"mydumper.files[{index}].path"
                )
            path = relative
        pattern = "^" + re.escape(path.replace(os.sep, "/")) + "$"
    return FileRule(
        pattern=pattern,
        schema=rule.get("schema", ""),
        table=rule.get("table", ""),
        type=rule.get("type", ""),
        key=rule.get("key", ""),
        compression=rule.get("compression", ""),
    )


# --- back to TOML shape -----------------------------------------------------------------------------

_DSN_PASSWORD = re.compile(r"^([^:@/]*):([^@]*)@")


def task_config_to_dict(cfg: TaskConfig) -> dict[str, Any]:
    """The configuration in TOML shape (dashed keys, nested sections), for logs and docs.

    The password (and a password inside a MySQL checkpoint DSN) is replaced by ``"******"``; everything
    else loads back with :func:`load_task_config` to an equal TaskConfig.
    """
    result: dict[str, Any] = {}
    for key, spec in _KEYS.items():
        if not spec.emit:
            continue
        value = _to_toml(_get(cfg, spec.attr))
        if key.startswith("black-white-list.") and not value:
            continue  # deprecated: written back only when the task has it
        if key == "tidb.password" and value:
            value = PASSWORD_MASK
        elif key == "checkpoint.dsn":
            value = _DSN_PASSWORD.sub(lambda m: f"{m.group(1)}:{PASSWORD_MASK}@", value)
        *sections, leaf = key.split(".")
        table = result
        for section in sections:
            table = table.setdefault(section, {})
        table[leaf] = value
    return result


def _to_toml(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple | list):
        return [_to_toml(item) for item in value]
    if isinstance(value, Route | FileRule | TableName):
        return {name.replace("_", "-"): item for name, item in asdict(value).items()}
    if isinstance(value, dict):
        return dict(value)
    return value
