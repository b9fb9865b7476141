"""What the probes report about the controller's informers: /readyz and /healthz.

Ready means every informer finished its initial list (STYLE point 8; nothing destructive
happens before); what is still awaited is named (``<cluster>-api``: an answer,
``<cluster>-rbac``: permission) with the last error. Healthy means every informer makes
progress and none that had listed keeps failing: a hung task or revoked credentials are
cured by a restart, a slow start is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from syncer.pipeline.watching import Informer
from syncer.runtime import errors


def waits(informers: Sequence[Informer], *, dns: Informer | None = None) -> dict[str, str | None]:
    """What is awaited before the caches are complete, each with the last error, or None.

    ``dns`` (``dns: auto``) is reported only once nothing else is awaited: workers also wait
    for the kube-dns Service's first list.
    """
    found: dict[str, str | None] = {}
    for informer in informers:
        api, rbac = f"{informer.cluster}-api", f"{informer.cluster}-rbac"
        found[api] = found[rbac] = None
        if informer.synced.is_set():
            continue
        error = informer.last_error
        if isinstance(error, errors.Forbidden):
            found[rbac] = str(error)
        else:
            found[api] = "initial list not done yet" if error is None else str(error)
    if dns is not None and not dns.synced.is_set() and not any(found.values()):
        error = dns.last_error
        what = "virtual-rbac" if isinstance(error, errors.Forbidden) else "virtual-api"
        found[what] = "kube-dns Service not listed yet" + (f": {error}" if error else "")
    return found


def ready(found: dict[str, str | None]) -> tuple[bool, dict[str, Any]]:
    """Ready when nothing in ``found`` (see :func:`waits`) is awaited any more."""
    detail: dict[str, Any] = {}
    for what, why in found.items():
        detail[what] = {"ok": True} if why is None else {"ok": False, "waiting": why}
    return all(d["ok"] for d in detail.values()), detail


def health(
    informers: Sequence[Informer], *, now: float, stall_after: float, fail_after: float
) -> dict[str, Any]:
    """Per informer: unhealthy when it made no progress (list, event, bookmark or attempt)
    within ``stall_after`` (its task is stuck on a silent connection), or when, having
    listed, it has failed every attempt for longer than ``fail_after``."""
    detail: dict[str, Any] = {}
    for informer in informers:
        idle = now - informer.last_activity
        check: dict[str, Any] = {"ok": idle <= stall_after, "idle_seconds": round(idle, 1)}
        if informer.failing_since is not None and informer.synced.is_set():
            failing = now - informer.failing_since
            check["failing_seconds"] = round(failing, 1)
            check["error"] = str(informer.last_error)
            if failing > fail_after:
                check["ok"] = False
        detail[f"{informer.cluster}-informer"] = check
    return detail
