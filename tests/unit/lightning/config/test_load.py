"""Loading tidb-lightning task configurations: defaults, every section, overrides, and error messages."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import pytest
import tomli

from airflow_provider_tidb_lightning.lightning.config import (
    TaskConfig,
    dump_task_toml,
    load_task_config,
    task_config_to_dict,
)
from airflow_provider_tidb_lightning.lightning.config.charsets import Charset
from airflow_provider_tidb_lightning.lightning.config.model import (
    DEFAULT_FILTER,
    CheckpointDriver,
    FileRule,
    KeepAfterSuccess,
    MaxError,
    OnDuplicate,
    Route,
    TLSMode,
)
from airflow_provider_tidb_lightning.lightning.config.sizes import parse_byte_size
from airflow_provider_tidb_lightning.lightning.errors import ConfigError
from tests.support.paths import REPO

FULL_TASK = r"""
[lightning]
level = "debug"
file = "/var/log/lightning.log"
region-concurrency = 8
table-concurrency = 3
max-error = { syntax = 1, charset = 2, type = 3, conflict = 4 }
task-info-schema-name = "task_info"

[checkpoint]
enable = false
schema = "ckpt"
driver = "mysql"
dsn = "root:s3cret@tcp(127.0.0.1:4000)/"
keep-after-success = "origin"

[tikv-importer]
backend = "tidb"
on-duplicate = "ignore"
logical-import-batch-size = "1MiB"
logical-import-batch-rows = 1000

[conflict]
strategy = "error"
threshold = 0
max-record-rows = 5

[mydumper]
data-source-dir = "../dump"
character-set = "utf8mb4"
data-character-set = "gbk"
data-invalid-char-replace = "?"
case-sensitive = true
strict-format = true
max-region-size = "128MiB"
read-block-size = "32KiB"
filter = ["tpch.*", "!tpch.lineitem"]
no-schema = true
default-file-rules = false

[mydumper.csv]
separator = "|"
delimiter = ""
terminator = "\n"
null = ["\\N", "NULL"]
header = false
header-schema-match = false
not-null = true
backslash-escape = false
trim-last-separator = true

[[mydumper.files]]
pattern = '(?i)^(?:[^/]*/)*([a-z0-9_]+)\.tbl$'
schema = "tpch"
table = "$1"
type = "csv"

[[mydumper.files]]
path = "extra/one.sql.gz"
schema = "tpch"
table = "one"
type = "sql"
compression = "gzip"

[[routes]]
schema-pattern = "shard_db_*"
table-pattern = "shard_table_*"
target-schema = "shard_db"
target-table = "shard_table"

[tidb]
host = "tidb.example"
port = 4001
user = "loader"
password = "s3cret"
status-port = 10081
sql-mode = "STRICT_TRANS_TABLES"
tls = "cluster"
max-allowed-packet = "16MiB"

[tidb.session-vars]
tidb_distsql_scan_concurrency = 5
time_zone = "+00:00"

[security]
ca-path = "/etc/ca.pem"
cert-path = "/etc/cert.pem"
key-path = "/etc/key.pem"
"""


def write_task(directory: Path, text: str, name: str = "task.toml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def raises_config_error(source, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_task_config(source, **kwargs)
    return info.value


SOURCE = {"mydumper": {"data-source-dir": "/dump"}}
LOADER_LOG = "airflow_provider_tidb_lightning.lightning.config.load"
SOURCE_OVERRIDE = {"mydumper.data-source-dir": "/dump"}


# --- defaults ---------------------------------------------------------------------------------------


def test_defaults_equal_tidb_lightnings():
    cfg = load_task_config(require_source=False)

    assert cfg.source == "<defaults>"
    assert (cfg.lightning.level, cfg.lightning.file) == ("info", "")
    assert cfg.lightning.region_concurrency == (os.cpu_count() or 1)
    assert cfg.lightning.table_concurrency == 6
    assert cfg.lightning.max_error == MaxError(syntax=0, charset=0, type=0)
    assert cfg.lightning.task_info_schema_name == "lightning_task_info"
    assert (cfg.checkpoint.enable, cfg.checkpoint.schema, cfg.checkpoint.driver) == (
        True,
        "tidb_lightning_checkpoint",
        "file",
    )
    assert cfg.checkpoint.keep_after_success == "remove"
    assert cfg.tikv_importer.backend == "tidb"
    assert cfg.tikv_importer.logical_import_batch_size == 96 * 1024
    assert cfg.tikv_importer.logical_import_batch_rows == 65536
    assert (cfg.conflict.strategy, cfg.conflict.threshold) == ("", 10000)
    assert cfg.mydumper.data_character_set == "binary"
    assert cfg.mydumper.max_region_size == 256 * 1024 * 1024
    assert cfg.mydumper.read_block_size == 64 * 1024
    assert cfg.mydumper.filter == DEFAULT_FILTER
    assert cfg.mydumper.filter[0] == "*.*" and "!mysql.*" in cfg.mydumper.filter
    csv = cfg.mydumper.csv
    assert (csv.separator, csv.delimiter, csv.null) == (",", '"', ("\\N",))
    assert csv.header and csv.backslash_escape and not csv.not_null
    tidb = cfg.tidb
    assert (tidb.host, tidb.port, tidb.user, tidb.status_port) == ("127.0.0.1", 4000, "root", 10080)
    assert cfg.tidb.sql_mode == "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION"
    assert cfg.tidb.max_allowed_packet == 64 * 1024 * 1024
    assert cfg.routes == [] and cfg.mydumper.files == []


def test_source_dir_is_required_unless_told_otherwise():
    err = raises_config_error(None)
    assert err.key == "mydumper.data-source-dir"

    assert load_task_config({"tidb": {"host": "db"}}, require_source=False).tidb.host == "db"


# --- every section from a file ----------------------------------------------------------------------


def test_every_section_parses_from_a_toml_file(tmp_path, caplog):
    path = write_task(tmp_path / "conf", FULL_TASK)

    with caplog.at_level(logging.WARNING, logger=LOADER_LOG):
        cfg = load_task_config(path)

    assert cfg.source == str(path)
    assert cfg.lightning.level == "debug" and cfg.lightning.file == "/var/log/lightning.log"
    assert (cfg.lightning.region_concurrency, cfg.lightning.table_concurrency) == (8, 3)
    assert cfg.lightning.max_error == MaxError(syntax=1, charset=2, type=3)
    assert cfg.lightning.task_info_schema_name == "task_info"
    assert dataclasses.astuple(cfg.checkpoint) == (
        False,
        "ckpt",
        "mysql",
        "root:s3cret@tcp(127.0.0.1:4000)/",
        "origin",
        "mtime",  # checkpoint.source-fingerprint's default
        False,  # shared
        30,  # lease-seconds
    )
    assert cfg.tikv_importer.on_duplicate == "ignore"
    assert cfg.tikv_importer.logical_import_batch_size == 1024 * 1024
    assert cfg.tikv_importer.logical_import_batch_rows == 1000
    # max-record-rows follows the threshold except under replace, as in tidb-lightning (see test_conflict.py)
    assert (cfg.conflict.strategy, cfg.conflict.threshold, cfg.conflict.max_record_rows) == ("error", 0, 0)
    assert cfg.duplicate_mode == "error"

    md = cfg.mydumper
    assert md.data_source_dir == str(tmp_path / "dump")  # relative to the TOML file's directory
    assert md.data_character_set is Charset.GBK
    assert md.case_sensitive and md.strict_format and md.no_schema and not md.default_file_rules
    assert (md.max_region_size, md.read_block_size) == (128 << 20, 32 << 10)
    assert md.filter == ("tpch.*", "!tpch.lineitem")
    assert dataclasses.astuple(md.csv) == ("|", "", "\n", ("\\N", "NULL"), False, False, True, False, True)
    assert md.files == [
        FileRule(pattern=r"(?i)^(?:[^/]*/)*([a-z0-9_]+)\.tbl$", schema="tpch", table="$1", type="csv"),
        FileRule(pattern=r"^extra/one\.sql\.gz$", schema="tpch", table="one", type="sql", compression="gzip"),
    ]
    assert cfg.routes == [Route("shard_db_*", "shard_table_*", "shard_db", "shard_table")]

    tidb = cfg.tidb
    assert (tidb.host, tidb.port, tidb.user, tidb.password) == ("tidb.example", 4001, "loader", "s3cret")
    assert (tidb.sql_mode, tidb.tls) == ("STRICT_TRANS_TABLES", TLSMode.CLUSTER)
    assert tidb.status_port == 10080  # the file's 10081 is not applied, and said so:
    (warning,) = [r.getMessage() for r in caplog.records if "not applied" in r.getMessage()]
    for key in ("lightning.max-error.conflict", "tidb.status-port"):
        assert key in warning
    assert cfg.mydumper.data_invalid_char_replace == "?"  # applied to CSV data decoded from gbk
    assert "mydumper.character-set" not in warning  # applied: schema files are decoded from it
    assert cfg.mydumper.character_set is Charset.UTF8MB4
    assert tidb.max_allowed_packet == 16 << 20
    assert tidb.session_vars == {"tidb_distsql_scan_concurrency": 5, "time_zone": "+00:00"}
    assert (tidb.ca_path, tidb.cert_path, tidb.key_path) == ("/etc/ca.pem", "/etc/cert.pem", "/etc/key.pem")


def test_dict_source_is_labelled_and_not_mutated():
    source = {"mydumper": {"data-source-dir": "/dump"}, "routes": [{"schema-pattern": "a"}]}

    cfg = load_task_config(source, overrides={"mydumper.csv.separator": ";"})

    assert cfg.source == "<dict>"
    assert source == {"mydumper": {"data-source-dir": "/dump"}, "routes": [{"schema-pattern": "a"}]}


def test_file_url_and_relative_dict_path(tmp_path, monkeypatch):
    cfg = load_task_config({"mydumper": {"data-source-dir": "file:///data/my%20dump"}})
    assert cfg.mydumper.data_source_dir == "/data/my dump"
    monkeypatch.chdir(tmp_path)
    assert load_task_config({"mydumper": {"data-source-dir": "dump"}}).mydumper.data_source_dir == str(
        tmp_path / "dump"
    )


def test_storage_urls_are_kept_and_checked():
    url = "s3://bucket/dump?endpoint=http://127.0.0.1:9000&access-key=AKIA&secret-access-key=SECRET"
    assert load_task_config({"mydumper": {"data-source-dir": url}}).mydumper.data_source_dir == url
    err = raises_config_error({"mydumper": {"data-source-dir": "ftp://host/dump"}})
    assert err.key == "mydumper.data-source-dir" and "ftp://" in str(err)
    err = raises_config_error({"mydumper": {"data-source-dir": "s3://bucket/d?secret-access-key=SECRET&acess-key=x"}})
    assert "'acess-key'" in str(err) and "SECRET" not in str(err)


# --- sizes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("96KiB", 96 * 1024),
        ("1MB", 1024 * 1024),  # tidb-lightning reads every unit as binary
        ("256MiB", 256 * 1024 * 1024),
        ("1m", 1024 * 1024),
        ("2 GB", 2 << 30),
        ("1.5k", 1536),
        ("100", 100),
        ("100b", 100),
        (4096, 4096),
    ],
)
def test_byte_sizes(text, expected):
    assert parse_byte_size(text) == expected


@pytest.mark.parametrize("text", ["", "KiB", "12 parsecs", "-1KiB", "1e3", True, 1.5])
def test_bad_byte_sizes(text):
    with pytest.raises(ValueError):
        parse_byte_size(text)


def test_batch_size_defaults_by_method_and_a_set_value_stays():
    load = {"tikv-importer.logical-import-method": "load-data"}
    assert load_task_config(SOURCE, overrides=load).tikv_importer.logical_import_batch_size == 2 << 20
    assert load_task_config(SOURCE, overrides={**load, "tikv-importer.logical-import-batch-size": "96KiB"}
                            ).tikv_importer.logical_import_batch_size == 96 * 1024
    err = raises_config_error(SOURCE, overrides={"tikv-importer.logical-import-batch-size": 0})
    assert err.key == "tikv-importer.logical-import-batch-size" and "larger than 0" in str(err)


def test_size_keys_accept_strings_and_must_be_positive():
    cfg = load_task_config(SOURCE, overrides={"tikv-importer.logical-import-batch-size": "1MB"})
    assert cfg.tikv_importer.logical_import_batch_size == 1 << 20

    err = raises_config_error(SOURCE, overrides={"mydumper.max-region-size": 0})
    assert err.key == "mydumper.max-region-size" and "larger than 0" in str(err)
    err = raises_config_error(SOURCE, overrides={"mydumper.read-block-size": "lots"})
    assert err.key == "mydumper.read-block-size"


# --- overrides --------------------------------------------------------------------------------------


def test_overrides_win_over_the_file(tmp_path, monkeypatch):
    path = write_task(tmp_path / "conf", FULL_TASK)
    monkeypatch.chdir(tmp_path)

    cfg = load_task_config(
        path,
        overrides={
            "tikv-importer.on-duplicate": "replace",
            "mydumper.data-source-dir": "other",
            "mydumper.filter": ["db.*"],
            "mydumper.csv.separator": ",",
            "routes": [{"schema-pattern": "a_*", "target-schema": "a"}],
            "tidb.session-vars": {"foreign_key_checks": 0},
            "tidb.password": "new",
        },
    )

    assert cfg.tikv_importer.on_duplicate == "replace"
    assert cfg.mydumper.data_source_dir == str(tmp_path / "other")  # relative to the cwd, not the file
    assert cfg.mydumper.filter == ("db.*",)
    assert cfg.mydumper.csv.separator == ","
    assert cfg.mydumper.csv.terminator == "\n"  # the rest of [mydumper.csv] still comes from the file
    assert cfg.routes == [Route(schema_pattern="a_*", target_schema="a")]
    assert cfg.tidb.session_vars == {"foreign_key_checks": 0}
    assert cfg.tidb.password == "new"


def test_override_can_fix_an_invalid_file_value(tmp_path):
    path = write_task(tmp_path, '[tikv-importer]\nbackend = "local"\n[mydumper]\ndata-source-dir = "/d"\n')

    assert load_task_config(path, overrides={"tikv-importer.backend": "tidb"}).tikv_importer.backend == "tidb"


def test_override_errors_say_they_come_from_the_overrides(tmp_path):
    path = write_task(tmp_path, '[mydumper]\ndata-source-dir = "/d"\n')

    err = raises_config_error(path, overrides={"tikv-importer.on-duplicate": "upsert"})
    assert err.key == "tikv-importer.on-duplicate"
    assert err.source == f"overrides for {path}"

    err = raises_config_error(path, overrides={"mydumper.data-source-dir.x": 1})
    assert "not a table" in str(err)


# --- max-error --------------------------------------------------------------------------------------


def test_max_error_integer_sets_the_type_budget():
    cfg = load_task_config(SOURCE, overrides={"lightning.max-error": 10})
    assert cfg.lightning.max_error == MaxError(type=10)


def test_max_error_table_sets_each_kind():
    cfg = load_task_config(SOURCE, overrides={"lightning.max-error": {"type": 7, "syntax": 2, "charset": 3}})
    assert cfg.lightning.max_error == MaxError(type=7, syntax=2, charset=3)


@pytest.mark.parametrize(
    ("value", "key", "text"),
    [
        (-1, "lightning.max-error", "at least 0"),
        ("10", "lightning.max-error", "expected an integer"),
        ({"typ": 1}, "lightning.max-error.typ", 'did you mean "lightning.max-error.type"'),
        ({"conflict": -1}, "lightning.max-error.conflict", "at least 0"),
        ({"charset": -5}, "lightning.max-error.charset", "at least 0"),
    ],
)
def test_max_error_errors(value, key, text):
    err = raises_config_error(SOURCE, overrides={"lightning.max-error": value})
    assert err.key == key and text in str(err)


# --- errors name the key and the file ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "key", "text"),
    [
        ('[tidb]\nport = "4000"', "tidb.port", "expected an integer, got a string"),
        ("[tidb]\nport = 70000", "tidb.port", "between 1 and 65535"),
        ('[checkpoint]\nenable = "yes"', "checkpoint.enable", "expected a boolean"),
        ('[tikv-importer]\non-duplicate = "upsert"', "tikv-importer.on-duplicate", 'unknown value "upsert"'),
        ('[conflict]\nstrategy = "record"', "conflict.strategy", 'unknown value "record"'),
        ('[checkpoint]\ndriver = "sqlite"', "checkpoint.driver", '"file", "mysql"'),
        ('[checkpoint]\nkeep-after-success = "keep"', "checkpoint.keep-after-success", "unknown value"),
        ('[tidb]\ntls = "yes"', "tidb.tls", "skip-verify"),
        ('[mydumper]\ncharacter-set = "latin2"', "mydumper.character-set", "gb18030"),
        ('[mydumper]\ndata-character-set = "auto"', "mydumper.data-character-set", "unknown value"),
        ("[lightning]\nregion-concurrency = -2", "lightning.region-concurrency", "at least 0"),
        ('[lightning]\nlevel = "loud"', "lightning.level", "unknown value"),
        (
            "[tikv-importer]\nlogical-import-batch-rows = 0",
            "tikv-importer.logical-import-batch-rows",
            "at least 1",
        ),
        ('[mydumper]\nfilter = "db.*"', "mydumper.filter", "expected an array of strings"),
        ('[mydumper]\nfilter = ["a.*", 1]', "mydumper.filter[1]", "expected a string"),
        ("[tidb.session-vars]\nautocommit = true", "tidb.session-vars.autocommit", "string or an integer"),
    ],
)
def test_wrong_type_or_value_names_key_and_file(tmp_path, toml, key, text):
    path = write_task(tmp_path, toml + "\n")

    err = raises_config_error(path, overrides=SOURCE_OVERRIDE)

    assert err.key == key
    assert err.source == str(path)
    assert text in str(err)
    assert key in str(err) and str(path) in str(err)


def test_invalid_table_in_wrong_place_is_reported(tmp_path):
    path = write_task(tmp_path, "mydumper = 5\n")
    err = raises_config_error(path)
    assert err.key == "mydumper" and "expected a table" in str(err)


@pytest.mark.parametrize(
    ("toml", "key", "suggestion"),
    [
        (
            '[tikv-importer]\non-duplicat = "ignore"',
            "tikv-importer.on-duplicat",
            "tikv-importer.on-duplicate",
        ),
        ('[tidb]\non-duplicate = "ignore"', "tidb.on-duplicate", "tikv-importer.on-duplicate"),
        ("[mydumpr]\nfilter = []", "mydumpr", '"mydumper"'),
        ('[mydumper.csv]\nseperator = "|"', "mydumper.csv.seperator", "mydumper.csv.separator"),
        ('[[routes]]\nschema-pattern = "a"\ntarget_schema = "b"', "routes[0].target_schema", "target-schema"),
    ],
)
def test_unknown_key_is_an_error_with_a_suggestion(tmp_path, toml, key, suggestion):
    path = write_task(tmp_path, toml + "\n")

    err = raises_config_error(path, overrides=SOURCE_OVERRIDE)

    assert err.key == key and err.source == str(path)
    assert f"did you mean {suggestion}" in str(err) or f'did you mean "{suggestion}"' in str(err)


def test_unknown_key_without_a_close_match_has_no_suggestion():
    err = raises_config_error({"tidb": {"zzzzzz": 1}}, require_source=False)
    assert err.key == "tidb.zzzzzz" and "did you mean" not in str(err)


def test_backend_local_is_refused_with_the_list_of_backends(tmp_path):
    path = write_task(tmp_path, '[tikv-importer]\nbackend = "local"\n')

    err = raises_config_error(path, overrides=SOURCE_OVERRIDE)

    assert err.key == "tikv-importer.backend" and err.source == str(path)
    assert str(err).startswith(
        'backend "local" is not supported by this provider: it implements only the TiDB backend ("tidb"); '
        "tidb-lightning's backends are tidb, local, importer"
    )


def test_backend_is_case_insensitive():
    cfg = load_task_config(SOURCE, overrides={"tikv-importer.backend": "TiDB"})
    assert cfg.tikv_importer.backend == "tidb"


def test_unreadable_and_invalid_files(tmp_path):
    err = raises_config_error(tmp_path / "missing.toml")
    assert err.source == str(tmp_path / "missing.toml")

    path = write_task(tmp_path, "[tidb\nhost = 1\n")
    err = raises_config_error(path)
    assert err.source == str(path) and "not valid TOML" in str(err)

    with pytest.raises(ConfigError):
        load_task_config(42)  # type: ignore[arg-type]


# --- ignored and unsupported keys -------------------------------------------------------------------


def test_other_backends_keys_are_ignored_with_one_warning(tmp_path, caplog):
    toml = """
[lightning]
pprof-port = 8289
index-concurrency = 2
[tikv-importer]
backend = "tidb"
sorted-kv-dir = "/tmp/sorted"
[mydumper]
data-source-dir = "/dump"
batch-size = "100GiB"
[tidb]
pd-addr = "pd:2379"
[post-restore]
checksum = "required"
analyze = "optional"
[cron]
log-progress = "5m"
"""
    path = write_task(tmp_path, toml)

    with caplog.at_level(logging.WARNING, logger="airflow_provider_tidb_lightning.lightning.config.load"):
        cfg = load_task_config(path)

    assert cfg.mydumper.data_source_dir == "/dump"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    for key in (
        "lightning.pprof-port",
        "lightning.index-concurrency",
        "tikv-importer.sorted-kv-dir",
        "mydumper.batch-size",
        "tidb.pd-addr",
        "post-restore.checksum",
        "post-restore.analyze",
        "cron.log-progress",
    ):
        assert key in message
    assert str(path) in message


def test_no_warning_when_nothing_is_ignored(caplog):
    with caplog.at_level(logging.WARNING):
        load_task_config(SOURCE)
    assert caplog.records == []


def test_settings_that_change_the_data_are_errors_not_warnings():
    err = raises_config_error(
        SOURCE, overrides={"mydumper.ignore-data-columns": [{"db": "a", "columns": ["x"]}]}
    )
    assert err.key == "mydumper.ignore-data-columns"
    err = raises_config_error(SOURCE, overrides={"routes": [{"schema-pattern": "a", "extract-table": {}}]})
    assert err.key == "routes[0].extract-table"


# --- cross-key validation ---------------------------------------------------------------------------


def test_csv_separator_rules():
    err = raises_config_error(SOURCE, overrides={"mydumper.csv.separator": ""})
    assert err.key == "mydumper.csv.separator" and "empty" in str(err)
    err = raises_config_error(
        SOURCE, overrides={"mydumper.csv.separator": "'", "mydumper.csv.delimiter": "'"}
    )
    assert err.key == "mydumper.csv.separator" and "prefix" in str(err)
    cfg = load_task_config(SOURCE, overrides={"mydumper.csv.separator": "'", "mydumper.csv.delimiter": ""})
    assert cfg.mydumper.csv.separator == "'"


def test_csv_null_string_or_list_and_escaped_by():
    cfg = load_task_config(SOURCE, overrides={"mydumper.csv.null": "NULL", "mydumper.csv.escaped-by": ""})
    assert cfg.mydumper.csv.null == ("NULL",)
    assert cfg.mydumper.csv.backslash_escape is False

    cfg = load_task_config(SOURCE, overrides={"mydumper.csv.null": []})
    assert cfg.mydumper.csv.null == ("",)  # tidb-lightning's rule for an empty list

    err = raises_config_error(SOURCE, overrides={"mydumper.csv.escaped-by": "|"})
    assert err.key == "mydumper.csv.escaped-by"


def test_strict_format_needs_a_terminator():
    err = raises_config_error(SOURCE, overrides={"mydumper.strict-format": True})
    assert err.key == "mydumper.strict-format"
    cfg = load_task_config(
        SOURCE, overrides={"mydumper.strict-format": True, "mydumper.csv.terminator": "\r\n"}
    )
    assert cfg.mydumper.strict_format


def test_concurrency_zero_means_automatic():
    cfg = load_task_config(
        SOURCE, overrides={"lightning.region-concurrency": 0, "lightning.table-concurrency": 0}
    )
    assert cfg.lightning.region_concurrency == (os.cpu_count() or 1)
    assert cfg.lightning.table_concurrency == cfg.lightning.region_concurrency


def test_tls_modes_and_security_paths():
    err = raises_config_error(SOURCE, overrides={"tidb.tls": "cluster"})
    assert err.key == "tidb.tls" and "ca-path" in str(err)

    both = {
        "security": {"ca-path": "/a.pem", "cert-path": "/c.pem", "key-path": "/k.pem"},
        "tidb": {"security": {"ca-path": "/tidb-ca.pem"}, "tls": "cluster"},
        **SOURCE,
    }
    cfg = load_task_config(both)
    assert (cfg.tidb.ca_path, cfg.tidb.cert_path) == ("/tidb-ca.pem", "/c.pem")  # [tidb.security] wins

    cfg = load_task_config(both, overrides={"tidb.tls": "false"})
    assert (cfg.tidb.ca_path, cfg.tidb.cert_path, cfg.tidb.key_path) == ("", "", "")

    err = raises_config_error(SOURCE, overrides={"security.cert-path": "/c.pem"})
    assert err.key == "security.key-path"


def test_enumerations_are_case_insensitive_and_follow_tidb_lightning_aliases():
    cfg = load_task_config(
        SOURCE,
        overrides={
            "tikv-importer.on-duplicate": "IGNORE",
            "conflict.strategy": "none",
            "checkpoint.keep-after-success": True,
            "lightning.level": "warning",
            "mydumper.character-set": "UTF8",
            "mydumper.data-character-set": "",
        },
    )
    assert cfg.tikv_importer.on_duplicate == "ignore"
    assert cfg.conflict.strategy == "ignore"  # "none" follows the deprecated on-duplicate, as in tidb-lightning
    assert cfg.checkpoint.keep_after_success == "rename"
    assert cfg.lightning.level == "warn"
    assert cfg.mydumper.data_character_set == "binary"


def test_file_rules(tmp_path):
    source = {"mydumper": {"data-source-dir": str(tmp_path)}}
    cfg = load_task_config(
        source,
        overrides={"mydumper.files": [{"path": str(tmp_path / "a+b.sql"), "schema": "s", "table": "t"}]},
    )
    assert cfg.mydumper.files[0].pattern == r"^a\+b\.sql$"

    templated = {"pattern": r"^(\w+)\.(\w+)\.(csv|sql)$", "schema": "$1", "table": "$2", "type": "$3"}
    cfg = load_task_config(source, overrides={"mydumper.files": [templated]})
    assert cfg.mydumper.files[0].type == "$3"  # templates are the file router's business

    for rule, key in [
        ({"path": "/elsewhere/x.sql", "schema": "s"}, "mydumper.files[0].path"),
        ({"pattern": "x", "type": 3}, "mydumper.files[0].type"),
        ({"schema": "s"}, "mydumper.files[0].pattern"),
        ({"pattern": "x", "path": "x.sql"}, "mydumper.files[0].pattern"),
        ({"pattern": "x", "tabel": "t"}, "mydumper.files[0].tabel"),
    ]:
        err = raises_config_error(source, overrides={"mydumper.files": [rule]})
        assert err.key == key, rule


def test_routes_accept_loader_spelling_and_check_patterns():
    cfg = load_task_config(
        SOURCE,
        overrides={"routes": [{"pattern-schema": "db_*", "pattern-table": "t_*", "target-schema": "db"}]},
    )
    assert cfg.routes == [Route("db_*", "t_*", "db", "")]

    err = raises_config_error(SOURCE, overrides={"routes": [{"target-schema": "db"}]})
    assert err.key == "routes[0].schema-pattern"
    err = raises_config_error(SOURCE, overrides={"routes": [{"schema-pattern": "a", "target-table": "t"}]})
    assert err.key == "routes[0].target-table"
    err = raises_config_error(SOURCE, overrides={"routes": [{"schema-pattern": "a", "pattern-schema": "b"}]})
    assert err.key == "routes[0].schema-pattern"
    err = raises_config_error(SOURCE, overrides={"routes": ["db_*"]})
    assert err.key == "routes[0]"


# --- secrets and the TOML-shaped view ---------------------------------------------------------------


def test_password_never_reaches_error_texts():
    err = raises_config_error(SOURCE, overrides={"tidb.password": ["hunter2"]})
    assert err.key == "tidb.password" and "hunter2" not in str(err)
    err = raises_config_error(SOURCE, overrides={"checkpoint.dsn": {"pw": "hunter2"}})
    assert "hunter2" not in str(err)


def test_task_config_to_dict_masks_secrets(tmp_path):
    cfg = load_task_config(write_task(tmp_path / "conf", FULL_TASK))

    shown = task_config_to_dict(cfg)

    assert shown["tidb"]["password"] == "******"
    assert shown["checkpoint"]["dsn"] == "root:******@tcp(127.0.0.1:4000)/"
    assert "s3cret" not in repr(shown) and "s3cret" not in dump_task_toml(shown)
    assert shown["tikv-importer"]["on-duplicate"] == "ignore"
    assert shown["mydumper"]["csv"]["null"] == ["\\N", "NULL"]
    assert shown["security"]["ca-path"] == "/etc/ca.pem"
    assert "security" not in shown["tidb"] and "escaped-by" not in shown["mydumper"]["csv"]


def test_task_config_to_dict_loads_back_to_the_same_config(tmp_path):
    text = FULL_TASK.replace('password = "s3cret"', 'password = ""').replace("root:s3cret@", "root@")
    path = write_task(tmp_path / "conf", text)
    cfg = load_task_config(path)

    again = load_task_config(tomli.loads(dump_task_toml(task_config_to_dict(cfg))))

    assert isinstance(again, TaskConfig)
    assert dataclasses.replace(again, source=cfg.source) == cfg


def test_the_documented_full_example_loads():
    docs = REPO / "docs" / "configuration.md"
    example = docs.read_text(encoding="utf-8").rsplit("```toml\n", 1)[1].split("```", 1)[0]

    cfg = load_task_config(tomli.loads(example))

    assert cfg.mydumper.data_source_dir == "/data/export/shop"
    assert cfg.tidb.tls == "cluster" and cfg.tidb.ca_path == "/etc/tidb/ca.pem"
    assert cfg.lightning.max_error == MaxError(type=100)


# --- keys tidb-lightning applies and this provider does not: checked, and warned about when they matter ---


def unapplied_warnings(caplog, overrides) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOADER_LOG):
        load_task_config(SOURCE, overrides=overrides)
    return [r.getMessage() for r in caplog.records if "not applied by this provider" in r.getMessage()]


@pytest.mark.parametrize(
    ("overrides", "key", "reason"),
    [
        ({"lightning.max-error": {"conflict": 10}}, "lightning.max-error.conflict", "conflict.threshold"),
        ({"tidb.status-port": 10081}, "tidb.status-port", "status_port extra"),
    ],
)
def test_unapplied_key_is_warned_about_by_name(caplog, overrides, key, reason):
    (warning,) = unapplied_warnings(caplog, overrides)
    assert key in warning and reason in warning and "<dict>" in warning


@pytest.mark.parametrize(
    "overrides",
    [
        {"mydumper.character-set": "gbk"},  # applied: schema files are decoded (see test_schema_charset.py)
        # applied: CSV data is decoded with it (see test_data_charset.py)
        {"mydumper.data-character-set": "gbk", "mydumper.data-invalid-char-replace": "?"},
        {"tidb.status-port": 10080},  # the default, as converted Loader configurations say
    ],
)
def test_unapplied_key_is_quiet_when_it_would_change_nothing(caplog, overrides):
    assert unapplied_warnings(caplog, overrides) == []


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"mydumper.data-invalid-char-replace": 1}, "mydumper.data-invalid-char-replace"),  # now applied; typed
        ({"tidb.status-port": 70000}, "tidb.status-port"),
        ({"lightning.max-error": {"conflict": "many"}}, "lightning.max-error.conflict"),
    ],
)
def test_unapplied_key_values_are_still_checked(overrides, key):
    assert raises_config_error(SOURCE, overrides=overrides).key == key


def test_the_data_character_set_reaches_the_config_folded():
    for spelling, charset in (("utf8", Charset.UTF8MB4), ("", Charset.BINARY), ("GBK", Charset.GBK)):
        cfg = load_task_config(SOURCE, overrides={"mydumper.data-character-set": spelling})
        assert cfg.mydumper.data_character_set is charset


def test_enumerated_settings_load_as_enum_members():
    cfg = load_task_config(
        SOURCE,
        overrides={
            "tikv-importer.on-duplicate": "IGNORE",
            "conflict.strategy": "none",
            "checkpoint.driver": "mysql",
            "checkpoint.keep-after-success": True,
            "tidb.tls": "skip-verify",
        },
    )
    assert cfg.tikv_importer.on_duplicate is OnDuplicate.IGNORE
    assert cfg.conflict.strategy is OnDuplicate.IGNORE and cfg.duplicate_mode is OnDuplicate.IGNORE
    assert cfg.checkpoint.driver is CheckpointDriver.MYSQL
    assert cfg.checkpoint.keep_after_success is KeepAfterSuccess.RENAME
    assert cfg.tidb.tls is TLSMode.SKIP_VERIFY
    strategy = load_task_config(SOURCE, overrides={"conflict.strategy": "error"}).conflict.strategy
    assert strategy is OnDuplicate.ERROR
