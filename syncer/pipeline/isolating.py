"""``isolation: managed`` in the controller: keep the baseline policies on the host (SPEC §9).

The pure builder (:mod:`guardrails.isolation`) says which baselines a set of tenant policies and
host copies needs; this module writes them, as the reconciler writes tenant copies, and keeps
every tenant pod isolated while they change.

Keys. Baselines are reconciled per virtual namespace under the queue key
``ObjectKey(<namespace>, KEY_NAME)`` and the others baseline (pods in namespaces without
policies) under ``ObjectKey("", KEY_NAME)``; ``KEY_NAME`` is not a valid object name, so no
virtual policy has such a key. Any change of a virtual policy or of a host object of this
vCluster enqueues its namespace's key and the others key; the controller routes them here.

Never a gap. A pod that no host policy selects in a direction is non-isolated on the host:
outside the envelope. Coverage is therefore only ever *widened before it is narrowed*:

- a pod is left to a tenant copy (exempt) only while the tenant policy *and* its host copy in
  the host cache both select it (:func:`guardrails.exemptions`): a new copy exempts its pods
  once the watch shows it, and a removed or narrowed tenant policy stops exempting them at once;
- a tenant copy is deleted, or updated to another pod selector or policy types, only once the
  baselines in the host cache are exactly what the current caches ask for (:meth:`covers`),
  which then cover every pod the copy selected and will no longer select; otherwise the key
  waits (:class:`BaselinePending`) and the namespace's key is enqueued;
- baselines are created first, then updated, then deleted; names carry a digest of the pod
  selector, so a namespace baseline is never edited into a narrower one;
- the others baseline leaves a namespace out only once that namespace's baselines in the host
  cache are current, and a namespace's last baselines are deleted only once the others
  baseline in the host cache covers it again;
- all of this runs under one lock, and a reconcile waits while a write it depends on is not in
  the host cache yet (expectations), so no decision is taken on a view a write in flight is
  about to change.

Deletes follow the tenant copies' rules: the namespace baselines go when the namespace has no
policy left only after the virtual API itself lists none there (a stale cache never deletes);
with ``isolation`` off (also after a restart with the setting removed) every baseline is deleted
(the admin turned vCluster's own isolation back on, or chose none). Only the leader writes.

Longer than most modules on purpose: the write ordering that keeps isolation without a
gap (create, then update, then delete, under one lock) is argued once, next to the code
that follows it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, Protocol, cast

import structlog

import guardrails
from guardrails import isolation
from syncer.pipeline import caching, reconciling
from syncer.runtime import clients, errors
from syncer.runtime.clock import Clock, LoopClock
from translate import (
    NetworkPolicy,
    ObjectKey,
    Target,
    host_name,
    markers,
    virtual_key_of,
    with_owner,
)
from translate.owner import merged_owner_references

log = structlog.get_logger("syncer.pipeline.isolating")

KEY_NAME = "(baselines)"
"""Name part of a baseline queue key: parentheses never occur in an object name."""
OTHERS_KEY = ObjectKey("", KEY_NAME)
NAMESPACE_INDEX = "virtual-namespace"
"""Virtual store: namespace -> its policies."""
BASELINE_INDEX = "baseline"
"""Host store: namespace of a namespace baseline (``""`` for the others baseline) -> keys."""
FALLBACK = "IsolationFallback"
"""Error reason counted when a namespace falls back to one baseline for all its pods."""


class BaselinePending(errors.TemporaryError):
    """A tenant copy would stop selecting pods that no baseline covers yet: retried once the
    namespace's baselines caught up."""


class IsolationMetrics(Protocol):
    def sync_error(self, reason: str) -> None: ...

    def drift_repaired(self, kind: str) -> None: ...


def key_for(namespace: str) -> ObjectKey:
    return ObjectKey(namespace, KEY_NAME)


def is_key(key: ObjectKey) -> bool:
    return key.name == KEY_NAME


def virtual_namespaces(obj: caching.Json) -> list[str]:
    """Index function for the virtual store (:data:`NAMESPACE_INDEX`)."""
    return [caching.key_of(obj).namespace]


def baseline_scopes(obj: caching.Json) -> list[str]:
    """Index function for the host store (:data:`BASELINE_INDEX`): baselines only."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    scope = labels.get(isolation.BASELINE_LABEL)
    if scope == isolation.NAMESPACE_SCOPE:
        return [str(labels.get(markers.NAMESPACE) or "")]
    return [""] if scope == isolation.OTHERS_SCOPE else []


class Baselines:
    """Reconciles baseline keys; one instance per controller, all work under one lock."""

    def __init__(
        self,
        *,
        target: Target,
        rails: guardrails.Guardrails | None,
        virtual: caching.Store,
        host: caching.Store,
        host_api: clients.KubeApi,
        virtual_api: clients.KubeApi,
        enqueue: Callable[[ObjectKey], None],
        tenant_pending: Callable[[ObjectKey], bool],
        owner_references: Callable[[], list[dict[str, Any]] | None],
        metrics: IsolationMetrics,
        may_write: Callable[[], bool] = lambda: True,
        clock: Clock | None = None,
    ) -> None:
        self._target = target
        self._rails = rails or guardrails.Guardrails()
        self.managed = self._rails.isolation == "managed"
        self._virtual = virtual
        self._host = host
        self._api = host_api
        self._virtual_api = virtual_api
        self._enqueue = enqueue
        self._tenant_pending = tenant_pending
        self._owner_references = owner_references
        self._metrics = metrics
        self._may_write = may_write
        self._lock = asyncio.Lock()
        self.expectations = caching.Expectations(host, clock=clock or LoopClock())
        """Host key of a baseline -> the write the host cache has not shown yet."""
        self._verified: set[str] = set()
        """Names of baselines this process wrote or found as desired (drift is counted)."""
        self._fallbacks: dict[str, tuple[str, ...]] = {}
        """Namespace -> the fallback warnings last reported (one count per change)."""
        self._memo: dict[str, tuple[tuple[Any, ...], isolation.Baseline]] = {}
        """Namespace -> (its inputs' versions, its namespace baselines)."""

    # -- keys (handlers: never fail, never block) ----------------------------------------------

    def work(self) -> Iterator[ObjectKey]:
        """Every baseline key with work: namespaces with baselines on the host, and, while
        managed, every namespace with policies and the others key."""
        seen = set(self._host.index_values(BASELINE_INDEX))
        if self.managed:
            seen |= set(self._virtual.index_values(NAMESPACE_INDEX))
            seen.add("")
        return (key_for(namespace) for namespace in sorted(seen))

    def on_virtual(self, old: caching.Json | None, new: caching.Json | None) -> None:
        if self.managed:
            self._enqueue(key_for(caching.key_of(new if new is not None else old or {}).namespace))
            self._enqueue(OTHERS_KEY)

    def on_host(self, old: caching.Json | None, new: caching.Json | None) -> None:
        """A baseline changed: its key (an others baseline: every namespace waiting for it);
        while managed, a tenant copy changed: its namespace's key; and the others key."""
        obj = new if new is not None else old or {}
        scopes = baseline_scopes(obj)
        if scopes == [""]:
            for namespace in self._host.index_values(BASELINE_INDEX):
                self._enqueue(key_for(namespace))
        elif not scopes:
            labels = (obj.get("metadata") or {}).get("labels") or {}
            copied_from = labels.get(markers.NAMESPACE)
            if not self.managed or not copied_from:
                return
            scopes = [str(copied_from)]
        self._enqueue(key_for(scopes[0]))
        if self.managed:
            self._enqueue(OTHERS_KEY)

    # -- what is desired -----------------------------------------------------------------------

    def _tenants(self, namespace: str) -> list[ObjectKey]:
        return sorted(self._virtual.by_index(NAMESPACE_INDEX, namespace))

    def _host_key(self, key: ObjectKey) -> ObjectKey:
        return ObjectKey(
            self._target.host_namespace, host_name(key.name, key.namespace, self._target.vcluster)
        )

    def _namespace_baselines(self, namespace: str) -> isolation.Baseline:
        """The namespace baselines the caches ask for (memoised on their versions)."""
        tenants = self._tenants(namespace)
        if not tenants:
            self._memo.pop(namespace, None)
            return isolation.Baseline(())
        stamp = tuple(
            (k.name, self._virtual.version(k), self._host.digest(self._host_key(k)))
            for k in tenants
        )
        memo = self._memo.get(namespace)
        if memo is not None and memo[0] == stamp:
            return memo[1]
        policies: list[NetworkPolicy] = []
        copies: dict[str, NetworkPolicy] = {}
        for key in tenants:
            virtual = self._virtual.get(key)
            if virtual is None:
                continue
            policies.append(cast(NetworkPolicy, virtual))
            host = self._host.get(self._host_key(key))
            if host is not None and virtual_key_of(host, self._target) == key:
                copies[key.name] = cast(NetworkPolicy, host)
        result = (
            isolation.namespace_baselines(
                namespace,
                isolation.exemptions(policies, copies, self._target),
                self._rails,
                self._target,
            )
            if policies
            else isolation.Baseline(())
        )
        self._memo[namespace] = (stamp, result)
        return result

    def desired(self, namespace: str) -> dict[str, NetworkPolicy]:
        """Name -> baseline for one key's scope; empty unless managed."""
        if not self.managed:
            return {}
        if namespace:
            policies = self._namespace_baselines(namespace).policies
        else:
            covered = [
                ns
                for ns in self._virtual.index_values(NAMESPACE_INDEX)
                if self._current(ns) is True
            ]
            policies = isolation.others_baselines(sorted(covered), self._rails, self._target)
        return {p["metadata"]["name"]: p for p in policies}

    def _cached(self, namespace: str) -> dict[str, caching.Json] | None:
        """Baselines of ``namespace`` in the host cache; None while a write of one is pending."""
        found: dict[str, caching.Json] = {}
        for key in self._host.by_index(BASELINE_INDEX, namespace):
            if self.expectations.pending(key):
                return None
            obj = self._host.get(key)
            if obj is not None:
                found[key.name] = obj
        return found

    def _current(self, namespace: str) -> bool:
        """Whether the host cache shows exactly the baselines ``namespace`` needs."""
        cached = self._cached(namespace)
        if cached is None:
            return False
        desired = self.desired(namespace)
        return set(cached) == set(desired) and all(
            cached[name].get("spec") == desired[name]["spec"] for name in desired
        )

    def _others_cover(self, namespace: str) -> bool:
        """Whether the others baselines in the host cache select the pods of ``namespace``."""
        cached = self._cached("")
        if cached is None:
            return False
        excluded = isolation.covered_by_others(cached.values())
        return excluded is not None and namespace not in excluded

    def covers(self, namespace: str) -> bool:
        """Whether a tenant copy in ``namespace`` may stop selecting pods: the baselines in the
        host cache are what the current caches ask for (see the module docstring)."""
        if not self._current(namespace):
            return False
        return bool(self._tenants(namespace)) or self._others_cover(namespace)

    # -- the tenant copies' side ---------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def narrowing(
        self, key: ObjectKey, host: caching.Json, desired: NetworkPolicy | None
    ) -> AsyncIterator[None]:
        """Around a delete (``desired`` None) or update of a tenant copy: when it may stop
        selecting pods, it waits until the baselines cover them and holds the lock while
        writing, so no baseline is narrowed on a view the write is about to change."""
        if not self.managed or (desired is not None and not _reselects(host, desired)):
            yield
            return
        async with self._lock:
            if not self.covers(key.namespace):
                self._enqueue(key_for(key.namespace))
                self._enqueue(OTHERS_KEY)
                raise BaselinePending(
                    f"{key}: the isolation baselines of namespace {key.namespace!r} do not "
                    "cover its pods yet; the host copy is changed once they do"
                )
            yield

    # -- reconcile -----------------------------------------------------------------------------

    async def reconcile(self, key: ObjectKey) -> reconciling.Outcome:
        """Make the baselines of ``key``'s scope match; creates, then updates, then deletes."""
        namespace = key.namespace
        async with self._lock:
            first = ObjectKey(self._target.host_namespace, KEY_NAME)
            cached = self._cached(namespace)
            if cached is None or (
                self.managed
                and any(self._tenant_pending(self._host_key(k)) for k in self._tenants(namespace))
            ):
                # A write is not in the host cache yet; its watch event enqueues this key again.
                return reconciling.Outcome("skipped", first)
            desired = self.desired(namespace)
            self._report_fallback(namespace)
            creates = [n for n in desired if n not in cached]
            updates = [n for n in desired if n in cached and self._differs(desired[n], cached[n])]
            deletes = [n for n in cached if n not in desired]
            if deletes and self.managed and namespace and not self._tenants(namespace):
                if not self._others_cover(namespace):
                    self._enqueue(OTHERS_KEY)
                    return reconciling.Outcome("skipped", first)
                await self._confirm_no_policies(namespace)
            action: reconciling.Action = "unchanged"
            drift: str | None = None
            for name in creates:
                drift = drift or ("recreated" if name in self._verified else None)
                await self._create(desired[name])
                action = "created"
            for name in updates:
                drift = drift or ("reverted" if name in self._verified else None)
                await self._update(desired[name], cached[name])
                action = "updated" if action == "unchanged" else action
            for name in deletes:
                await self._delete(cached[name])
                action = "deleted" if action == "unchanged" else action
            self._verified -= set(deletes)
            self._verified |= set(desired)
            if action == "unchanged":
                drift = None
            outcome_key = ObjectKey(self._target.host_namespace, next(iter(desired), KEY_NAME))
            return reconciling.Outcome(action, outcome_key, cast(Any, drift))

    def _report_fallback(self, namespace: str) -> None:
        warnings = self._namespace_baselines(namespace).warnings if namespace else ()
        if not self.managed:
            warnings = ()
        if self._fallbacks.get(namespace, ()) == warnings:
            return
        if warnings:
            self._fallbacks[namespace] = warnings
            self._metrics.sync_error(FALLBACK)
            for warning in warnings:
                log.warning("isolation baseline falls back", namespace=namespace, detail=warning)
        else:
            self._fallbacks.pop(namespace, None)

    def _with_owner(self, policy: NetworkPolicy, actual: Mapping[str, Any] | None) -> caching.Json:
        references = self._owner_references()
        if references is not None and actual is not None:
            theirs = (actual.get("metadata") or {}).get("ownerReferences") or []
            references = [
                dict(r) for r in merged_owner_references(references, theirs, self._target.vcluster)
            ]
        return dict(with_owner(policy, references))

    def _differs(self, desired: NetworkPolicy, actual: caching.Json) -> bool:
        meta = actual.get("metadata") or {}
        want = self._with_owner(desired, actual)["metadata"]
        labels = meta.get("labels") or {}
        annotations = meta.get("annotations") or {}
        owners = meta.get("ownerReferences")
        return (
            actual.get("spec") != desired["spec"]
            or any(labels.get(k) != v for k, v in want.get("labels", {}).items())
            or any(annotations.get(k) != v for k, v in want.get("annotations", {}).items())
            or owners != want.get("ownerReferences", owners)
        )

    async def _create(self, desired: NetworkPolicy) -> None:
        self._check_leader()
        body = self._with_owner(desired, None)
        try:
            created = await self._api.create(
                clients.NETWORK_POLICIES, self._target.host_namespace, body
            )
        except errors.AlreadyExists as exc:
            raise errors.Conflict(409, reason="Conflict", message="baseline appeared") from exc
        except errors.TemporaryError:
            raise
        except errors.ApiError as exc:
            raise reconciling.rejection(exc, "create", f"baseline {caching.key_of(body)}") from exc
        self.expectations.written(caching.key_of(created), caching.version_of(created))
        log.info("baseline created", host=str(caching.key_of(created)), action="create")

    async def _update(self, desired: NetworkPolicy, actual: caching.Json) -> None:
        self._check_leader()
        want = self._with_owner(desired, actual)
        body = dict(actual)
        meta = dict(actual.get("metadata") or {})
        meta["labels"] = {**(meta.get("labels") or {}), **want["metadata"].get("labels", {})}
        meta["annotations"] = {
            **(meta.get("annotations") or {}),
            **want["metadata"].get("annotations", {}),
        }
        if "ownerReferences" in want["metadata"]:
            meta["ownerReferences"] = want["metadata"]["ownerReferences"]
        body["metadata"] = meta
        body["spec"] = desired["spec"]
        key = caching.key_of(actual)
        updated = await reconciling.replace_as_read(self._api, key, body, what=f"baseline {key}")
        self.expectations.written(key, caching.version_of(updated))
        log.info("baseline updated", host=str(key), action="update")

    async def _delete(self, actual: caching.Json) -> None:
        self._check_leader()
        key = caching.key_of(actual)
        await reconciling.delete_as_read(
            self._api, key, actual, self.expectations, what=f"baseline {key}"
        )
        log.info("baseline deleted", host=str(key), action="delete")

    async def _confirm_no_policies(self, namespace: str) -> None:
        """Raise unless the virtual API itself lists no policy in ``namespace``: a stale
        cache must not delete the baselines that keep tenant restrictions in force."""
        try:
            page = await self._virtual_api.list_page(clients.NETWORK_POLICIES, namespace, limit=1)
        except errors.TemporaryError:
            raise
        except errors.ApiError as exc:
            raise errors.VirtualCacheBehind(
                f"cannot confirm that namespace {namespace} has no policies ({exc}); "
                "its baselines are kept"
            ) from exc
        if next(iter(page.items()), None) is not None:
            log.warning("virtual cache is behind the API; baselines kept", namespace=namespace)
            raise errors.VirtualCacheBehind(
                f"namespace {namespace} has policies the virtual cache misses; "
                "its baselines are kept"
            )

    def _check_leader(self) -> None:
        if not self._may_write():
            raise errors.NotLeader("this replica does not hold the leader lease")


class Routed:
    """What the worker loop reconciles: baseline keys here, every other key by the tenant
    copies' reconciler (whose ``in_sync`` the loop reads)."""

    def __init__(self, reconciler: reconciling.Reconciler, baselines: Baselines) -> None:
        self._reconciler = reconciler
        self._baselines = baselines

    @property
    def in_sync(self) -> dict[ObjectKey, Any]:
        return cast(dict[ObjectKey, Any], self._reconciler.in_sync)

    async def reconcile(self, key: ObjectKey) -> reconciling.Outcome:
        if is_key(key):
            return await self._baselines.reconcile(key)
        return await self._reconciler.reconcile(key)


def _reselects(host: caching.Json, desired: NetworkPolicy) -> bool:
    """Whether writing ``desired`` over ``host`` may change which pods it isolates."""
    before = host.get("spec") or {}
    after = desired.get("spec") or {}
    return before.get("podSelector") != after.get("podSelector") or sorted(
        before.get("policyTypes") or []
    ) != sorted(after.get("policyTypes") or [])
