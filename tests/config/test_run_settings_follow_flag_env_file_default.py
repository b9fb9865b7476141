"""Each run setting comes from its flag, else NETPOL_SYNCER_<FLAG>, else file, else default."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import patches
import translate
from syncer.configuration import config, flags, parsing, resolving, settings

CONFIG = """\
sync:
  toHost:
    networkPolicies:
      enabled: false
      patches:
        - {op: add, path: /metadata/labels/team, value: from-file}
"""


@pytest.fixture
def kubeconfig(tmp_path: Path) -> str:
    path = tmp_path / "virtual.kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\n")
    return str(path)


@pytest.fixture
def no_default_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the default config path at a file that does not exist (as outside a pod)."""
    path = tmp_path / "absent" / "config.yaml"
    monkeypatch.setattr(config, "DEFAULT_PATH", str(path))
    return path


def _resolve(
    flags: dict[str, str | None] | None = None,
    environ: dict[str, str] | None = None,
    namespace_file: Path | None = None,
) -> settings.Settings:
    return resolving.resolve(
        flags or {},
        environ=environ or {},
        namespace_file=namespace_file or Path("/nonexistent/namespace"),
    )


@pytest.mark.usefixtures("no_default_config")
def test_defaults_apply_when_nothing_else_is_given(kubeconfig: str) -> None:
    """With only the required values, every other field has its documented default."""
    resolved = _resolve(
        {"name": "vc1", "host_namespace": "team-a", "virtual_kubeconfig": kubeconfig}
    )
    assert resolved == settings.Settings(
        name="vc1",
        host_namespace="team-a",
        virtual_kubeconfig=kubeconfig,
        host_kubeconfig=None,
        config_path=config.DEFAULT_PATH,
        sync=config.NetworkPolicySync(enabled=True, patches=patches.PatchList(), source=None),
        metrics_address=":9810",
        workers=4,
        resync_period=300.0,
        leader_elect=False,
        leader_elect_resource_name="vc1-netpol-syncer",
        leader_elect_resource_namespace="team-a",
        leader_elect_lease_duration=15.0,
        leader_elect_renew_deadline=10.0,
        leader_elect_retry_period=2.0,
        log_format="json",
        log_level="info",
        virtual_qps=20.0,
        virtual_burst=40,
        host_qps=20.0,
        host_burst=40,
        shutdown_grace=2.5,
    )
    assert resolved.target == translate.Target(vcluster="vc1", host_namespace="team-a")


@pytest.mark.parametrize(
    ("flags", "environ", "file_text", "expected"),
    [
        pytest.param(
            {"name": "flag"},
            {"NETPOL_SYNCER_NAME": "env", "VCLUSTER_NAME": "vc"},
            None,
            {"name": "flag"},
            id="name-flag-wins",
        ),
        pytest.param(
            {},
            {"NETPOL_SYNCER_NAME": "env", "VCLUSTER_NAME": "vc"},
            None,
            {"name": "env"},
            id="name-own-env-next",
        ),
        pytest.param({}, {"VCLUSTER_NAME": "vc"}, None, {"name": "vc"}, id="name-vcluster-env"),
        pytest.param(
            {},
            {"NETPOL_SYNCER_NAME": "", "VCLUSTER_NAME": "vc"},
            None,
            {"name": "vc"},
            id="empty-env-is-unset",
        ),
        pytest.param(
            {"host_namespace": "flag"},
            {"NETPOL_SYNCER_HOST_NAMESPACE": "env", "POD_NAMESPACE": "pod"},
            "file",
            {"host_namespace": "flag"},
            id="namespace-flag-wins",
        ),
        pytest.param(
            {},
            {"NETPOL_SYNCER_HOST_NAMESPACE": "env", "POD_NAMESPACE": "pod"},
            "file",
            {"host_namespace": "env"},
            id="namespace-env-next",
        ),
        pytest.param(
            {},
            {"POD_NAMESPACE": "pod"},
            "file",
            {"host_namespace": "pod"},
            id="namespace-pod-env-next",
        ),
        pytest.param(
            {}, {}, "file\n", {"host_namespace": "file"}, id="namespace-service-account-file-last"
        ),
        pytest.param(
            {"workers": "8"},
            {"NETPOL_SYNCER_WORKERS": "2"},
            None,
            {"workers": 8},
            id="workers-flag",
        ),
        pytest.param({}, {"NETPOL_SYNCER_WORKERS": "2"}, None, {"workers": 2}, id="workers-env"),
        pytest.param(
            {}, {"NETPOL_SYNCER_LEADER_ELECT": "true"}, None, {"leader_elect": True}, id="bool-env"
        ),
        pytest.param(
            {"leader_elect": "false"},
            {"NETPOL_SYNCER_LEADER_ELECT": "true"},
            None,
            {"leader_elect": False},
            id="bool-flag-beats-env",
        ),
        pytest.param(
            {},
            {"NETPOL_SYNCER_RESYNC_PERIOD": "1m30s"},
            None,
            {"resync_period": 90.0},
            id="duration-env",
        ),
        pytest.param(
            {"log_format": "Console"},
            {},
            None,
            {"log_format": "console"},
            id="choice-case-insensitive",
        ),
        pytest.param(
            {"leader_elect_resource_name": "lease.example"},
            {},
            None,
            {"leader_elect_resource_name": "lease.example"},
            id="lease-name-flag",
        ),
        pytest.param(
            {},
            {"NETPOL_SYNCER_HOST_QPS": "7.5", "NETPOL_SYNCER_HOST_BURST": "15"},
            None,
            {"host_qps": 7.5, "host_burst": 15},
            id="client-limits-env",
        ),
    ],
)
@pytest.mark.usefixtures("no_default_config")
def test_each_value_follows_the_precedence(
    tmp_path: Path,
    kubeconfig: str,
    flags: dict[str, str | None],
    environ: dict[str, str],
    file_text: str | None,
    expected: dict[str, Any],
) -> None:
    """Flag > NETPOL_SYNCER_<FLAG> > conventional variable > service-account file > default."""
    namespace_file = tmp_path / "namespace"
    if file_text is not None:
        namespace_file.write_text(file_text)
    base = {"name": "vc1", "host_namespace": "team-a", "virtual_kubeconfig": kubeconfig}
    for key in ("name", "host_namespace"):
        if key in expected and key not in flags:
            base.pop(key)
    resolved = _resolve({**base, **flags}, environ, namespace_file)
    assert {k: getattr(resolved, k) for k in expected} == expected


def test_the_config_file_comes_from_flag_then_env_then_default(
    tmp_path: Path, kubeconfig: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--config beats NETPOL_SYNCER_CONFIG, which beats the default path; each is read."""
    files = {}
    for name in ("flag", "env", "default"):
        files[name] = tmp_path / f"{name}.yaml"
        files[name].write_text(CONFIG.replace("from-file", name))
    monkeypatch.setattr(config, "DEFAULT_PATH", str(files["default"]))
    required = {"name": "vc1", "host_namespace": "team-a", "virtual_kubeconfig": kubeconfig}
    env = {"NETPOL_SYNCER_CONFIG": str(files["env"])}

    def team(resolved: settings.Settings) -> Any:
        return resolved.sync.patches.operations[0]["value"]  # type: ignore[typeddict-item]

    by_flag = _resolve({**required, "config_path": str(files["flag"])}, env)
    assert (by_flag.config_path, team(by_flag)) == (str(files["flag"]), "flag")
    by_env = _resolve(required, env)
    assert (by_env.config_path, team(by_env)) == (str(files["env"]), "env")
    by_default = _resolve(required)
    assert (by_default.config_path, team(by_default)) == (str(files["default"]), "default")
    assert by_default.sync.enabled is False
    assert by_default.sync.source == str(files["default"])


def test_a_missing_config_means_the_defaults_wherever_it_was_named(
    tmp_path: Path, kubeconfig: str, no_default_config: Path
) -> None:
    """An absent config file, at the default path or one given by flag or env, means the
    defaults (sync on, no patches): the chart mounts it from an optional ConfigMap."""
    required = {"name": "vc1", "host_namespace": "team-a", "virtual_kubeconfig": kubeconfig}
    assert _resolve(required).sync.source is None
    missing = str(tmp_path / "absent.yaml")
    by_flag = _resolve({**required, "config_path": missing})
    by_env = _resolve(required, {"NETPOL_SYNCER_CONFIG": missing})
    for resolved in (by_flag, by_env):
        assert resolved.config_path == missing
        assert resolved.sync.source is None
        assert resolved.sync.enabled is True
        assert len(resolved.sync.patches) == 0


def test_the_virtual_kubeconfig_may_appear_later(no_default_config: Path, tmp_path: Path) -> None:
    """A virtual kubeconfig that does not exist yet is accepted: run waits for it."""
    later = str(tmp_path / "written-later")
    resolved = _resolve({"name": "vc1", "host_namespace": "team-a", "virtual_kubeconfig": later})
    assert resolved.virtual_kubeconfig == later


@pytest.mark.usefixtures("no_default_config")
def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Bad values from flags and environment, missing values and a bad config come together."""
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text("sync: {toHost: {networkPolicies: {patches: [{op: ad, path: /x}]}}}\n")
    with pytest.raises(settings.SettingsError) as raised:
        _resolve(
            {
                "config_path": str(bad_config),
                "name": "Not_A_Label",
                "workers": "zero",
                "leader_elect": "perhaps",
                "metrics_address": "8080",
            },
            {"NETPOL_SYNCER_RESYNC_PERIOD": "5 minutes", "NETPOL_SYNCER_HOST_KUBECONFIG": "/nope"},
        )
    assert raised.value.problems == (
        "--name: 'Not_A_Label' is not a DNS-1123 label (lowercase a-z, 0-9 and '-', at most 63"
        " characters)",
        "environment variable NETPOL_SYNCER_HOST_KUBECONFIG: '/nope': no such file",
        "--metrics-address: metrics address '8080': expected HOST:PORT, :PORT or [IPV6]:PORT",
        "--workers: 'zero' is not a whole number",
        "environment variable NETPOL_SYNCER_RESYNC_PERIOD: '5 minutes' is not a duration (use"
        " e.g. 15s, 1m30s, 500ms or seconds)",
        "--leader-elect: 'perhaps' is not a boolean (use true or false)",
        "--host-namespace is required outside a pod (or NETPOL_SYNCER_HOST_NAMESPACE, or"
        " POD_NAMESPACE)",
        "--virtual-kubeconfig (or NETPOL_SYNCER_VIRTUAL_KUBECONFIG) is required: the kubeconfig"
        " of the virtual cluster's API server",
        f"--config: {bad_config}:1: sync.toHost.networkPolicies.patches[0].op: unknown op 'ad';"
        " expected one of add, remove, replace, move, copy, test",
    )


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        pytest.param(
            {"leader_elect_lease_duration": "10s"},
            "--leader-elect-lease-duration (10s) must be longer than"
            " --leader-elect-renew-deadline (10s)",
            id="lease-not-longer-than-deadline",
        ),
        pytest.param(
            {"leader_elect_retry_period": "9s"},
            "--leader-elect-renew-deadline (10s) must be longer than 1.2 x"
            " --leader-elect-retry-period (9s)",
            id="retry-too-close-to-deadline",
        ),
    ],
)
@pytest.mark.usefixtures("no_default_config")
def test_leader_election_timings_must_nest(
    kubeconfig: str, flags: dict[str, str], problem: str
) -> None:
    """Lease duration > renew deadline > 1.2 x retry period, as client-go requires."""
    required = {"name": "vc1", "host_namespace": "team-a", "virtual_kubeconfig": kubeconfig}
    with pytest.raises(settings.SettingsError) as raised:
        _resolve({**required, **flags})
    assert raised.value.problems == (problem,)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("15", 15.0, id="plain-seconds"),
        pytest.param("1.5", 1.5, id="fraction"),
        pytest.param("15s", 15.0, id="seconds"),
        pytest.param("500ms", 0.5, id="milliseconds"),
        pytest.param("1m30s", 90.0, id="minutes-seconds"),
        pytest.param("2h", 7200.0, id="hours"),
        pytest.param("0", 0.0, id="zero"),
    ],
)
def test_durations_read_go_style_units(text: str, seconds: float) -> None:
    """Durations accept the Go forms operators know from client-go flags, or bare seconds."""
    assert parsing.parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "5x", "1m 30s", "-1s", "s", "nan", "inf", "1.s"], ids=lambda t: repr(t)
)
def test_bad_durations_are_rejected(text: str) -> None:
    """Anything but a finite, non-negative Go-style duration is an error."""
    with pytest.raises(ValueError, match="duration"):
        parsing.parse_duration(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("1", True),
        ("Yes", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("OFF", False),
    ],
)
def test_booleans_read_common_spellings(text: str, value: bool) -> None:
    """The usual true/false spellings of environment variables are understood."""
    assert parsing.parse_bool(text) is value


def test_every_flag_has_an_environment_variable_named_after_it() -> None:
    """NETPOL_SYNCER_ plus the flag in upper case with underscores, for every run flag."""
    envs = {o.flag: o.env for o in flags.OPTIONS}
    assert envs["--host-namespace"] == "NETPOL_SYNCER_HOST_NAMESPACE"
    assert envs["--leader-elect-renew-deadline"] == "NETPOL_SYNCER_LEADER_ELECT_RENEW_DEADLINE"
    fields = {f.name for f in dataclasses.fields(settings.Settings)} - {"sync"}
    assert {o.setting for o in flags.OPTIONS} == fields


def test_settings_are_frozen(kubeconfig: str) -> None:
    """Settings cannot change after start; code that needs another value builds a new object."""
    resolved = settings.Settings(name="vc1", host_namespace="a", virtual_kubeconfig=kubeconfig)
    with pytest.raises(dataclasses.FrozenInstanceError):
        resolved.workers = 2  # type: ignore[misc]
