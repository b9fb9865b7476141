"""How ``run`` reaches its two clusters: rate-limited clients, waited for, then followed.

A kubeconfig may be missing at start (vCluster writes it only once its controllers run): the
connection is retried with backoff while ``waiting`` reports why, never answered by exiting.
Once connected, a kubeconfig file is followed for rotations (:class:`reloading.KubeconfigWatch`)
and the client reconnects in place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from syncer.runtime import clients, ratelimiting, reloading
from syncer.runtime.clock import Clock


def throttle(qps: float, burst: int, clock: Clock) -> Callable[[], Awaitable[None]]:
    """Client-side rate limit: a token bucket shared by every request to one cluster."""
    bucket = ratelimiting.TokenBucketLimiter(
        settings=ratelimiting.TokenBucketSettings(qps=qps, burst=burst), clock=clock
    )

    async def wait() -> None:
        delay = bucket.when("requests")
        if delay > 0:
            await clock.sleep(delay)

    return wait


async def connect(
    kubeconfig: str | dict[str, Any] | None,
    *,
    cluster: str,
    qps: float,
    burst: int,
    observer: clients.RequestObserver,
    clock: Clock,
) -> clients.KubeApi:
    return await clients.KubeApi.connect(
        kubeconfig,
        cluster=cluster,
        throttle=throttle(qps, burst, clock),
        observer=observer,
    )


async def connect_and_follow(
    kubeconfig: str | None,
    *,
    cluster: str,
    qps: float,
    burst: int,
    observer: clients.RequestObserver,
    clock: Clock,
    waiting: Callable[[str | None], None],
    poll: float,
    on_reconnected: Callable[[bool], None],
) -> tuple[clients.KubeApi, reloading.KubeconfigWatch | None]:
    """A client for ``cluster``, once its kubeconfig exists and loads (``waiting`` hears why
    not, then None), and the watch that follows the file (None for in-cluster credentials);
    the caller runs the watch."""
    seen = None if kubeconfig is None else reloading.fingerprint(kubeconfig)

    async def attempt() -> clients.KubeApi:
        nonlocal seen
        if kubeconfig is not None:
            seen = reloading.fingerprint(kubeconfig)
        return await connect(
            kubeconfig, cluster=cluster, qps=qps, burst=burst, observer=observer, clock=clock
        )

    api = await reloading.wait_and_connect(attempt, cluster=cluster, waiting=waiting, clock=clock)
    if kubeconfig is None:
        return api, None
    watch = reloading.KubeconfigWatch(
        path=kubeconfig,
        api=api,
        on_reconnected=on_reconnected,
        clock=clock,
        seen=seen,
        interval=poll,
    )
    return api, watch
