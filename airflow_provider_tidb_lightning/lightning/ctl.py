"""``tidb-lightning-py-ctl``: checkpoint control, with tidb-lightning-ctl's flags.

A failure is one line on standard error and in the log file: exit status 2 for a configuration
mistake (a bad file, an unknown table name), 1 for anything else (the server, the store).
"""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import closing

from .checkpoints import control
from .checkpoints.finished import forget_finished
from .cli import _bool, overrides_from_args
from .common.connection import connect
from .config import load_task_config
from .config.model import TaskConfig
from .errors import ConfigError
from .importer.console import LEVELS, early_logger, report_failure, setup_logging
from .importer.failures import (
    EXIT_CONFIG,
    Failure,
    close_after_failure,
    describe_failure,
    open_checkpoint_store,
)
from .importer.refresh import shadow_key


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tidb-lightning-py-ctl", description=__doc__)
    p.add_argument("--config", help="the task configuration file the import used (tidb-lightning-ctl's flags "
                                     "below may replace it or override it)")
    p.add_argument("--task-id", help="act on this task only (default: every task in the checkpoint store)")
    p.add_argument("--tidb-host")
    p.add_argument("--tidb-port", type=int)
    p.add_argument("--tidb-user")
    p.add_argument("--tidb-password")
    p.add_argument("-L", dest="level", choices=sorted(LEVELS), help="log level")
    p.add_argument("--log-file", help="log file path (default: standard error)")
    ops = p.add_mutually_exclusive_group(required=True)
    ops.add_argument("--checkpoint-remove", metavar="all|db.tbl", help="forget the checkpoint (start over)")
    ops.add_argument("--checkpoint-error-ignore", metavar="all|db.tbl",
                     help="clear the failed status so the next run continues where it stopped")
    ops.add_argument("--checkpoint-error-destroy", metavar="all|db.tbl",
                     help="drop the failed tables on the target and import them again on the next run")
    ops.add_argument("--checkpoint-dump", metavar="DIR", help="write the checkpoint as CSV files into DIR")
    add_tidb_lightning_ctl_flags(p, ops)
    return p


# tidb-lightning-ctl operations on TiKV or on the local backend's engines: the TiDB backend has none.
_PHYSICAL_OPS = ("--compact", "--switch-mode", "--fetch-mode", "--import-engine", "--cleanup-engine")


def add_tidb_lightning_ctl_flags(p: argparse.ArgumentParser, ops: argparse._MutuallyExclusiveGroup) -> None:
    """The rest of tidb-lightning-ctl's command line, so that existing scripts run.

    Its global flags set the same keys as on ``tidb-lightning-py``; its operations on TiKV and on the
    local backend's engines are accepted and do nothing, since the TiDB backend writes through SQL only.
    """
    p.add_argument("-d", dest="data_source_dir", help="directory of the data dump (accepted; not needed here)")
    p.add_argument("--backend", help='import backend; only "tidb" is available')
    p.add_argument("--enable-checkpoint", type=_bool, metavar="true|false", help="whether checkpoints are used")
    p.add_argument("--tidb-status", type=int, dest="tidb_status", help="TiDB status port (accepted, unused)")
    p.add_argument("--ca", dest="ca_path", help="CA certificate path for TLS connections")
    p.add_argument("--cert", dest="cert_path", help="certificate path for TLS connections")
    p.add_argument("--key", dest="key_path", help="private key path for TLS connections")
    for flag in _PHYSICAL_OPS:
        ops.add_argument(flag, nargs="?", const="", metavar="VALUE",
                         help="tidb-lightning-ctl's operation for the physical backends: nothing to do here")


def main(argv: list[str] | None = None) -> int:
    prog = "tidb-lightning-py-ctl"
    args = build_parser().parse_args(argv)
    physical = [flag for flag in _PHYSICAL_OPS if getattr(args, flag[2:].replace("-", "_")) is not None]
    if physical:
        print(f"{prog}: {physical[0]} acts on TiKV or the local backend's engines; the TiDB backend has none, so "
              "there is nothing to do", file=sys.stderr)
        return 0
    overrides = overrides_from_args(args)  # tidb-lightning's global flags, as tidb-lightning-py reads them
    try:
        config = load_task_config(args.config, overrides=overrides, require_source=False)
        log = setup_logging(config.lightning.level, config.lightning.file, prog)
    except (ConfigError, OSError) as exc:
        failure = Failure(describe_failure(exc, None).line, EXIT_CONFIG)
        return report_failure(prog, failure, early_logger(args.log_file or ""), args.log_file or "")
    try:
        done = _run(args, config, log)
    except ValueError as exc:  # a table argument that is neither all nor db.tbl
        return report_failure(prog, Failure(str(exc), EXIT_CONFIG), log, config.lightning.file)
    except (Exception, KeyboardInterrupt) as exc:
        if isinstance(exc, KeyboardInterrupt):
            log.error("interrupted")
            return 130
        return report_failure(prog, describe_failure(exc, config.tidb), log, config.lightning.file)
    for line in done:
        print(line)
    if not done:
        print("nothing to do", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace, config: TaskConfig, log: logging.Logger) -> list[str]:
    """Do the one operation asked; what it changed, one line per task or table."""
    store = open_checkpoint_store(config)
    try:
        if args.checkpoint_remove:
            done = control.remove(store, args.checkpoint_remove, args.task_id)
            if args.checkpoint_remove == "all" and args.task_id and config.checkpoint.driver == "mysql":
                done += _forget_finished(config, args.task_id)
        elif args.checkpoint_error_ignore:
            done = control.error_ignore(store, args.checkpoint_error_ignore, args.task_id)
        elif args.checkpoint_error_destroy:
            with closing(connect(config.tidb)) as conn:
                done = control.error_destroy(store, conn, args.checkpoint_error_destroy, args.task_id,
                                             shadow_key if config.refresh.mode == "swap" else None)
        else:
            done = control.dump(store, args.checkpoint_dump, args.task_id)
    except BaseException:
        close_after_failure(store, log)
        raise
    store.close()
    return done


def _forget_finished(config: TaskConfig, task_id: str) -> list[str]:
    """Drop the operator's finished record of ``task_id`` too, so that a retry imports again."""
    with closing(connect(config.tidb)) as conn, conn.cursor() as cur:
        return [f"{task_id}: finished record"] if forget_finished(cur, config.checkpoint.schema, task_id) else []


if __name__ == "__main__":
    sys.exit(main())
