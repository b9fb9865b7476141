"""Reconcile one virtual key: make the host copy match, reading only the two caches.

Level-triggered (SPEC §6): whatever event enqueued the key, the reconciler compares the virtual
object with the host copy and converges. It returns what it did or raises a typed error; it
never touches the queue (retry policy lives in the worker loop, :mod:`syncer.pipeline.working`).

Safety rules enforced here:

- a host object is written or deleted only if :func:`translate.virtual_key_of` says it is ours;
- a host copy is deleted only when its virtual object is absent from the cache *and* a live
  read of the virtual API answers 404 (STYLE point 14: a stale cache never deletes; an outage
  deletes nothing), with uid and resourceVersion preconditions so a replaced copy is never
  removed;
- changes are conditional PUTs of the cached version (409 → retry), never delete+create;
- a failure leaves the last good host copy untouched;
- the caches are the informers' alone (STYLE point 12): a write's reply is never stored. The
  write is recorded as an expectation (wait until the host cache shows it or something newer)
  and as the content digest this process knows to be in sync; "unchanged" is answered without
  a comparison only while the cached host copy has exactly that digest, so an edit or a
  deletion the watch delivers before the reply is compared, and repaired, like any other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Literal, NoReturn, cast

import structlog

from syncer.pipeline import caching
from syncer.runtime import clients, errors
from syncer.runtime.clock import Clock, LoopClock
from translate import (
    NetworkPolicy,
    ObjectKey,
    Target,
    diff,
    host_name,
    markers,
    virtual_key_of,
)

log = structlog.get_logger("syncer.pipeline.reconciling")

Action = Literal["created", "updated", "deleted", "unchanged", "skipped"]
Desire = Callable[[NetworkPolicy], NetworkPolicy]
"""virtual object -> desired host object (translate, then patches); raises PatchFailed."""
Narrowing = Callable[
    [ObjectKey, caching.Json, NetworkPolicy | None], AbstractAsyncContextManager[None]
]
"""Around a delete (desired None) or update of a host copy: may wait (raise) until the pods
it stops selecting are covered otherwise (``isolation: managed``, :mod:`isolating`)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    action: Action
    host: ObjectKey
    drift: Literal["recreated", "reverted"] | None = None
    """Set when the write repaired an out-of-band change of a copy that was in sync."""


class Reconciler:
    """Converges host copies; one instance serves all workers (keys never run concurrently)."""

    def __init__(
        self,
        *,
        target: Target,
        virtual: caching.Store,
        host: caching.Store,
        host_api: clients.KubeApi,
        virtual_api: clients.KubeApi,
        desire: Desire,
        may_write: Callable[[], bool] = lambda: True,
        clock: Clock | None = None,
        narrowing: Narrowing | None = None,
    ) -> None:
        self._target = target
        self._narrowing = narrowing or _no_narrowing
        self._virtual = virtual
        self._host = host
        self._api = host_api
        self._virtual_api = virtual_api
        self._desire = desire
        self._may_write = may_write
        self.expectations = caching.Expectations(host, clock=clock or LoopClock())
        """Host key -> the write this process made and the host cache has not shown yet."""
        self.in_sync: dict[ObjectKey, tuple[str | None, bytes | None]] = {}
        """Virtual key -> (virtual resourceVersion, host copy content digest) of a pair this
        process wrote or compared and found matching. While the virtual version and the cached
        host copy's digest are both unchanged the reconcile is two dictionary lookups (a resync
        of 10,000 keys costs milliseconds); any other host content, whatever its version, is
        compared in full."""
        self._labels: dict[ObjectKey, frozenset[str]] = {}
        """Virtual key -> label keys this process last wrote (or found) on its host copy, so a
        label the tenant removes is removed on the host too (SPEC §3 has no label bookkeeping)."""

    def host_key(self, key: ObjectKey) -> ObjectKey:
        """Where the copy of virtual ``key`` lives: a whole key, never a bare name, because
        in multi-namespace mode the host namespace depends on the virtual one."""
        return ObjectKey(
            self._target.host_namespace_for(key.namespace),
            host_name(key.name, key.namespace, self._target.vcluster),
        )

    async def reconcile(self, key: ObjectKey) -> Outcome:
        host_key = self.host_key(key)
        if self.expectations.pending(host_key):
            # The host cache does not show our last write yet; its watch event re-enqueues.
            return Outcome("skipped", host_key)
        stamp = (self._virtual.version(key), self._host.digest(host_key))
        if stamp[0] is not None and self.in_sync.get(key) == stamp:
            return Outcome("unchanged", host_key)
        virtual = self._virtual.get(key)
        host = self._host.get(host_key)
        owner = virtual_key_of(host, self._target) if host is not None else None

        if virtual is None:
            self.in_sync.pop(key, None)
            self._labels.pop(key, None)
            if host is not None and owner == key:
                await self._confirm_gone(key, host)
                async with self._narrowing(key, host, None):
                    await self._delete(key, host_key, host)
                return Outcome("deleted", host_key)
            return Outcome("skipped", host_key)

        if host is not None and owner != key and (owner is None or owner in self._virtual):
            self.in_sync.pop(key, None)
            holder = f"virtual object {owner}" if owner else "an object this syncer does not own"
            raise errors.HostNameCollision(
                f"host name {host_key.name} is already used by {holder}; {key} is not synced"
            )

        desired = self._desire(cast(NetworkPolicy, virtual))
        was_in_sync = self.in_sync.get(key, (None, None))[0] == stamp[0]
        labels = frozenset(desired["metadata"].get("labels", {}))
        verified: bytes | None
        if host is None:
            verified = await self._create(key, host_key, desired)
            outcome = Outcome("created", host_key, "recreated" if was_in_sync else None)
        else:
            owned = self._labels.get(key, frozenset())
            vc = self._target.vcluster
            if diff.owned_equal(desired, host, vc, owned):
                verified = stamp[1]
                outcome = Outcome("unchanged", host_key)
            else:
                async with self._narrowing(key, host, desired):
                    body = diff.merged(desired, host, vc, owned)
                    verified = await self._update(key, host_key, body)
                outcome = Outcome("updated", host_key, "reverted" if was_in_sync else None)
        self.in_sync[key] = (stamp[0], verified)
        self._labels[key] = labels
        return outcome

    async def _create(self, key: ObjectKey, host_key: ObjectKey, desired: NetworkPolicy) -> bytes:
        """POST the copy; returns the digest of what the server stored."""
        self._check_leader()
        try:
            created = await self._api.create(
                clients.NETWORK_POLICIES, host_key.namespace, dict(desired)
            )
        except errors.AlreadyExists as exc:
            await self._claim_existing(key, host_key, exc)
        except errors.TemporaryError:
            raise
        except errors.ApiError as exc:
            raise rejection(exc, "create", str(host_key)) from exc
        log.info("host policy created", virtual=str(key), host=str(host_key), action="create")
        return self._written(host_key, created)

    async def _claim_existing(
        self, key: ObjectKey, host_key: ObjectKey, exc: errors.AlreadyExists
    ) -> NoReturn:
        """A create found the name taken: our own copy the cache has not seen yet (wait for
        the watch to bring it, then compare), or not ours (a collision)."""
        try:
            existing = await self._api.get(
                clients.NETWORK_POLICIES, host_key.namespace, host_key.name
            )
        except errors.NotFound:
            raise errors.Conflict(409, reason="Conflict", message="deleted meanwhile") from exc
        if virtual_key_of(existing, self._target) is None:
            raise errors.HostNameCollision(
                f"host name {host_key.name} is already used by an object this syncer does not "
                f"own; {key} is not synced"
            ) from exc
        self.expectations.written(host_key, caching.version_of(existing))
        raise errors.Conflict(409, reason="Conflict", message="host copy appeared; re-reading")

    async def _update(self, key: ObjectKey, host_key: ObjectKey, body: caching.Json) -> bytes:
        """Conditional PUT; returns the digest of what the server stored."""
        self._check_leader()
        updated = await replace_as_read(self._api, host_key, body, what=str(host_key))
        log.info("host policy updated", virtual=str(key), host=str(host_key), action="update")
        return self._written(host_key, updated)

    def _written(self, host_key: ObjectKey, reply: caching.Json) -> bytes:
        """Expect the reply's version in the host cache; the digest it will have there."""
        self.expectations.written(host_key, caching.version_of(reply))
        return self._host.digest_of(reply)

    async def _confirm_gone(self, key: ObjectKey, host: caching.Json) -> None:
        """Raise unless the virtual API itself answers 404 for ``key``: the cache may lag
        (a stalled watch, a leader that just took over), and deleting a live copy can open
        traffic. An outage or any other answer means no delete now, a retry later."""
        try:
            live = await self._virtual_api.get(clients.NETWORK_POLICIES, key.namespace, key.name)
        except errors.NotFound:
            return
        except errors.TemporaryError:
            raise
        except errors.ApiError as exc:
            raise errors.VirtualCacheBehind(
                f"cannot confirm that {key} is gone ({exc}); its host copy is kept"
            ) from exc
        uid = (live.get("metadata") or {}).get("uid")
        copied = ((host.get("metadata") or {}).get("annotations") or {}).get(markers.OBJECT_UID)
        log.warning(
            "virtual cache is behind the API; host copy kept",
            virtual=str(key),
            same_object=uid == copied,
        )
        raise errors.VirtualCacheBehind(
            f"{key} is missing from the virtual cache but exists; its host copy is kept"
        )

    async def _delete(self, key: ObjectKey, host_key: ObjectKey, host: caching.Json) -> None:
        self._check_leader()
        await delete_as_read(self._api, host_key, host, self.expectations, what=str(host_key))
        log.info("host policy deleted", virtual=str(key), host=str(host_key), action="delete")

    def _check_leader(self) -> None:
        if not self._may_write():
            raise errors.NotLeader("this replica does not hold the leader lease")


async def replace_as_read(
    api: clients.KubeApi, key: ObjectKey, body: caching.Json, *, what: str
) -> caching.Json:
    """PUT ``body`` (which carries the resourceVersion it was read at, so a newer edit makes it
    a conflict) and return what the server stored. A 404 is a conflict too: the object went
    away after it was read, and the next reconcile decides anew."""
    try:
        return await api.replace(clients.NETWORK_POLICIES, key.namespace, key.name, body)
    except errors.TemporaryError:
        raise
    except errors.NotFound as exc:
        raise errors.Conflict(404, reason="NotFound", message=f"{what} vanished") from exc
    except errors.ApiError as exc:
        raise rejection(exc, "update", what) from exc


async def delete_as_read(
    api: clients.KubeApi,
    key: ObjectKey,
    read: caching.Json,
    expectations: caching.Expectations,
    *,
    what: str,
) -> None:
    """Delete the host object ``read`` only as it was read (uid and resourceVersion as
    preconditions, so a replacement or a newer edit survives), then expect it gone. A 404 means
    someone was first; ``what`` names the object in a rejection."""
    meta = read.get("metadata") or {}
    try:
        await api.delete(
            clients.NETWORK_POLICIES,
            key.namespace,
            key.name,
            uid=meta.get("uid"),
            resource_version=meta.get("resourceVersion"),
        )
    except errors.NotFound:
        pass
    except errors.TemporaryError:
        raise
    except errors.ApiError as exc:
        raise rejection(exc, "delete", what) from exc
    expectations.deleted(key)


def rejection(exc: errors.ApiError, verb: str, what: str) -> errors.PermanentError:
    """A non-temporary API failure as the permanent, event-worthy error it means here."""
    if isinstance(exc, errors.Forbidden):
        return errors.Denied(f"{verb} {what} forbidden on the host: {exc.message}")
    detail = "; ".join(exc.causes()) if isinstance(exc, errors.Invalid) else ""
    return errors.HostRejected(
        f"host API rejected {verb} of {what}: {exc.reason or exc.status} {exc.message}"
        + (f" ({detail})" if detail and detail not in exc.message else "")
    )


def _no_narrowing(
    key: ObjectKey, host: caching.Json, desired: NetworkPolicy | None
) -> AbstractAsyncContextManager[None]:
    return contextlib.nullcontext()
