"""``netpol-syncer version`` and the help texts name what is installed and what exists."""

from __future__ import annotations

import platform
from importlib import metadata

from syncer.configuration import flags
from tests.cli.invoke import netpol_syncer


def test_version_comes_from_the_package_metadata() -> None:
    """The version line carries the installed distribution's version and Python's."""
    done = netpol_syncer("version")
    assert done.returncode == 0
    assert done.stdout == (
        f"netpol-syncer {metadata.version('netpol-syncer')} (Python {platform.python_version()})\n"
    )


def test_the_top_level_help_lists_every_command() -> None:
    """--help names the five commands."""
    done = netpol_syncer("--help")
    assert done.returncode == 0
    for command in ("run", "translate", "check-config", "demo", "version"):
        assert f"    {command}" in done.stdout


def test_run_help_lists_every_setting_flag() -> None:
    """Every settings flag is offered by run, so no setting is reachable by environment only."""
    done = netpol_syncer("run", "--help")
    assert done.returncode == 0
    for option in flags.OPTIONS:
        assert option.flag in done.stdout


def test_a_missing_command_or_unknown_flag_is_a_usage_error() -> None:
    """argparse's usage errors exit 2."""
    assert netpol_syncer().returncode == 2
    done = netpol_syncer("version", "--bogus")
    assert done.returncode == 2
    assert "unrecognized arguments: --bogus" in done.stderr
