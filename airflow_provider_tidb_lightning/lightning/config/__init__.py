"""Task configuration: tidb-lightning's TOML keys, read into one typed :class:`TaskConfig`.

:mod:`.model` declares the shape and the defaults, :mod:`.load` reads and validates a task file,
:mod:`.loader_migration` translates a Loader configuration into a task file.
"""

from __future__ import annotations

from .load import load_task_config, task_config_to_dict
from .loader_migration import convert_loader_config, dump_task_toml
from .model import TaskConfig

__all__ = ["TaskConfig", "convert_loader_config", "dump_task_toml", "load_task_config", "task_config_to_dict"]
