"""``[conflict]`` as current tidb-lightning settles it for the TiDB backend (its ``Conflict.adjust``).

* ``strategy`` wins; when it is empty, the deprecated ``tikv-importer.on-duplicate`` is copied into it
  (with a warning that names the new key).
* ``threshold`` left out means 0 under ``error`` and 10000 under ``replace`` / ``ignore``; a threshold
  above 0 under ``error`` is an error, as in tidb-lightning.
* ``max-record-rows`` follows the threshold, except under ``replace``, where a batched ``REPLACE``
  cannot tell which rows replaced something, so nothing is recorded (0). A value the user set that
  this changes is warned about, with tidb-lightning's words.

When neither ``strategy`` nor ``on-duplicate`` is given, this provider keeps its own default,
``replace`` with no threshold (tidb-lightning ≥ 8 would use ``error``): see docs/migrating.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from ..errors import ConfigError
from .model import OnDuplicate, TaskConfig

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 10000  # tidb-lightning's DefaultRecordDuplicateThreshold


def adjust_conflict(cfg: TaskConfig, given: Collection[str], fail: Callable[[str, str], ConfigError]) -> None:
    """Settle ``cfg.conflict`` from the dotted keys the task ``given`` (see the module docstring)."""
    conflict = cfg.conflict
    if "tikv-importer.on-duplicate" in given:
        log.warning("%s: tikv-importer.on-duplicate is deprecated in tidb-lightning; use [conflict] strategy "
                    "instead (%s)", cfg.source, "conflict.strategy is also set, and wins" if conflict.strategy
                    else f"on-duplicate = {cfg.tikv_importer.on_duplicate.value!r} is applied as the strategy")
    if not conflict.strategy:
        if "tikv-importer.on-duplicate" not in given:
            return  # the provider's default: replace, no threshold
        conflict.strategy = cfg.tikv_importer.on_duplicate
    strategy = conflict.strategy
    if "conflict.threshold" not in given:
        conflict.threshold = 0 if strategy is OnDuplicate.ERROR else DEFAULT_THRESHOLD
    elif conflict.threshold > 0 and strategy is OnDuplicate.ERROR:
        raise fail('conflict.threshold cannot be set when use conflict.strategy = "error"', "conflict.threshold")
    record_rows = 0 if strategy is OnDuplicate.REPLACE else conflict.threshold
    if "conflict.max-record-rows" in given and conflict.max_record_rows != record_rows:
        if strategy is OnDuplicate.REPLACE:
            log.warning('%s: Cannot record duplication (conflict.max-record-rows > 0) when use '
                        'tikv-importer.backend = "tidb" and conflict.strategy = "replace". The value of '
                        "conflict.max-record-rows has been converted to 0.", cfg.source)
        else:
            log.warning("%s: Setting conflict.max-record-rows does not take affect. The value of "
                        "conflict.max-record-rows has been converted to conflict.threshold.", cfg.source)
    conflict.max_record_rows = record_rows
