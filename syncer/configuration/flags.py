"""The ``netpol-syncer run`` flag table: one :class:`Option` per :class:`Settings` field.

Each flag's name, environment variable, parser, help and shown default are written once, here;
the CLI builds its arguments from :data:`OPTIONS`, :mod:`syncer.configuration.resolving` reads
values with it, and :mod:`syncer.configuration.flagtable` writes README's table from it. Plain
defaults are shown from :func:`settings.default`, so the help cannot drift from the code; only
defaults that are not a value (required, derived from other settings) are written as text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, get_args

from syncer.configuration import config, parsing, settings

ENV_PREFIX: Final = "NETPOL_SYNCER_"


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True, slots=True)
class Option:
    """One ``run`` flag: the settings field it fills, and how to read it from text."""

    setting: str
    """The :class:`settings.Settings` field (and argparse ``dest``)."""
    flag: str
    parse: Callable[[str], object]
    help: str
    """What the flag does, without its default (:attr:`help_text` adds it)."""
    metavar: str = ""
    fallback_env: tuple[str, ...] = ()
    """Conventional variables consulted after ``NETPOL_SYNCER_<FLAG>``."""
    boolean: bool = False
    show: Callable[[Any], str] = _plain
    """Writes the field's default the way the flag is given."""
    default_text: str = ""
    """The default in words, for a field whose default is not a value (required, derived)."""

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.flag.removeprefix("--").upper().replace("-", "_")

    @property
    def shown_default(self) -> str:
        """The default as a flag value (``5m``), or :attr:`default_text`."""
        return self.default_text or self.show(settings.default(self.setting))

    @property
    def help_text(self) -> str:
        return f"{self.help} (default: {self.shown_default})"


def _duration(
    setting: str,
    flag: str,
    help: str,
    *,
    parse: Callable[[str], float] = parsing.parse_positive_duration,
) -> Option:
    """A flag taking a duration (``15s``, ``1m30s``), its default shown the same way."""
    return Option(setting, flag, parse, help, "DURATION", show=parsing.format_duration)


OPTIONS: Final[tuple[Option, ...]] = (
    Option(
        "config_path",
        "--config",
        parsing.parse_path,
        "vcluster.yaml; only sync.toHost.networkPolicies.enabled and .patches (and an admin"
        " guardrails block) are read; if the file is absent the defaults apply: enabled,"
        " no patches",
        "PATH",
        show=lambda _: config.DEFAULT_PATH,
    ),
    Option(
        "name",
        "--name",
        parsing.parse_dns_label,
        "the vCluster name (its suffix, usually the Helm release)",
        "VC",
        fallback_env=("VCLUSTER_NAME",),
        default_text="$VCLUSTER_NAME",
    ),
    Option(
        "host_namespace",
        "--host-namespace",
        parsing.parse_dns_label,
        "host namespace the vCluster syncs into, where host copies go",
        "NS",
        fallback_env=("POD_NAMESPACE",),
        default_text="$POD_NAMESPACE, then the pod's service-account namespace",
    ),
    Option(
        "virtual_kubeconfig",
        "--virtual-kubeconfig",
        parsing.parse_path,
        "kubeconfig of the virtual API server; waited for until it exists, followed when it"
        " changes",
        "FILE",
        default_text="required",
    ),
    Option(
        "host_kubeconfig",
        "--host-kubeconfig",
        parsing.parse_file,
        "kubeconfig of the host API server",
        "FILE",
        default_text="in-cluster service account",
    ),
    Option(
        "metrics_address",
        "--metrics-address",
        parsing.parse_address,
        "[host]:port serving /metrics, /healthz and /readyz; 9810 is free in the vCluster pod"
        " (its embedded CoreDNS uses 8080)",
        "ADDR",
    ),
    Option("workers", "--workers", parsing.parse_positive_int, "concurrent reconciles", "N"),
    _duration(
        "resync_period",
        "--resync-period",
        "re-check every object this often; watches resume from their last version, no LIST"
        " (0 disables)",
        parse=parsing.parse_duration,
    ),
    Option(
        "leader_elect",
        "--leader-elect",
        parsing.parse_bool,
        "elect a leader through a Lease; only the leader writes",
        "BOOL",
        boolean=True,
    ),
    Option(
        "leader_elect_resource_name",
        "--leader-elect-resource-name",
        parsing.parse_dns_subdomain,
        "Lease name",
        "NAME",
        default_text="<name>-netpol-syncer",
    ),
    Option(
        "leader_elect_resource_namespace",
        "--leader-elect-resource-namespace",
        parsing.parse_dns_label,
        "Lease namespace",
        "NS",
        default_text="the host namespace",
    ),
    _duration(
        "leader_elect_lease_duration",
        "--leader-elect-lease-duration",
        "how long a standby waits after the last renewal before taking over (as client-go)",
    ),
    _duration(
        "leader_elect_renew_deadline",
        "--leader-elect-renew-deadline",
        "how long the leader retries renewing before it stops writing (as client-go)",
    ),
    _duration(
        "leader_elect_retry_period",
        "--leader-elect-retry-period",
        "wait between lease attempts (as client-go)",
    ),
    Option(
        "log_format",
        "--log-format",
        parsing.choice(*get_args(settings.LogFormat)),
        "json (one event per line) or console",
        "FORMAT",
    ),
    Option(
        "log_level",
        "--log-level",
        parsing.choice(*get_args(settings.LogLevel)),
        "debug, info, warning or error",
        "LEVEL",
    ),
    Option(
        "virtual_qps",
        "--virtual-qps",
        parsing.parse_positive_float,
        "client-side limit: requests/second to the virtual API server",
        "QPS",
    ),
    Option(
        "virtual_burst",
        "--virtual-burst",
        parsing.parse_positive_int,
        "client-side limit: request burst to the virtual API server",
        "N",
    ),
    Option(
        "host_qps",
        "--host-qps",
        parsing.parse_positive_float,
        "client-side limit: requests/second to the host API server",
        "QPS",
    ),
    Option(
        "host_burst",
        "--host-burst",
        parsing.parse_positive_int,
        "client-side limit: request burst to the host API server",
        "N",
    ),
    _duration(
        "shutdown_grace",
        "--shutdown-grace",
        "time in-flight writes get after SIGTERM; the whole shutdown stays under 5s, inside"
        " vCluster's 15s pod grace period",
    ),
)


def option(setting: str) -> Option:
    """The :data:`OPTIONS` entry for a settings field."""
    return next(o for o in OPTIONS if o.setting == setting)
