"""Discovery: walk data-source-dir once and say what will be imported, from where to where.

Only names are read here, never contents, so discovering a dump of thousands of files is
cheap and needs no server. The steps are the ones tidb-lightning's loader takes: classify
each file by the file rules, drop what the table filter does not select, group files by
source table, then apply ``[[routes]]``. With ``case-sensitive = false`` (the default) names
are grouped and matched ignoring case, but keep the spelling found in the dump; only a
route changes a target name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from ..config.model import MydumperSection, Route
from ..config.storage_url import mask_url
from ..errors import ConfigError, SourceError
from .file_rules import DataFormat, FileKind, FileRouter, RouteResult, is_sequence_schema
from .layout import DatabaseSource, DataFile, DumpLayout, Opener, SchemaFile, TableSource
from .legacy_filter import LegacyTableFilter
from .routes import TableRouter
from .storage import ObjectStorage, open_local
from .table_filter import TableFilter

log = logging.getLogger(__name__)

_K = TypeVar("_K")


@dataclass(frozen=True)
class _Found:
    """A selected file with its classification, before routing."""

    result: RouteResult
    relative: str
    path: str
    size: int
    version: str = ""


@dataclass
class _Grouping:
    """Selected files grouped by (folded) database and table, in walk order."""

    case_sensitive: bool
    db_schemas: dict[str, _Found] = field(default_factory=dict)
    table_schemas: dict[tuple[str, str], _Found] = field(default_factory=dict)
    view_schemas: dict[tuple[str, str], _Found] = field(default_factory=dict)
    data: dict[tuple[str, str], list[_Found]] = field(default_factory=dict)

    def fold(self, name: str) -> str:
        return name if self.case_sensitive else name.lower()

    def add(self, found: _Found) -> None:
        res = found.result
        if res.kind is FileKind.SCHEMA_SCHEMA:
            self._add_once(self.db_schemas, self.fold(res.schema), found, f"database `{res.schema}`")
            return
        key = (self.fold(res.schema), self.fold(res.table))
        if res.kind is FileKind.TABLE_SCHEMA:
            self._add_once(self.table_schemas, key, found, f"table `{res.schema}`.`{res.table}`")
        elif res.kind is FileKind.VIEW_SCHEMA:
            self._add_once(self.view_schemas, key, found, f"view `{res.schema}`.`{res.table}`")
        else:
            self.data.setdefault(key, []).append(found)

    @staticmethod
    def _add_once(files: dict[_K, _Found], key: _K, found: _Found, what: str) -> None:
        if key in files:
            raise SourceError(
                f"second schema file for {what} (the first is {files[key].relative})", path=found.relative
            )
        files[key] = found


def _check_root(data_source_dir: str) -> str:
    if not data_source_dir:
        raise ConfigError("the dump directory is not set", key="mydumper.data-source-dir")
    root = os.path.abspath(data_source_dir)
    if not os.path.isdir(root):
        raise ConfigError(f"{data_source_dir} is not a readable local directory", key="mydumper.data-source-dir")
    return root


def _walk(root: str) -> Iterator[tuple[str, str, int | None]]:
    """(relative, absolute path, size) of every file below root, in a stable sorted order.

    The size is None for a symbolic link whose target cannot be resolved (missing, or a loop):
    whether that matters depends on the file rules, which the caller applies.
    """

    def fail(exc: OSError) -> None:
        raise SourceError(f"cannot list directory: {exc.strerror or exc}", path=exc.filename)

    for directory, subdirs, files in os.walk(root, onerror=fail):
        subdirs.sort()
        for name in sorted(files):
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            try:
                size: int | None = os.stat(path).st_size
            except OSError as exc:
                if not os.path.islink(path):
                    raise SourceError(f"cannot stat: {exc.strerror or exc}", path=relative) from exc
                size = None
            yield relative, path, size


def _schema_file(found: _Found, schema: str, table: str | None, opener: Opener) -> SchemaFile:
    return SchemaFile(found.path, found.relative, schema, table, found.result.compression, opener)


def _sort_key(found: _Found) -> tuple[int, tuple[int, ...], str, str]:
    """Order data files by their number when numeric (``2`` before ``10``; mydumper's sub-chunks
    ``00000.00001`` by chunk then sub-chunk), else by text."""
    key = found.result.key
    parts = key.split(".")
    if key and all(part.isdigit() for part in parts):
        return (1, tuple(int(part) for part in parts), "", found.relative)
    return (0 if not key else 2, (), key, found.relative)


def discover(mydumper: MydumperSection, routes: list[Route], storage: ObjectStorage | None = None) -> DumpLayout:
    """Find every selected database, table and view below ``mydumper.data_source_dir``.

    Raises ConfigError for an unusable directory, file rule, filter or route, and
    SourceError naming the file for a file the rules cannot make sense of (a second schema
    file for one table, a data file for a view, an unsupported compression). A table with
    data but no schema file anywhere is listed anyway: whether that is an error depends on
    ``no-schema`` and on the target, which the schema step knows. ``storage`` lists an object
    storage source (:mod:`.storage`); a local directory is walked here.
    """
    versions: dict[str, str] = {}
    opener: Opener = open_local
    if storage is not None:
        opener = storage.open
        root = storage.display
        objects = list(storage.list())
        versions = {o.relative: o.version for o in objects}
        entries: Iterable[tuple[str, str, int | None]] = ((o.relative, o.path, o.size) for o in objects)
    else:
        root = _check_root(mydumper.data_source_dir)
        entries = _walk(root)
    file_router = FileRouter(mydumper.files, default_rules=mydumper.default_file_rules)
    table_filter: TableFilter | LegacyTableFilter = TableFilter(mydumper.filter, case_sensitive=mydumper.case_sensitive)
    if mydumper.black_white_list.defined:  # tidb-lightning's deprecated [black-white-list] replaces the filter
        table_filter = LegacyTableFilter(mydumper.black_white_list, case_sensitive=mydumper.case_sensitive)
    table_router = TableRouter(routes, case_sensitive=mydumper.case_sensitive)

    grouping = _Grouping(mydumper.case_sensitive)
    ignored: list[str] = []
    files = 0
    for relative, path, size in entries:
        files += 1
        result = file_router.route(relative)
        if size is None:
            if result is None or result.kind is FileKind.IGNORE:
                log.warning("skipping %s: a symbolic link whose target cannot be resolved, and no file rule "
                            "matches it", relative)
                ignored.append(relative)
                continue
            raise SourceError("a symbolic link whose target cannot be resolved (missing, or a loop); restore its "
                              "target or remove the link", path=relative)
        if result is not None and result.kind is FileKind.IGNORE and is_sequence_schema(relative):
            log.warning("%s: sequences are not imported; create this sequence on the target from the file", relative)
        if result is None or result.kind is FileKind.IGNORE:
            log.debug("ignoring %s: %s", relative, "no file rule matches" if result is None else "ignore rule")
            ignored.append(relative)
            continue
        if result.kind is FileKind.SCHEMA_SCHEMA:
            selected = table_filter.match_schema(result.schema)
        else:
            selected = table_filter.match_table(result.schema, result.table)
        if not selected:
            log.debug("skipping %s: `%s`.`%s` is not selected by the filter", relative, result.schema, result.table)
            continue
        grouping.add(_Found(result, relative, path, size, versions.get(relative, "")))
    if not files:
        # As tidb-lightning: an empty source is a mistake (a wrong path, a dump not yet copied), not "0 tables".
        raise ConfigError(f"{mask_url(mydumper.data_source_dir)} contains no files: there is nothing to import. "
                          "Check the path, or that the dump was written there", key="mydumper.data-source-dir")

    return _build(root, grouping, table_router, ignored, opener)


def _build(root: str, grouping: _Grouping, router: TableRouter, ignored: list[str], opener: Opener) -> DumpLayout:
    table_keys = sorted(set(grouping.table_schemas) | set(grouping.view_schemas) | set(grouping.data))

    # Spelling: the schema file's when there is one, else the first data file's.
    db_names = {key: found.result.schema for key, found in grouping.db_schemas.items()}
    table_names: dict[tuple[str, str], str] = {}
    for key in table_keys:
        first = grouping.view_schemas.get(key) or grouping.table_schemas.get(key) or grouping.data[key][0]
        db_names.setdefault(key[0], first.result.schema)
        table_names[key] = first.result.table

    tables: list[TableSource] = []
    for key in table_keys:
        schema, table = db_names[key[0]], table_names[key]
        schema_found = grouping.table_schemas.get(key)
        view_found = grouping.view_schemas.get(key)
        data_found = sorted(grouping.data.get(key, []), key=_sort_key)
        if view_found is not None:
            if data_found:
                raise SourceError(f"data file for view `{schema}`.`{table}`", path=data_found[0].relative)
            if schema_found is not None:
                log.debug("ignoring %s: placeholder table of view `%s`.`%s`", schema_found.relative, schema, table)
                ignored.append(schema_found.relative)
            schema_found = view_found
        target_schema, target_table = router.route_table(schema, table)
        data_files = [
            DataFile(
                path=found.path,
                relative=found.relative,
                source_schema=schema,
                source_table=table,
                target_schema=target_schema,
                target_table=target_table,
                format=DataFormat(found.result.kind.value),
                compression=found.result.compression,
                size=found.size,
                sort_key=found.result.key,
                version=found.version,
                opener=opener,
            )
            for found in data_found
        ]
        tables.append(
            TableSource(
                source_schema=schema,
                source_table=table,
                target_schema=target_schema,
                target_table=target_table,
                schema_file=_schema_file(schema_found, schema, table, opener) if schema_found else None,
                data_files=data_files,
                is_view=view_found is not None,
            )
        )

    databases: list[DatabaseSource] = []
    for db_key in sorted(db_names):
        schema = db_names[db_key]
        found = grouping.db_schemas.get(db_key)
        targets = [router.route_schema(schema)] if found else []
        targets += [t.target_schema for t in tables if grouping.fold(t.source_schema) == db_key]
        schema_file = _schema_file(found, schema, None, opener) if found else None
        databases.extend(DatabaseSource(schema, target, schema_file) for target in dict.fromkeys(targets))

    return DumpLayout(root=root, databases=databases, tables=tables, ignored=ignored)
