"""The owner of every host copy: the vCluster's Service ``<VC>`` in the host namespace.

vCluster points everything it creates on the host at this Service (``setOwner``), so that
deleting the vCluster garbage-collects it; host copies get the same owner reference
(:mod:`translate.owner`). vCluster reads the Service once at start and fails without it; here
one small informer watches that single Service by name (``fieldSelector=metadata.name=<VC>``,
which is what lets the Role restrict list and watch with ``resourceNames``):

- not listed yet (or list forbidden, e.g. an older chart's Role): copies are written, and the
  owner references they already carry are left as they are;
- absent (``controlPlane.service.enabled: false``, the vCluster not installed yet, or the
  Service deleted): copies are written without an owner reference (SPEC §3), and get one when
  the Service appears. A copy pointing at a deleted Service would be removed by the garbage
  collector again and again while the tenant's policy still exists: every removal is a gap in
  isolation. Copies written in the seconds between ``helm uninstall`` deleting the Service and
  the pod stopping therefore outlive the vCluster; a re-install with the same name adopts them
  (same name, namespace and ownership annotations) and deletes those whose policy is gone;
- re-created with a new uid: every copy gets the new uid (the garbage collector deletes copies
  still pointing at the old one; the syncer recreates those).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog

from syncer.pipeline import caching, services
from syncer.pipeline.watching import WatchMetrics
from syncer.runtime import clients
from syncer.runtime.clock import Clock
from translate import NetworkPolicy, ObjectKey, Target, service_owner_reference, with_owner

log = structlog.get_logger("syncer.pipeline.owning")

Desire = Callable[[NetworkPolicy], NetworkPolicy]


class ServiceOwner:
    """Tracks the uid of Service ``<VC>`` in the host namespace and reports when it changes."""

    def __init__(
        self,
        *,
        api: clients.KubeApi,
        target: Target,
        on_change: Callable[[], None],
        metrics: WatchMetrics | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._target = target
        self._on_change = on_change
        self._key = ObjectKey(target.host_namespace, target.vcluster)
        self.store, self.informer = services.follow(
            api=api,
            namespace=target.host_namespace,
            name=target.vcluster,
            strip=services.identity,
            on_change=self._changed,
            metrics=metrics,
            clock=clock,
        )
        self.uid: str | None = None
        """The uid copies point at: the Service's, or None while it does not exist."""
        self._known = False
        self.generation = 0
        """Bumped whenever :attr:`uid` changes; a reconcile that started under an older
        generation may have written the old owner and must run again."""

    @property
    def synced(self) -> asyncio.Event:
        """Set once the first list told whether the Service exists."""
        return self.informer.synced

    async def run(self) -> None:
        informer = asyncio.create_task(self.informer.run(), name="informer-owner-list")
        synced = asyncio.create_task(self.informer.synced.wait())
        try:
            await asyncio.wait([informer, synced], return_when=asyncio.FIRST_COMPLETED)
            if self.informer.synced.is_set() and not self._known:
                log.info("no vCluster service; host copies get no owner", host=str(self._key))
                self._learned()
            await informer
        finally:
            for task in (synced, informer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def references(self) -> list[dict[str, Any]] | None:
        """The owner references host copies should carry: None while not known yet, ``[]``
        while the Service does not exist, else the one to the Service."""
        if not self._known:
            return None
        if self.uid is None:
            return []
        return [service_owner_reference(self._target.vcluster, self.uid)]

    def owned(self, desire: Desire) -> Desire:
        """``desire`` followed by the current owner references (added after the patches)."""

        def desire_owned(virtual: NetworkPolicy) -> NetworkPolicy:
            return with_owner(desire(virtual), self.references())

        return desire_owned

    def _changed(self, old: caching.Json | None, new: caching.Json | None) -> None:
        if new is None:
            if self.uid is not None:
                log.warning(
                    "vCluster service deleted; host copies are written without an owner",
                    host=str(self._key),
                    uid=self.uid,
                )
                self.uid = None
                self._learned()
            return
        uid = (new.get("metadata") or {}).get("uid") or None
        if uid is None or uid == self.uid:
            return
        log.info("vCluster service owns the host copies", host=str(self._key), uid=uid)
        self.uid = uid
        self._learned()

    def _learned(self) -> None:
        self._known = True
        self.generation += 1
        self._on_change()
