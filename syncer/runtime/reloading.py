"""Kubeconfig files that appear late and change: wait for one, then follow its rotations.

In a vCluster pod the virtual kubeconfig comes from the Secret ``vc-<name>``, which vCluster
writes only once its controllers run, and which can be rotated later (the kubelet swaps the
mounted file within a minute or so). Exiting until it exists would crash-loop the sidecar, and
a restart per rotation would drop the warm caches, so instead:

- :func:`wait_and_connect` retries with capped exponential backoff until the file exists and
  loads, reporting what it waits for through ``waiting`` (``/readyz``, the ``waiting`` gauge)
  and the log;
- :class:`KubeconfigWatch` polls the file's content; on a change it reconnects the client in
  place (:meth:`clients.KubeApi.reconnect`) and calls ``on_reconnected(server_changed)`` so the
  informer of that cluster resumes (same server) or lists again (another server). A changed
  file that cannot be used is logged and the current connection kept.

Polling a small file every few seconds costs nothing measurable and works on every volume
type, which inotify does not (Secret volumes swap a symlink).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

import structlog

from syncer.runtime import clients
from syncer.runtime.clock import Clock
from syncer.runtime.ratelimiting import ReconnectBackoff, ReconnectSettings

log = structlog.get_logger("syncer.runtime.reloading")

POLL_INTERVAL = 5.0
"""Seconds between checks of a kubeconfig file for changes: small against the kubelet's own
delay in updating a mounted Secret."""

WAIT_BACKOFF = ReconnectSettings(initial=0.2, factor=2.0, cap=5.0, jitter=0.2, reset_after=60.0)
"""Checks for a kubeconfig that is not there yet: at once, then doubling up to every 5 s."""


def fingerprint(path: str) -> bytes | None:
    """A digest of the file's content, or None when it cannot be read (not there yet)."""
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).digest()
    except OSError:
        return None


async def wait_and_connect(
    connect: Callable[[], Awaitable[clients.KubeApi]],
    *,
    cluster: str,
    waiting: Callable[[str | None], None],
    clock: Clock,
) -> clients.KubeApi:
    """``connect()`` until it no longer raises :class:`clients.KubeconfigError`; ``waiting``
    gets the reason while it does, then None."""
    backoff = ReconnectBackoff(settings=WAIT_BACKOFF, clock=clock)
    reported: str | None = None
    while True:
        try:
            api = await connect()
        except clients.KubeconfigError as exc:
            reason = str(exc)
            waiting(reason)
            if reason != reported:
                log.warning("waiting for a usable kubeconfig", cluster=cluster, reason=reason)
                reported = reason
            await clock.sleep(backoff.next_delay())
            continue
        waiting(None)
        if reported is not None:
            log.info("kubeconfig found", cluster=cluster)
        return api


class KubeconfigWatch:
    """Follows one kubeconfig file for one client; :meth:`run` until cancelled."""

    def __init__(
        self,
        *,
        path: str,
        api: clients.KubeApi,
        on_reconnected: Callable[[bool], None],
        clock: Clock,
        seen: bytes | None,
        interval: float = POLL_INTERVAL,
    ) -> None:
        self.path = path
        self.cluster = api.cluster
        self.reconnects = 0
        self._api = api
        self._on_reconnected = on_reconnected
        self._clock = clock
        self._seen = seen
        """Fingerprint of the content the client was built from (read just before)."""
        self._interval = interval

    async def run(self) -> None:
        while True:
            await self._clock.sleep(self._interval)
            await self.check()

    async def check(self) -> None:
        """Reconnect if the file's content changed since the client was built from it."""
        current = fingerprint(self.path)
        if current is None or current == self._seen:
            return  # a file that went away keeps the connection it gave
        self._seen = current
        try:
            moved = await self._api.reconnect(self.path)
        except clients.KubeconfigError as exc:
            log.warning(
                "kubeconfig changed but cannot be used; keeping the current connection",
                cluster=self._api.cluster,
                reason=str(exc),
            )
            return
        self.reconnects += 1
        log.info(
            "kubeconfig changed; reconnected",
            cluster=self._api.cluster,
            server=self._api.server,
            server_changed=moved,
        )
        self._on_reconnected(moved)
