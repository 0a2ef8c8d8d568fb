"""Parquet dumps written with pyarrow for the Parquet reader's tests.

``tpch_parquet`` turns the sample's ``tbl/`` files into a Parquet dump next to the mydumper dump's
schema files: each column typed as its ``CREATE TABLE`` says (decimals as decimal128 with the
column's precision and scale, dates as date32, integers as int32 / int64, text as string), in
small row groups so that files have several chunks.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

_COLUMN = re.compile(r"^\s+`(\w+)` (\w+)(?:\((\d+)(?:,(\d+))?\))?", re.MULTILINE)


def _arrow_type(sql_type: str, precision: str | None, scale: str | None) -> pa.DataType:
    if sql_type == "bigint":
        return pa.int64()
    if sql_type == "int":
        return pa.int32()
    if sql_type == "decimal":
        return pa.decimal128(int(precision or 10), int(scale or 0))
    if sql_type == "date":
        return pa.date32()
    if sql_type in ("char", "varchar"):
        return pa.string()
    raise ValueError(f"no Arrow type for {sql_type}")


def table_schema(schema_sql: str) -> pa.Schema:
    """The Arrow schema of a ``CREATE TABLE`` file's columns, in order."""
    return pa.schema([(name, _arrow_type(kind, precision, scale))
                      for name, kind, precision, scale in _COLUMN.findall(schema_sql)])


def tpch_parquet(sample_dir: Path, out: Path, *, row_group_size: int = 4000) -> Path:
    """``out`` holding the sample's schema files and one ``tpch.<table>.parquet`` per ``tbl`` file."""
    out.mkdir(parents=True, exist_ok=True)
    sql_dump = sample_dir / "mydumper-sql"
    shutil.copy(sql_dump / "tpch-schema-create.sql", out)
    for tbl in sorted((sample_dir / "tbl").glob("*.tbl")):
        schema_file = sql_dump / f"tpch.{tbl.stem}-schema.sql"
        shutil.copy(schema_file, out)
        schema = table_schema(schema_file.read_text())
        names = [*schema.names, "trailing"]  # every tbl line ends with '|'
        table = pacsv.read_csv(
            tbl,
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(delimiter="|", quote_char=False),
            convert_options=pacsv.ConvertOptions(column_types=dict(zip(schema.names, schema.types, strict=True)),
                                                 strings_can_be_null=False),
        ).drop_columns(["trailing"])
        pq.write_table(table.cast(schema), out / f"tpch.{tbl.stem}.parquet", row_group_size=row_group_size)
    return out
