"""``--help`` is read on a terminal: plain text, no reStructuredText markup from the docstrings."""

from __future__ import annotations

import re

import pytest

from airflow_provider_tidb_lightning.lightning import cli, ctl


@pytest.mark.parametrize("module", [cli, ctl])
def test_help_has_no_rst_markup(module) -> None:
    text = module.build_parser().format_help()
    assert "`" not in text
    assert not re.search(r":(class|func|mod|meth|attr):", text)


def test_cli_help_lists_the_new_flags() -> None:
    text = cli.build_parser().format_help()
    assert "--dry-run" in text and "--status-addr" in text
