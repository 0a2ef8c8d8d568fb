"""The ``[refresh]`` section: defaults, spellings and errors that name the key."""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.config import load_task_config
from airflow_provider_tidb_lightning.lightning.config.load import task_config_to_dict
from airflow_provider_tidb_lightning.lightning.config.model import RefreshMode
from airflow_provider_tidb_lightning.lightning.errors import ConfigError

SOURCE = {"mydumper": {"data-source-dir": "/dumps/today"}}


def test_refresh_is_off_by_default():
    refresh = load_task_config(SOURCE).refresh
    assert (refresh.mode, refresh.verify, refresh.allow_empty, refresh.keep_old) == (RefreshMode.NONE, True, False, 0)


def test_swap_mode_and_its_options_load_and_round_trip():
    config = load_task_config({**SOURCE, "refresh": {"mode": "SWAP", "verify": False, "allow-empty": True,
                                                      "keep-old": 3}})
    assert (config.refresh.mode, config.refresh.verify, config.refresh.allow_empty, config.refresh.keep_old) == (
        RefreshMode.SWAP, False, True, 3)
    assert load_task_config(task_config_to_dict(config)).refresh == config.refresh
    assert load_task_config(SOURCE, overrides={"refresh.mode": "off"}).refresh.mode == RefreshMode.NONE


@pytest.mark.parametrize("section, message", [
    ({"mode": "shadow"}, r'unknown value "shadow".*key \'refresh.mode\''),
    ({"keep-old": -1}, r"at least 0|between 0 and 100.*refresh.keep-old"),
    ({"keep_old": 1}, r'did you mean "refresh.keep-old"'),
])
def test_bad_refresh_settings_name_the_key(section, message):
    with pytest.raises(ConfigError, match=message):
        load_task_config({**SOURCE, "refresh": section})
