"""``tidb-lightning-py-ctl``: checkpoint control, with tidb-lightning-ctl's flags."""

from __future__ import annotations

import argparse
import sys

from .checkpoints import control, open_store
from .common.connection import connect
from .config import load_task_config
from .errors import ConfigError, LightningError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tidb-lightning-py-ctl", description=__doc__.replace("``", ""))
    p.add_argument("--config", required=True, help="the task configuration file the import used")
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
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {key: value for key, value in (("tidb.host", args.tidb_host), ("tidb.port", args.tidb_port),
                                              ("tidb.user", args.tidb_user), ("tidb.password", args.tidb_password))
                 if value is not None}
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
