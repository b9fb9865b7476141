"""From flags, environment and files to :class:`settings.Settings`: precedence and validation.

Each value is taken from, in order: the command-line flag; the environment variable
``NETPOL_SYNCER_<FLAG>`` (``--host-namespace`` -> ``NETPOL_SYNCER_HOST_NAMESPACE``; an empty
variable counts as unset, as Helm charts often render them); a few conventional variables
(``VCLUSTER_NAME``, ``POD_NAMESPACE``) and the service-account namespace file; the config file
(which supplies only ``sync.toHost.networkPolicies``, see :mod:`syncer.configuration.config`);
the default.

:func:`resolve` collects every problem before failing, so one run of a misconfigured pod shows
all of them; the CLI prints them and exits 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, cast

from syncer.configuration import config, flags, parsing, settings
from syncer.runtime import leases

SERVICE_ACCOUNT_NAMESPACE: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
"""Where Kubernetes mounts the pod's own namespace; the default host namespace in a sidecar."""

_REQUIRED: Final = {
    "name": "--name (or NETPOL_SYNCER_NAME, or VCLUSTER_NAME) is required",
    "host_namespace": (
        "--host-namespace is required outside a pod (or NETPOL_SYNCER_HOST_NAMESPACE,"
        " or POD_NAMESPACE)"
    ),
    "virtual_kubeconfig": (
        "--virtual-kubeconfig (or NETPOL_SYNCER_VIRTUAL_KUBECONFIG) is required: the kubeconfig"
        " of the virtual cluster's API server"
    ),
}

_LEASE_TIMINGS: Final = (
    "leader_elect_lease_duration",
    "leader_elect_renew_deadline",
    "leader_elect_retry_period",
)


def pick(
    opt: flags.Option, given: Mapping[str, str | None], environ: Mapping[str, str]
) -> tuple[str, str] | None:
    """``(raw text, where it came from)`` by precedence flag > env > fallback env, or None."""
    raw = given.get(opt.setting)
    if raw is not None:
        return raw, opt.flag
    for name in (opt.env, *opt.fallback_env):
        value = environ.get(name, "")
        if value:
            return value, name
    return None


def resolve(
    given: Mapping[str, str | None],
    *,
    environ: Mapping[str, str],
    namespace_file: Path = SERVICE_ACCOUNT_NAMESPACE,
) -> settings.Settings:
    """Settings from ``given`` (raw flag text by field name, None when not given) and the rest.

    Reads the config file too. Raises :class:`settings.SettingsError` listing every problem.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    invalid: set[str] = set()
    for opt in flags.OPTIONS:
        picked = pick(opt, given, environ)
        if picked is None:
            continue
        raw, origin = picked
        try:
            values[opt.setting] = opt.parse(raw)
        except ValueError as exc:
            invalid.add(opt.setting)
            problems.append(f"{_shown(origin)}: {exc}")

    if "host_namespace" not in values and "host_namespace" not in invalid:
        namespace = _read_namespace_file(namespace_file, problems)
        if namespace is not None:
            values["host_namespace"] = namespace
    for name, message in _REQUIRED.items():
        if name not in values and name not in invalid:
            problems.append(message)

    picked_config = pick(flags.option("config_path"), given, environ)
    path: str = values.get("config_path", config.DEFAULT_PATH)
    try:
        # Absent means the defaults, named or not; present but invalid stays fatal (exit 2).
        values["sync"] = config.load(path, missing_ok=True)
    except config.ConfigError as exc:
        origin = "" if picked_config is None else _shown(picked_config[1]) + ": "
        problems.extend(origin + p.format(exc.source) for p in exc.problems)

    duration, deadline, retry = (
        cast(float, values.get(name, settings.default(name))) for name in _LEASE_TIMINGS
    )
    problems.extend(
        leases.timing_problems(
            lease_duration=duration,
            renew_deadline=deadline,
            retry_period=retry,
            names=cast(tuple[str, str, str], tuple(flags.option(n).flag for n in _LEASE_TIMINGS)),
        )
    )
    if problems:
        raise settings.SettingsError(problems)
    values["config_path"] = path
    return settings.Settings(**values)


def _shown(origin: str) -> str:
    return origin if origin.startswith("--") else f"environment variable {origin}"


def _read_namespace_file(path: Path, problems: list[str]) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read the pod's namespace: {exc}")
        return None
    try:
        return parsing.parse_dns_label(text)
    except ValueError as exc:
        problems.append(f"{path}: {exc}")
        return None
