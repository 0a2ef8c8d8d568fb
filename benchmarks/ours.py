"""Our engine's variants, each run through the ``tidb-lightning-py`` CLI as a user would.

Each variant is a tidb-lightning task file differing in one setting from the headline case
(SQL dump, ``on-duplicate = "error"``, MySQL checkpoints), so its row in the table isolates
that setting's cost: ``replace`` conflict handling, checkpoints off, CSV input. The CLI runs as
a child process, so its time includes interpreter start-up and its peak RSS is its own.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

from benchmarks.loader import CSV_INPUT, SQL_INPUT, Loader, Target
from benchmarks.measure import Measurement, run_measured
from benchmarks.prerequisites import venv_script
from benchmarks.tpch_data import SOURCE_DB

CLI = "tidb-lightning-py"
PROBE_TIMEOUT_S = 120


@dataclass(frozen=True)
class Variant:
    name: str
    csv: bool
    on_duplicate: str
    checkpoint: bool
    method: str = "insert"  # [tikv-importer] logical-import-method
    batch_size: str = ""  # [tikv-importer] logical-import-batch-size; "" = the default (by method)


VARIANTS: tuple[Variant, ...] = (
    Variant("ours-sql-error-ckpt", csv=False, on_duplicate="error", checkpoint=True),
    Variant("ours-sql-replace-ckpt", csv=False, on_duplicate="replace", checkpoint=True),
    Variant("ours-sql-error-nockpt", csv=False, on_duplicate="error", checkpoint=False),
    Variant("ours-csv-error-ckpt", csv=True, on_duplicate="error", checkpoint=True),
    # load-data's default batch is 2 MiB (a LOAD DATA stream is not a statement the server holds whole);
    # the 1 MiB variant shows what the smaller batches of earlier runs cost.
    Variant("ours-csv-loaddata-ckpt", csv=True, on_duplicate="error", checkpoint=True, method="load-data"),
    Variant("ours-csv-loaddata-1m-ckpt", csv=True, on_duplicate="error", checkpoint=True, method="load-data",
            batch_size="1MiB"),
    # SQL dump batches the reader's fast path proved sent as LOAD DATA streams of the dump's own bytes.
    Variant("ours-sql-loaddata-ckpt", csv=False, on_duplicate="error", checkpoint=True, method="load-data"),
)
HEADLINE_SQL = "ours-sql-error-ckpt"
# The SQL path at its fastest: fast-path batches as LOAD DATA streams of the dump's bytes.
HEADLINE_SQL_LOAD_DATA = "ours-sql-loaddata-ckpt"
HEADLINE_CSV = "ours-csv-loaddata-ckpt"
# The .tbl files hold no line break inside a field, so they may be cut into chunks (strict-format) that
# both writers share; one chunk per file would leave lineitem (70 % of the rows) to one writer.
CSV_REGION_SIZE = "32MiB"
NO_CHECKPOINT_SQL = "ours-sql-error-nockpt"


def task_toml(variant: Variant, target: Target) -> str:
    """The task file for ``variant``: the dump (or ``.tbl`` dir) routed from ``tpch`` to the target."""
    server, dataset = target.server, target.dataset
    source_dir = dataset.tbl_dir if variant.csv else dataset.dump_dir
    sections = [
        _section("tikv-importer", backend="tidb", on_duplicate=variant.on_duplicate,
                 logical_import_method=variant.method,
                 **({"logical_import_batch_size": variant.batch_size} if variant.batch_size else {})),
        _section("checkpoint", enable=variant.checkpoint, driver="mysql", schema=f"ckpt_{target.database}"),
        _section("mydumper", data_source_dir=str(source_dir), no_schema=variant.csv,
                 **({"strict_format": True, "max_region_size": CSV_REGION_SIZE} if variant.csv else {})),
        _section("tidb", host=server.host, port=server.port, user=server.user, password=""),
        _section("[routes]", schema_pattern=SOURCE_DB, target_schema=target.database),
    ]
    if variant.csv:
        # Table files are named "<table>.tbl", which no default rule maps to a table: say it here.
        sections += [
            _section("mydumper.csv", separator="|", delimiter="", terminator="\n", header=False,
                     trim_last_separator=True),
            _section("[mydumper.files]", pattern=r"^(\w+)\.tbl$", schema=SOURCE_DB, table="$1", type="csv"),
        ]
    return "\n".join(sections)


def run_variant(variant: Variant, target: Target) -> Measurement:
    config = target.work_dir / f"{variant.name}.toml"
    config.write_text(task_toml(variant, target))
    return run_measured([venv_script(CLI), "--config", str(config)], target.log_path(variant.name))


@cache
def probe_cli(work_dir: Path) -> str | None:
    """Why the CLI cannot run here (not installed, or the engine not importable yet), or None; asked once."""
    try:
        done = subprocess.run([venv_script(CLI), "--help"], capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{CLI}: {exc}"
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return f"{CLI} --help: " + (lines[-1] if lines else f"exit status {done.returncode}")


def our_loaders() -> list[Loader]:
    return [Loader(v.name, CSV_INPUT if v.csv else SQL_INPUT, precreate_schema=v.csv,
                   load=partial(run_variant, v), probe=probe_cli, ours=True) for v in VARIANTS]


def _section(title: str, /, **keys: object) -> str:
    """One TOML table (``[[x]]`` when ``title`` is ``[x]``); Python names become dashed TOML keys."""
    lines = [f"[{title}]"]
    lines += [f"{key.replace('_', '-')} = {_toml_value(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    # A JSON string is a valid TOML basic string (same escapes for quotes, backslashes, controls).
    return json.dumps(str(value))
