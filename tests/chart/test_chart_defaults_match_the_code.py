"""The chart's values and the sidecar example state the same defaults as the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from syncer.configuration import parsing, settings

ROOT = Path(__file__).resolve().parents[2]


def _values() -> dict[str, Any]:
    text = (ROOT / "charts" / "netpol-syncer" / "values.yaml").read_text(encoding="utf-8")
    values: dict[str, Any] = yaml.safe_load(text)
    return values


def test_chart_values_default_to_the_code_defaults() -> None:
    """workers, resync, lease timings, shutdown grace and port equal the settings defaults."""
    values = _values()
    controller, election = values["controller"], values["leaderElection"]
    assert controller["workers"] == settings.default("workers")
    assert parsing.parse_duration(controller["resyncPeriod"]) == settings.default("resync_period")
    assert controller["logFormat"] == settings.default("log_format")
    assert controller["logLevel"] == settings.default("log_level")
    assert controller["shutdownGracePeriodSeconds"] == settings.default("shutdown_grace")
    for key, field in (
        ("leaseDuration", "leader_elect_lease_duration"),
        ("renewDeadline", "leader_elect_renew_deadline"),
        ("retryPeriod", "leader_elect_retry_period"),
    ):
        assert parsing.parse_duration(election[key]) == settings.default(field), key
    assert f":{values['metrics']['port']}" == settings.default("metrics_address")


def test_the_sidecar_example_passes_the_code_defaults() -> None:
    """The flags the vCluster sidecar example spells out carry the code's defaults."""
    text = (ROOT / "examples" / "vcluster-values.yaml").read_text(encoding="utf-8")
    args = [
        line.strip().removeprefix("- ")
        for line in text.splitlines()
        if line.strip().startswith("- --")
    ]
    given = dict(arg.split("=", 1) for arg in args if "=" in arg)
    assert given["--metrics-address"] == settings.default("metrics_address")
    assert int(given["--workers"]) == settings.default("workers")
    assert parsing.parse_duration(given["--resync-period"]) == settings.default("resync_period")
    grace = parsing.parse_duration(given["--shutdown-grace"])
    assert grace == settings.default("shutdown_grace")
