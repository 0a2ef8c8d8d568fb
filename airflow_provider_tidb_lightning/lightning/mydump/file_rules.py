"""File routing: what a file below data-source-dir is, from its relative path alone.

Rules are regular expressions searched in the ``/``-separated relative path, tried in order;
the first that matches decides. ``[[mydumper.files]]`` rules come first, then (unless
``default-file-rules = false``) the built-in rules for mydumper/Dumpling names:

====================================  ===============================================
``{db}-schema-create.sql``            database schema (``schema-schema``)
``{db}.{tbl}-schema.sql``             table schema (``table-schema``)
``{db}.{tbl}-schema-view.sql``        view schema (``view-schema``)
``{db}.{tbl}[.{N}[.{M}]].sql``        data (``sql`` / ``csv``, and ``.parquet``), ``N`` (or ``N.M``) is
/ ``.csv`` / ``.parquet``             the sort key
``*-schema-trigger(s).sql``,          ignored
``*-schema-post.sql``, ``*.bak``,
``metadata`` (mydumper's and
Dumpling's, INI or not, and
mydumper's ``metadata.partial.N``)
``*-schema-sequence.sql``             ignored, with a warning (see :func:`is_sequence_schema`)
====================================  ===============================================

``N.M`` is mydumper ≥ 0.14's sub-chunk of chunk ``N`` (``db.tbl.00000.00001.sql``, written with
``--rows``): it belongs to table ``tbl``. tidb-lightning's own rule reads such a file as table
``tbl.00000``, which has no schema file; this provider routes it to its table on purpose.

Each may end in ``.gz``/``.gzip``/``.zst``/``.zstd``. Built-in rules ignore case, split the
database from the table at the *first* dot (``my-db.my.tbl.sql`` is table ``my.tbl`` of
``my-db``; Dumpling escapes a dot inside a database name as ``%2E``) and URL-unescape both
names. Custom rules keep names as captured, like tidb-lightning.

Templates (``schema``, ``table``, ``key``, ``type``, ``compression``) use Go's expansion
syntax, which tidb-lightning configs are written in: ``$1``, ``${1}``, ``$name``,
``${name}``, ``$$`` for a dollar sign. Go's ``(?<name>...)`` groups are accepted as well.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote

from ..config.model import FileRule
from ..errors import ConfigError, SourceError
from .compression import COMPRESSION_VALUES, Compression, normalize_compression


class FileKind(StrEnum):
    """What a file is, as a file rule's ``type`` names it."""

    SCHEMA_SCHEMA = "schema-schema"
    TABLE_SCHEMA = "table-schema"
    VIEW_SCHEMA = "view-schema"
    SQL = "sql"
    CSV = "csv"
    PARQUET = "parquet"
    IGNORE = "ignore"


class DataFormat(StrEnum):
    """The format of a data file: the data kinds of :class:`FileKind`."""

    SQL = "sql"
    CSV = "csv"
    PARQUET = "parquet"


_KINDS = frozenset(kind.value for kind in FileKind)
_TEMPLATE_VAR = re.compile(r"\$(?:(\$)|\{(\w+)\}|(\w+))")
_GO_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")


@dataclass(frozen=True)
class RouteResult:
    """What a file is. ``table`` is "" for database schema files and ignored files."""

    kind: FileKind
    schema: str = ""
    table: str = ""
    key: str = ""
    compression: Compression = Compression.NONE


@dataclass(frozen=True)
class _Rule:
    where: str  # for messages: "mydumper.files[2]" or "default rule"
    pattern: re.Pattern[str]
    kind: str
    schema: str = ""
    table: str = ""
    key: str = ""
    compression: str = ""
    unescape: bool = False


_COMPRESSED = r"(?:\.(\w+))?$"
_DIRS = r"^(?:[^/]*/)*"
_DEFAULT_RULES = (
    _Rule("default rule", re.compile(r"(?i)-schema-(?:triggers?|post)\.sql(?:\.\w+)?$"), FileKind.IGNORE),
    _Rule("default rule", re.compile(r"(?i)\.bak$"), FileKind.IGNORE),
    _Rule("default rule", re.compile(r"(?i)(?:^|/)metadata(?:\.partial(?:\.\d+)?)?$"), FileKind.IGNORE),
    _Rule("default rule", re.compile(r"(?i)-schema-sequence\.sql(?:\.\w+)?$"), FileKind.IGNORE),
    _Rule(
        "default rule",
        re.compile(rf"(?i){_DIRS}([^/.]+)-schema-create\.sql{_COMPRESSED}"),
        FileKind.SCHEMA_SCHEMA,
        schema="$1",
        compression="$2",
        unescape=True,
    ),
    _Rule(
        "default rule",
        re.compile(rf"(?i){_DIRS}([^/.]+)\.([^/]+?)-schema\.sql{_COMPRESSED}"),
        FileKind.TABLE_SCHEMA,
        schema="$1",
        table="$2",
        compression="$3",
        unescape=True,
    ),
    _Rule(
        "default rule",
        re.compile(rf"(?i){_DIRS}([^/.]+)\.([^/]+?)-schema-view\.sql{_COMPRESSED}"),
        FileKind.VIEW_SCHEMA,
        schema="$1",
        table="$2",
        compression="$3",
        unescape=True,
    ),
    _Rule(
        "default rule",
        re.compile(rf"(?i){_DIRS}([^/.]+)\.([^/]+?)(?:\.([0-9]+(?:\.[0-9]+)?))?\.(sql|csv|parquet){_COMPRESSED}"),
        "$4",
        schema="$1",
        table="$2",
        key="$3",
        compression="$5",
        unescape=True,
    ),
)


_SEQUENCE_SCHEMA = re.compile(r"(?i)-schema-sequence\.sql(?:\.\w+)?$")


def is_sequence_schema(relative: str) -> bool:
    """A Dumpling / mydumper ``{db}.{seq}-schema-sequence.sql`` file.

    Sequences are not created: the TiDB backend imports tables and views, as tidb-lightning does,
    and MySQL has no sequences. Discovery warns about each such file so the user can create the
    sequence on the target (the file holds the ``CREATE SEQUENCE`` and its ``SETVAL``).
    """
    return _SEQUENCE_SCHEMA.search(relative) is not None


def _template_refs(template: str) -> list[str]:
    return [m.group(2) or m.group(3) for m in _TEMPLATE_VAR.finditer(template) if not m.group(1)]


def _expand(template: str, match: re.Match[str]) -> str:
    """Fill a template from a match; unknown or non-participating groups give ""."""

    def value(var: re.Match[str]) -> str:
        if var.group(1):
            return "$"
        name = var.group(2) or var.group(3)
        try:
            return match.group(int(name) if name.isdigit() else name) or ""
        except IndexError:
            return ""

    return _TEMPLATE_VAR.sub(value, template)


def _compile_custom(rule: FileRule, index: int) -> _Rule:
    where = f"mydumper.files[{index}]"
    if not rule.pattern:
        raise ConfigError("a file rule needs a pattern", key=f"{where}.pattern")
    try:
        pattern = re.compile(_GO_NAMED_GROUP.sub("(?P<", rule.pattern))
    except re.error as exc:
        raise ConfigError(f"invalid regular expression {rule.pattern!r}: {exc}", key=f"{where}.pattern") from exc
    kind = rule.type.strip().lower()
    if not kind:
        raise ConfigError("a file rule needs a type", key=f"{where}.type")
    if "$" not in kind and kind not in _KINDS:
        raise ConfigError(
            f"unknown file type {rule.type!r} (expected one of {', '.join(sorted(_KINDS))})",
            key=f"{where}.type",
        )
    templates = {
        "type": rule.type,
        "schema": rule.schema,
        "table": rule.table,
        "key": rule.key,
        "compression": rule.compression,
    }
    for field_name, template in templates.items():
        for ref in _template_refs(template):
            known = int(ref) <= pattern.groups if ref.isdigit() else ref in pattern.groupindex
            if not known:
                raise ConfigError(
                    f"template {template!r} refers to group {ref!r}, which the pattern does not have",
                    key=f"{where}.{field_name}",
                )
    if kind != FileKind.IGNORE and not rule.schema:
        raise ConfigError("a file rule needs a schema template", key=f"{where}.schema")
    if kind not in (FileKind.IGNORE, FileKind.SCHEMA_SCHEMA) and not rule.table:
        raise ConfigError("a file rule for tables needs a table template", key=f"{where}.table")
    if "$" not in rule.compression and rule.compression.strip().lower() not in COMPRESSION_VALUES:
        raise ConfigError(f"unsupported compression {rule.compression!r}", key=f"{where}.compression")
    return _Rule(where, pattern, rule.type.strip(), rule.schema, rule.table, rule.key, rule.compression)


class FileRouter:
    """The ordered file rules of a task: custom ``[[mydumper.files]]`` first, then the defaults."""

    def __init__(self, rules: Sequence[FileRule], *, default_rules: bool = True) -> None:
        self._rules = [_compile_custom(rule, index) for index, rule in enumerate(rules)]
        if default_rules:
            self._rules.extend(_DEFAULT_RULES)

    def route(self, relative: str) -> RouteResult | None:
        """Classify one ``/``-separated relative path; None when no rule matches.

        Raises SourceError naming the file when a matching rule yields something unusable
        (an unknown type, an empty name, an unsupported compression).
        """
        for rule in self._rules:
            match = rule.pattern.search(relative)
            if match is not None:
                return self._apply(rule, match, relative)
        return None

    @staticmethod
    def _apply(rule: _Rule, match: re.Match[str], relative: str) -> RouteResult:
        expanded = _expand(rule.kind, match).strip().lower()
        if expanded not in _KINDS:
            raise SourceError(f"{rule.where} gives unknown file type {expanded!r}", path=relative)
        kind = FileKind(expanded)
        if kind is FileKind.IGNORE:
            return RouteResult(kind)

        def name(template: str, what: str) -> str:
            value = _expand(template, match)
            if rule.unescape:
                value = unquote(value)
            if not value:
                raise SourceError(f"{rule.where} gives an empty {what} name", path=relative)
            return value

        schema = name(rule.schema, "database")
        table = "" if kind is FileKind.SCHEMA_SCHEMA else name(rule.table, "table")
        compression = normalize_compression(_expand(rule.compression, match), relative)
        return RouteResult(kind, schema, table, _expand(rule.key, match), compression)
