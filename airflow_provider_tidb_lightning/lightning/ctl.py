"""``tidb-lightning-py-ctl``: checkpoint control, with tidb-lightning-ctl's flags."""

from __future__ import annotations

import argparse
import sys

from .checkpoints import control, open_store
from .cli import LEVELS, _bool, overrides_from_args
from .common.connection import connect
from .config import load_task_config
from .errors import ConfigError, LightningError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tidb-lightning-py-ctl", description=__doc__)
    p.add_argument("--config", help="the task configuration file the import used (tidb-lightning-ctl's flags "
                                     "below may replace it or override it)")
    p.add_argument("--task-id", help="act on this task only (default: every task in the checkpoint store)")
    p.add_argument("--tidb-host")
    p.add_argument("--tidb-port", type=int)
    p.add_argument("--tidb-user")
    p.add_argument("--tidb-password")
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
    p.add_argument("-L", dest="level", choices=sorted(LEVELS), help="log level")
    p.add_argument("--log-file", help="log file path")
    p.add_argument("--ca", dest="ca_path", help="CA certificate path for TLS connections")
    p.add_argument("--cert", dest="cert_path", help="certificate path for TLS connections")
    p.add_argument("--key", dest="key_path", help="private key path for TLS connections")
    for flag in _PHYSICAL_OPS:
        ops.add_argument(flag, nargs="?", const="", metavar="VALUE",
                         help="tidb-lightning-ctl's operation for the physical backends: nothing to do here")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    physical = [flag for flag in _PHYSICAL_OPS if getattr(args, flag[2:].replace("-", "_")) is not None]
    if physical:
        print(f"tidb-lightning-py-ctl: {physical[0]} acts on TiKV or the local backend's engines; the TiDB backend "
              "has none, so there is nothing to do", file=sys.stderr)
        return 0
    overrides = overrides_from_args(args)
    try:
        config = load_task_config(args.config, overrides=overrides, require_source=False)
        store = open_store(config.checkpoint, lambda: connect(config.tidb))
        try:
            if args.checkpoint_remove:
                done = control.remove(store, args.checkpoint_remove, args.task_id)
            elif args.checkpoint_error_ignore:
                done = control.error_ignore(store, args.checkpoint_error_ignore, args.task_id)
            elif args.checkpoint_error_destroy:
                conn = connect(config.tidb)
                try:
                    done = control.error_destroy(store, conn, args.checkpoint_error_destroy, args.task_id)
                finally:
                    conn.close()
            else:
                done = control.dump(store, args.checkpoint_dump, args.task_id)
        finally:
            store.close()
    except (ConfigError, LightningError, ValueError, OSError) as exc:
        print(f"tidb-lightning-py-ctl: {exc}", file=sys.stderr)
        return 1
    for line in done:
        print(line)
    if not done:
        print("nothing to do", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
