"""``tidb-lightning-py``: run an import from the command line, with tidb-lightning's flags.

Exit status 0 only when every table was imported; 1 when the import failed (one line names the
table, file, offset and server error, or the server, user or file that failed, and what to do);
2 for a bad configuration or command line; 130 / 143 when SIGINT / SIGTERM stopped it (resumable).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Any

from .config import convert_loader_config, dump_task_toml, load_task_config
from .config.model import CheckpointDriver, OnDuplicate
from .errors import ConfigError, ImportCancelled
from .importer.console import LEVELS, early_logger, report_failure, setup_logging
from .importer.failures import EXIT_CONFIG, Failure, describe_failure
from .importer.run import run_import


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes", "on"):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tidb-lightning-py", description=__doc__.splitlines()[0])
    p.add_argument("--config", help="tidb-lightning task configuration file (TOML)")
    p.add_argument("-d", dest="data_source_dir", help="directory of the data dump to read from")
    p.add_argument("--backend", help='import backend; only "tidb" is available')
    p.add_argument("--on-duplicate", choices=[m.value for m in OnDuplicate], help="what to do with duplicate keys")
    p.add_argument("--tidb-host", help="TiDB server host")
    p.add_argument("--tidb-port", type=int, help="TiDB server port")
    p.add_argument("--tidb-user", help="TiDB user name")
    p.add_argument("--tidb-password", help="TiDB password")
    p.add_argument("--tidb-status", type=int, dest="tidb_status",
                   help="TiDB status port (accepted for tidb-lightning's command lines; the import does not use it)")
    p.add_argument("-L", dest="level", choices=sorted(LEVELS), help="log level")
    p.add_argument("--log-file", help="log file path (default: standard error)")
    p.add_argument("--enable-checkpoint", type=_bool, metavar="true|false", help="whether to use checkpoints")
    p.add_argument("--checkpoint-driver", choices=[m.value for m in CheckpointDriver],
                   help="where checkpoints are kept")
    p.add_argument("--task-id", help="checkpoint identity (default: derived from the source and its routing)")
    p.add_argument("--region-concurrency", type=int, help="number of writer connections")
    p.add_argument("--from-loader-config", metavar="LOADER_TOML",
                   help="print the task configuration equivalent to a Loader configuration, and exit")
    add_conformance_flags(p)
    return p


def add_conformance_flags(p: argparse.ArgumentParser) -> None:
    """tidb-lightning's flags that select tables and set TLS, so that its command lines run unchanged."""
    p.add_argument("-f", dest="filter", action="append", metavar="RULE",
                   help="select tables to import (repeatable; replaces mydumper.filter, as in tidb-lightning)")
    p.add_argument("--ca", dest="ca_path", help="CA certificate path for TLS connections")
    p.add_argument("--cert", dest="cert_path", help="certificate path for TLS connections")
    p.add_argument("--key", dest="key_path", help="private key path for TLS connections")


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Command-line flags as dotted config overrides (flags win over the file, as in tidb-lightning)."""
    mapping = {
        "data_source_dir": "mydumper.data-source-dir", "backend": "tikv-importer.backend",
        "on_duplicate": "tikv-importer.on-duplicate", "tidb_host": "tidb.host", "tidb_port": "tidb.port",
        "tidb_user": "tidb.user", "tidb_password": "tidb.password", "tidb_status": "tidb.status-port",
        "level": "lightning.level", "log_file": "lightning.file", "enable_checkpoint": "checkpoint.enable",
        "checkpoint_driver": "checkpoint.driver", "region_concurrency": "lightning.region-concurrency",
        "filter": "mydumper.filter", "ca_path": "security.ca-path", "cert_path": "security.cert-path",
        "key_path": "security.key-path",
    }
    # getattr with a default: tidb-lightning-py-ctl has only some of these flags.
    return {key: getattr(args, attr, None) for attr, key in mapping.items() if getattr(args, attr, None) is not None}


class StopOnSignals:
    """SIGINT and SIGTERM ask the import to stop at its next consistent point, as ``on_kill`` does.

    Airflow, Kubernetes and systemd stop a process with SIGTERM; it must end the way Ctrl-C does:
    the writers finish their current batch, the checkpoint is consistent, the run exits 128 + the
    signal's number (130, 143) and a rerun resumes. A second signal stops at once.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.cancel = threading.Event()
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopOnSignals:
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: object) -> None:
        if self.received is not None:
            raise KeyboardInterrupt  # the second signal: stop now; the checkpoint still resumes
        self.received = signum
        self.log.info("received %s: stopping at the next consistent point (send it again to stop at once)",
                      signal.Signals(signum).name)
        self.cancel.set()

    @property
    def status(self) -> int:
        return 128 + (self.received or signal.SIGINT)


def main(argv: list[str] | None = None) -> int:
    prog = "tidb-lightning-py"
    args = build_parser().parse_args(argv)
    if args.from_loader_config:
        try:
            sys.stdout.write(dump_task_toml(convert_loader_config(args.from_loader_config)))
        except (ConfigError, OSError) as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return 2
        return 0
    try:
        config = load_task_config(args.config, overrides=overrides_from_args(args))
        log = setup_logging(config.lightning.level, config.lightning.file)
    except (ConfigError, OSError) as exc:
        failure = Failure(describe_failure(exc, None).line, EXIT_CONFIG)
        return report_failure(prog, failure, early_logger(args.log_file or ""), args.log_file or "")
    with StopOnSignals(log) as stop:
        try:
            summary = run_import(config, task_id=args.task_id, cancel=stop.cancel, logger=log)
        except (Exception, KeyboardInterrupt) as exc:
            if stop.received is not None or isinstance(exc, KeyboardInterrupt):
                name = signal.Signals(stop.received or signal.SIGINT).name
                log.error("stopped by %s: %s", name, exc if isinstance(exc, ImportCancelled) else
                          "at once; the checkpoint resumes from the last committed batch")
                return stop.status
            return report_failure(prog, describe_failure(exc, config.tidb), log, config.lightning.file)
    print(json.dumps(summary.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
