"""Each run flag's default is defined once, and the help and README show that value."""

from __future__ import annotations

import dataclasses

import pytest

from syncer.configuration import flags, flagtable, parsing, settings
from syncer.pipeline import tuning
from syncer.runtime import leases


def test_the_readme_flag_table_is_generated_from_the_code() -> None:
    """README's table equals what the flag table renders; a drift names the command to fix it."""
    readme = flagtable.README.read_text(encoding="utf-8")
    assert flagtable.rewrite(readme) == readme, (
        "README.md's flag table differs from the code;"
        " run `python -m syncer.configuration.flagtable` to regenerate it"
    )


def test_the_controller_and_lease_defaults_are_the_settings_defaults() -> None:
    """Settings take the workers, resync and lease defaults from the classes that use them."""
    controller = tuning.ControllerSettings()
    lease = leases.LeaseSettings(name="n", namespace="ns", identity="i")
    assert settings.default("workers") == controller.workers
    assert settings.default("resync_period") == controller.resync_period
    assert settings.default("leader_elect_lease_duration") == lease.lease_duration
    assert settings.default("leader_elect_renew_deadline") == lease.renew_deadline
    assert settings.default("leader_elect_retry_period") == lease.retry_period


@pytest.mark.parametrize(
    ("flag", "shown"),
    [
        pytest.param("--workers", "4", id="int"),
        pytest.param("--resync-period", "5m", id="minutes"),
        pytest.param("--leader-elect-lease-duration", "15s", id="seconds"),
        pytest.param("--shutdown-grace", "2.5s", id="fraction"),
        pytest.param("--leader-elect", "false", id="bool"),
        pytest.param("--metrics-address", ":9810", id="text"),
        pytest.param("--virtual-kubeconfig", "required", id="required"),
    ],
)
def test_help_shows_the_default_the_code_uses(flag: str, shown: str) -> None:
    """The help text of a flag ends with its default, written as the flag would be given."""
    opt = next(o for o in flags.OPTIONS if o.flag == flag)
    assert opt.help_text.endswith(f"(default: {shown})")


def test_every_shown_default_reads_back_as_the_default() -> None:
    """A default shown as a value parses back to exactly the field's default."""
    for opt in flags.OPTIONS:
        if opt.default_text or opt.setting == "config_path":
            continue
        assert opt.parse(opt.shown_default) == settings.default(opt.setting), opt.flag


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(300.0, "5m"), (2.5, "2.5s"), (15.0, "15s"), (0.5, "500ms"), (7200.0, "2h"), (0.0, "0s")],
)
def test_durations_are_shown_the_shortest_way(seconds: float, text: str) -> None:
    """Durations are written in the largest whole unit, and parse back to the same seconds."""
    assert parsing.format_duration(seconds) == text
    assert parsing.parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("duration", "deadline", "retry"),
    [
        pytest.param(10.0, 10.0, 2.0, id="lease-not-longer-than-deadline"),
        pytest.param(15.0, 2.4, 2.0, id="deadline-within-jitter-of-retry"),
        pytest.param(15.0, 10.0, 0.0, id="no-retry-period"),
    ],
)
def test_the_elector_refuses_the_timings_the_cli_refuses(
    duration: float, deadline: float, retry: float
) -> None:
    """One lease-timing check: what the CLI reports, the elector's settings refuse too."""
    problems = leases.timing_problems(
        lease_duration=duration, renew_deadline=deadline, retry_period=retry
    )
    assert problems
    with pytest.raises(ValueError, match="must be longer than"):
        leases.LeaseSettings(
            name="n",
            namespace="ns",
            identity="i",
            lease_duration=duration,
            renew_deadline=deadline,
            retry_period=retry,
        )


def test_settings_fields_are_all_flags() -> None:
    """Every settings field but the file's content is a flag, so each has one default source."""
    names = {f.name for f in dataclasses.fields(settings.Settings)} - {"sync"}
    assert {o.setting for o in flags.OPTIONS} == names
