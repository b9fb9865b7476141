"""``dns: auto``: one small informer on the virtual ``kube-system/kube-dns`` Service.

Where the vCluster's DNS really listens (the Service's selector and the target port of its
port 53) is read from the virtual cluster, by name (``fieldSelector=metadata.name=kube-dns``),
as the owner Service is on the host (:mod:`syncer.pipeline.owning`).
Whenever what it implies changes
(created, deleted, a new targetPort or selector), every key is translated again. The workers
start only once its first list is done: a copy written before would lack the DNS rule that the
running copy has, and DNS would break for a moment at every restart.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

import guardrails
from syncer.pipeline import caching, services
from syncer.pipeline.guarding import Guard
from syncer.pipeline.watching import WatchMetrics
from syncer.runtime import clients
from syncer.runtime.clock import Clock

log = structlog.get_logger("syncer.pipeline.dnswatch")

NAMESPACE = guardrails.dns.DNS_NAMESPACE
NAME = guardrails.dns.DNS_SERVICE


def _selector_and_ports(obj: caching.Json) -> caching.Json:
    """Only what the DNS facts read: identity, selector and ports."""
    spec = obj.get("spec") or {}
    return {
        **services.identity(obj),
        "spec": {"selector": spec.get("selector"), "ports": spec.get("ports") or []},
    }


class DnsWatch:
    """Keeps ``guard.context`` following the virtual kube-dns Service."""

    def __init__(
        self,
        *,
        api: clients.KubeApi,
        guard: Guard,
        on_change: Callable[[], None],
        metrics: WatchMetrics | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._guard = guard
        self._on_change = on_change
        self.store, self.informer = services.follow(
            api=api,
            namespace=NAMESPACE,
            name=NAME,
            strip=_selector_and_ports,
            on_change=self._changed,
            metrics=metrics,
            clock=clock,
        )

    async def run(self) -> None:
        await self.informer.run()

    def _changed(self, old: caching.Json | None, new: caching.Json | None) -> None:
        facts = self._guard.dns_facts(new)
        if facts == self._guard.context.dns:
            return
        if facts is None:
            log.warning("virtual kube-dns Service gone; dns: auto adds no DNS rule")
        else:
            log.info(
                "DNS endpoint for dns: auto",
                target_ports=dict(facts.target_ports),
                peer=facts.host_peer,
            )
        self._guard.context = guardrails.Context(dns=facts)
        self._on_change()
