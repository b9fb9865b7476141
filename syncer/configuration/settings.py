"""Run settings (SPEC §5): every ``netpol-syncer run`` flag in one frozen object.

Each value is taken from, in order: the command-line flag; the environment variable
``NETPOL_SYNCER_<FLAG>`` (``--host-namespace`` -> ``NETPOL_SYNCER_HOST_NAMESPACE``; an empty
variable counts as unset, as Helm charts often render them); a few conventional variables
(``VCLUSTER_NAME``, ``POD_NAMESPACE``) and the service-account namespace file; the config file
(which supplies only ``sync.toHost.networkPolicies``, see
:mod:`syncer.configuration.config`); the default.

:func:`resolve` collects every problem before failing, so one run of a misconfigured pod shows
all of them; the CLI prints them and exits 2. :data:`OPTIONS` is the single table the CLI builds
its flags and help from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final, Literal, cast, get_args

import translate
from syncer.configuration import config

ENV_PREFIX: Final = "NETPOL_SYNCER_"
SERVICE_ACCOUNT_NAMESPACE: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
"""Where Kubernetes mounts the pod's own namespace; the default host namespace in a sidecar."""

LogFormat = Literal["json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]

JITTER_FACTOR: Final = 1.2
"""client-go's leader-election jitter: renew deadline must exceed retry period times this."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything ``run`` needs, validated. Build it with :func:`resolve` (or directly in tests)."""

    name: str
    """The vCluster name ("suffix", usually the Helm release). No default: it is baked into host
    names and the managed-by marker, so guessing it wrong would orphan every host copy."""
    host_namespace: str
    """Namespace the vCluster syncs into. Defaults to the pod's own namespace, because the
    syncer runs beside (or inside) the vCluster control plane."""
    virtual_kubeconfig: str
    """Kubeconfig for the virtual API server. No default: in-cluster credentials would reach the
    host, and syncing the host's policies onto itself must never happen by accident. It need not
    exist yet: vCluster writes it once its controllers run, and ``run`` waits for it."""
    host_kubeconfig: str | None = None
    """Kubeconfig for the host API server; None means in-cluster, where the sidecar runs."""
    config_path: str = config.DEFAULT_PATH
    """vcluster.yaml; defaults to where vCluster mounts it. A missing file means the defaults
    (sync on, no patches), wherever it was named: the chart mounts it from an optional
    ConfigMap, which must not keep the vCluster pod from starting."""
    sync: config.NetworkPolicySync = field(default_factory=config.NetworkPolicySync)
    """``sync.toHost.networkPolicies`` read from ``config_path``."""
    metrics_address: str = ":9810"
    """``[host]:port`` serving /metrics, /healthz and /readyz, on all interfaces. A sidecar
    shares the vCluster pod's ports; 9810 collides with nothing vCluster runs there (8443,
    6443, 10257, 10259, 2379-2381, and the embedded CoreDNS's 1053, 8080, 8181, 9153)."""
    workers: int = 4
    """Concurrent reconciles. Each is I/O-bound (one host write at most); four keeps a burst of
    changes moving without flooding the host API server, which rate limits anyway."""
    resync_period: float = 300.0
    """Seconds between re-enqueueing every virtual object (0 disables). Watches repair drift
    within seconds; this is the safety net for a missed event, and a no-op reconcile costs no
    API call, so five minutes bounds staleness cheaply."""
    leader_elect: bool = False
    """Off by default: the sidecar runs once per vCluster pod. Turn on with several replicas."""
    leader_elect_resource_name: str = ""
    """Lease name; empty means ``<name>-netpol-syncer``, unique per vCluster in a namespace."""
    leader_elect_resource_namespace: str = ""
    """Lease namespace; empty means the host namespace, where the syncer already has RBAC."""
    leader_elect_lease_duration: float = 15.0
    """Seconds a non-leader waits before taking over; client-go's default."""
    leader_elect_renew_deadline: float = 10.0
    """Seconds the leader keeps retrying a renewal before it stops writing; client-go's default."""
    leader_elect_retry_period: float = 2.0
    """Seconds between lease attempts; client-go's default."""
    log_format: LogFormat = "json"
    """JSON lines for log collectors; ``console`` for people reading a terminal."""
    log_level: LogLevel = "info"
    """Info logs every write and refusal, not every no-op reconcile."""
    virtual_qps: float = 20.0
    """Sustained requests/second to the virtual API server. Above client-go's 5 because events
    and the initial list of thousands of policies should not queue behind a trickle."""
    virtual_burst: int = 40
    """Short bursts above ``virtual_qps``; twice the rate, like client-go's 5/10."""
    host_qps: float = 20.0
    """Sustained requests/second to the host API server, shared with every other tenant: high
    enough to write 1,000 policies in under a minute, low enough not to crowd others out."""
    host_burst: int = 40
    """Short bursts above ``host_qps``; twice the rate."""
    shutdown_grace: float = 2.5
    """Seconds in-flight writes get after SIGTERM (``running.SHUTDOWN_GRACE``). A host write
    takes milliseconds; a hung one is abandoned (the next process reconciles it again). With
    event flush, lease release and server stop the process is gone within about 5 s: well
    inside the 15 s grace period of vCluster's control-plane pod, which the sidecar shares."""

    def __post_init__(self) -> None:
        # Derived defaults: they depend on other fields, so they cannot be plain defaults.
        if not self.leader_elect_resource_name:
            object.__setattr__(self, "leader_elect_resource_name", f"{self.name}-netpol-syncer")
        if not self.leader_elect_resource_namespace:
            object.__setattr__(self, "leader_elect_resource_namespace", self.host_namespace)

    @property
    def target(self) -> translate.Target:
        """Where host copies go and whose marker they carry."""
        return translate.Target(vcluster=self.name, host_namespace=self.host_namespace)


class SettingsError(ValueError):
    """The settings cannot be used; ``problems`` lists every reason (the CLI exits 2)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


# --- parsing of single values: each raises ValueError with a message that names no source ---

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})


def parse_dns_label(raw: str) -> str:
    """A Kubernetes name that must be a DNS-1123 label (namespaces, vCluster names)."""
    if len(raw) > 63 or not _DNS_LABEL.match(raw):
        raise ValueError(
            f"{raw!r} is not a DNS-1123 label (lowercase a-z, 0-9 and '-', at most 63 characters)"
        )
    return raw


def parse_dns_subdomain(raw: str) -> str:
    if len(raw) > 253 or not _DNS_SUBDOMAIN.match(raw):
        raise ValueError(f"{raw!r} is not a valid Kubernetes object name (DNS-1123 subdomain)")
    return raw


def parse_file(raw: str) -> str:
    """A path that must name an existing file now, not at the first API call."""
    if not raw:
        raise ValueError("is empty")
    if not Path(raw).is_file():
        raise ValueError(f"{raw!r}: no such file")
    return raw


def parse_path(raw: str) -> str:
    if not raw:
        raise ValueError("is empty")
    return raw


def parse_duration(raw: str) -> float:
    """Seconds from ``15s``, ``1m30s``, ``500ms``, ``2h`` or a plain number of seconds."""
    text = raw.strip()
    try:
        seconds = float(text)
    except ValueError:
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(
                f"{raw!r} is not a duration (use e.g. 15s, 1m30s, 500ms or seconds)"
            ) from None
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"{raw!r} must be a finite, non-negative duration")
    return seconds


def parse_positive_duration(raw: str) -> float:
    seconds = parse_duration(raw)
    if seconds <= 0:
        raise ValueError(f"{raw!r} must be longer than zero")
    return seconds


def parse_positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise ValueError(f"{raw!r} must be at least 1")
    return value


def parse_positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"{raw!r} must be a number greater than zero")
    return value


def parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{raw!r} is not a boolean (use true or false)")


def parse_address(raw: str) -> str:
    """``[host]:port`` as the metrics server parses it (``:8080``, ``[::]:8080``, ...)."""
    # Imported here: the server pulls in aiohttp, which the offline commands never need.
    from syncer.runtime import serving

    serving.parse_address(raw)
    return raw


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        lowered = raw.strip().lower()
        if lowered not in allowed:
            raise ValueError(f"{raw!r} is not one of {', '.join(allowed)}")
        return lowered

    return parse


# --- the flag table ---


@dataclass(frozen=True, slots=True)
class Option:
    """One ``run`` flag: the settings field it fills, and how to read it from text."""

    setting: str
    """The :class:`Settings` field (and argparse ``dest``)."""
    flag: str
    parse: Callable[[str], object]
    help: str
    metavar: str = ""
    fallback_env: tuple[str, ...] = ()
    """Conventional variables consulted after ``NETPOL_SYNCER_<FLAG>``."""
    boolean: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.flag.removeprefix("--").upper().replace("-", "_")


OPTIONS: Final[tuple[Option, ...]] = (
    Option(
        "config_path",
        "--config",
        parse_path,
        f"vcluster.yaml to read sync.toHost.networkPolicies from (default {config.DEFAULT_PATH};"
        " if the file is absent the defaults apply: enabled, no patches)",
        "PATH",
    ),
    Option(
        "name",
        "--name",
        parse_dns_label,
        "vCluster name (its suffix, usually the Helm release) (default: $VCLUSTER_NAME)",
        "VC",
        fallback_env=("VCLUSTER_NAME",),
    ),
    Option(
        "host_namespace",
        "--host-namespace",
        parse_dns_label,
        "host namespace the vCluster syncs into (default: $POD_NAMESPACE, then the pod's"
        " service-account namespace)",
        "NS",
        fallback_env=("POD_NAMESPACE",),
    ),
    Option(
        "virtual_kubeconfig",
        "--virtual-kubeconfig",
        parse_path,
        "kubeconfig of the virtual cluster (required; waited for until it exists, followed"
        " when it changes)",
        "FILE",
    ),
    Option(
        "host_kubeconfig",
        "--host-kubeconfig",
        parse_file,
        "kubeconfig of the host cluster (default: in-cluster service account)",
        "FILE",
    ),
    Option(
        "metrics_address",
        "--metrics-address",
        parse_address,
        "[host]:port for /metrics, /healthz, /readyz (default :9810)",
        "ADDR",
    ),
    Option("workers", "--workers", parse_positive_int, "concurrent reconciles (default 4)", "N"),
    Option(
        "resync_period",
        "--resync-period",
        parse_duration,
        "re-check every object this often, 0 disables (default 5m)",
        "DURATION",
    ),
    Option(
        "leader_elect",
        "--leader-elect",
        parse_bool,
        "elect a leader through a Lease before writing (default false)",
        "BOOL",
        boolean=True,
    ),
    Option(
        "leader_elect_resource_name",
        "--leader-elect-resource-name",
        parse_dns_subdomain,
        "Lease name (default <name>-netpol-syncer)",
        "NAME",
    ),
    Option(
        "leader_elect_resource_namespace",
        "--leader-elect-resource-namespace",
        parse_dns_label,
        "Lease namespace (default: the host namespace)",
        "NS",
    ),
    Option(
        "leader_elect_lease_duration",
        "--leader-elect-lease-duration",
        parse_positive_duration,
        "how long a lease is valid (default 15s)",
        "DURATION",
    ),
    Option(
        "leader_elect_renew_deadline",
        "--leader-elect-renew-deadline",
        parse_positive_duration,
        "how long the leader retries renewing before giving up (default 10s)",
        "DURATION",
    ),
    Option(
        "leader_elect_retry_period",
        "--leader-elect-retry-period",
        parse_positive_duration,
        "wait between lease attempts (default 2s)",
        "DURATION",
    ),
    Option(
        "log_format",
        "--log-format",
        _choice(*get_args(LogFormat)),
        "json or console (default json)",
        "FORMAT",
    ),
    Option(
        "log_level",
        "--log-level",
        _choice(*get_args(LogLevel)),
        "debug, info, warning or error (default info)",
        "LEVEL",
    ),
    Option(
        "virtual_qps",
        "--virtual-qps",
        parse_positive_float,
        "requests/second to the virtual API server (default 20)",
        "QPS",
    ),
    Option(
        "virtual_burst",
        "--virtual-burst",
        parse_positive_int,
        "request burst to the virtual API server (default 40)",
        "N",
    ),
    Option(
        "host_qps",
        "--host-qps",
        parse_positive_float,
        "requests/second to the host API server (default 20)",
        "QPS",
    ),
    Option(
        "host_burst",
        "--host-burst",
        parse_positive_int,
        "request burst to the host API server (default 40)",
        "N",
    ),
    Option(
        "shutdown_grace",
        "--shutdown-grace",
        parse_positive_duration,
        "time in-flight writes get after SIGTERM (default 2.5s)",
        "DURATION",
    ),
)

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


def option(field_name: str) -> Option:
    """The :data:`OPTIONS` entry for a settings field."""
    return next(o for o in OPTIONS if o.setting == field_name)


def pick(
    opt: Option, flags: Mapping[str, str | None], environ: Mapping[str, str]
) -> tuple[str, str] | None:
    """``(raw text, where it came from)`` by precedence flag > env > fallback env, or None."""
    raw = flags.get(opt.setting)
    if raw is not None:
        return raw, opt.flag
    for name in (opt.env, *opt.fallback_env):
        value = environ.get(name, "")
        if value:
            return value, name
    return None


def resolve(
    flags: Mapping[str, str | None],
    *,
    environ: Mapping[str, str],
    namespace_file: Path = SERVICE_ACCOUNT_NAMESPACE,
) -> Settings:
    """Settings from ``flags`` (raw flag text by field name, None when not given) and the rest.

    Reads the config file too. Raises :class:`SettingsError` listing every problem.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    invalid: set[str] = set()
    for opt in OPTIONS:
        picked = pick(opt, flags, environ)
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

    picked_config = pick(option("config_path"), flags, environ)
    path: str = values.get("config_path", config.DEFAULT_PATH)
    try:
        # Absent means the defaults, named or not; present but invalid stays fatal (exit 2).
        values["sync"] = config.load(path, missing_ok=True)
    except config.ConfigError as exc:
        origin = "" if picked_config is None else _shown(picked_config[1]) + ": "
        problems.extend(origin + p.format(exc.source) for p in exc.problems)

    problems.extend(_lease_timing_problems(values))
    if problems:
        raise SettingsError(problems)
    values["config_path"] = path
    return Settings(**values)


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
        return parse_dns_label(text)
    except ValueError as exc:
        problems.append(f"{path}: {exc}")
        return None


def _lease_timing_problems(values: Mapping[str, object]) -> list[str]:
    defaults = {f.name: f.default for f in fields(Settings)}
    duration, deadline, retry = (
        cast(float, values.get(name, defaults[name]))
        for name in (
            "leader_elect_lease_duration",
            "leader_elect_renew_deadline",
            "leader_elect_retry_period",
        )
    )
    problems = []
    if duration <= deadline:
        problems.append(
            f"--leader-elect-lease-duration ({duration:g}s) must be longer than"
            f" --leader-elect-renew-deadline ({deadline:g}s)"
        )
    if deadline <= JITTER_FACTOR * retry:
        problems.append(
            f"--leader-elect-renew-deadline ({deadline:g}s) must be longer than"
            f" {JITTER_FACTOR:g} x --leader-elect-retry-period ({retry:g}s)"
        )
    return problems
