"""The fault campaign of ``python -m bench chaos`` at CI size: two real ``netpol-syncer run
--leader-elect`` processes through host write failures, 429s, watch drops, compaction, a host
restart, a virtual outage, ``kill -9`` mid-burst and a failover onto a standby whose virtual
watch is stalled; then every check of the campaign must pass (issue 10, SPEC §6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import chaos

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One campaign (seed 1, 60 policies, 8 s outage) shared by the checks below."""
    import asyncio

    work: Path = tmp_path_factory.mktemp("chaos")
    plan = chaos.Plan(policies=60, seed=1, outage=8.0, churn_pause=0.05, quick=True)
    result = asyncio.run(chaos.run_campaign(plan, work))
    assert "error" not in result, json.dumps(result, indent=1)
    return result


def _explain(report: dict[str, Any]) -> str:
    keys = ("checks", "violations", "converge_after_fault_s", "timeline", "failover", "logs")
    return json.dumps({k: report.get(k) for k in keys}, indent=1)[:6000]


@pytest.mark.parametrize("check", [
    pytest.param("converged_within_15s", id="host equals the translation within 15 s"),
    pytest.param("converged_after_each_fault", id="the host catches up after each fault"),
    pytest.param("no_live_copy_deleted", id="no live copy was ever deleted"),
    pytest.param("foreign_untouched", id="foreign host policies untouched"),
    pytest.param("never_unscoped", id="no unscoped host policy ever existed"),
    pytest.param("tampering_repaired", id="tampered copies repaired within one resync"),
    pytest.param("no_unexpected_exit", id="no process died unless told to"),
    pytest.param("healthy_at_end", id="both replicas are healthy afterwards"),
    pytest.param("stalled_standby_took_over", id="the failover really hit a stalled standby"),
])  # fmt: skip
def test_the_campaign_passes(report: dict[str, Any], check: str) -> None:
    """The named check of the campaign held."""
    assert report["checks"][check], _explain(report)


def test_every_fault_was_injected(report: dict[str, Any]) -> None:
    """The campaign really injected what it claims, so a pass means something."""
    faults = report["faults"]
    assert faults["host_write_500"] > 0
    assert faults["host_429"] > 0
    assert faults["watch_drops"]["virtual"] > 0
    assert faults["watch_drops"]["host"] > 0
    assert faults["compactions"] == 2
    assert faults["host_restarts"] == 1
    assert faults["kill9"] == 2
    assert faults["stalled_watches"] >= 1
