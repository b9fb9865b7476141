"""Run settings (SPEC §5): every ``netpol-syncer run`` flag in one frozen object.

The defaults of what the controller and the elector tune are theirs
(:class:`syncer.pipeline.tuning.ControllerSettings`, :class:`syncer.runtime.leases.LeaseSettings`,
both light modules) and are taken from there; the rest are defined here. The flags that fill
these fields are in :mod:`syncer.configuration.flags`, their precedence and validation in
:mod:`syncer.configuration.resolving`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Final, Literal

import translate
from syncer.configuration import config
from syncer.pipeline import tuning
from syncer.runtime import leases

LogFormat = Literal["json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]

_CONTROLLER: Final = tuning.ControllerSettings()
_LEASE: Final = leases.LeaseSettings(name="", namespace="", identity="")


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
    workers: int = _CONTROLLER.workers
    """Concurrent reconciles (:attr:`tuning.ControllerSettings.workers` says why this many)."""
    resync_period: float = _CONTROLLER.resync_period
    """Seconds between re-enqueueing every virtual object; 0 disables
    (:attr:`tuning.ControllerSettings.resync_period`)."""
    leader_elect: bool = False
    """Off by default: the sidecar runs once per vCluster pod. Turn on with several replicas."""
    leader_elect_resource_name: str = ""
    """Lease name; empty means ``<name>-netpol-syncer``, unique per vCluster in a namespace."""
    leader_elect_resource_namespace: str = ""
    """Lease namespace; empty means the host namespace, where the syncer already has RBAC."""
    leader_elect_lease_duration: float = _LEASE.lease_duration
    """Seconds a non-leader waits before taking over (:class:`leases.LeaseSettings`)."""
    leader_elect_renew_deadline: float = _LEASE.renew_deadline
    """Seconds the leader keeps retrying a renewal before it stops writing."""
    leader_elect_retry_period: float = _LEASE.retry_period
    """Seconds between lease attempts."""
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
    """Seconds in-flight writes get after SIGTERM. A host write
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


def default(setting: str) -> Any:
    """The default of a :class:`Settings` field (the flag table and ``run`` show and use it)."""
    found = next(f for f in fields(Settings) if f.name == setting)
    if found.default is not MISSING:
        return found.default
    if found.default_factory is not MISSING:
        return found.default_factory()
    raise LookupError(f"{setting} has no default")
