"""State gauges: policy counts, leadership, task failures and what the syncer waits for."""

from __future__ import annotations

from collections.abc import Callable

import prometheus_client

from syncer.runtime.metrics import labels
from syncer.runtime.metrics.labels import PREFIX


class StateMetrics(labels.Labelled):
    """What the caches, the elector and the supervisor report."""

    def _register_state(self) -> None:
        self._synced_policies = prometheus_client.Gauge(
            PREFIX + "synced_policies",
            "Virtual policies whose host copy currently matches. Below virtual_policies means "
            "some tenant policies are not (yet) enforced on the host.",
            registry=self.registry,
        )
        self._host_policies = prometheus_client.Gauge(
            PREFIX + "host_policies",
            "Host policies owned by this syncer, as seen in its cache. Above virtual_policies "
            "means orphans awaiting collection.",
            registry=self.registry,
        )
        self._virtual_policies = prometheus_client.Gauge(
            PREFIX + "virtual_policies",
            "NetworkPolicies in the virtual cluster, as seen in the syncer's cache.",
            registry=self.registry,
        )
        self._leader = prometheus_client.Gauge(
            PREFIX + "leader",
            "1 when this replica may write (it holds the lease, or leader election is off), "
            "else 0. The sum over replicas should be exactly 1.",
            registry=self.registry,
        )
        self._leader_transitions = prometheus_client.Counter(
            PREFIX + "leader_transitions_total",
            "Times this replica gained or lost the lease. A steady rate means flapping "
            "leadership (lease too short, API server slow, or clock trouble).",
            registry=self.registry,
        )
        self._task_failures = prometheus_client.Counter(
            PREFIX + "task_failures_total",
            "Unexpected errors of a long-running task (elector attempt, informer, worker, "
            "resync, event recorder, kubeconfig watcher), each logged with its stack. The task "
            "was retried; one that keeps failing fails /healthz and ends the process.",
            ["task"],
            registry=self.registry,
        )
        self._waiting = prometheus_client.Gauge(
            PREFIX + "waiting",
            "1 while the syncer waits for an input before it can sync: the virtual kubeconfig "
            "file, an API server that answers, or RBAC on it. /readyz says the same with the "
            "last error.",
            ["for"],
            registry=self.registry,
        )
        for task in labels.TASK_NAMES:
            self._task_failures.labels(task)
        for what in labels.WAIT_FOR:
            self._waiting.labels(what).set(0)
        self._is_leader = False

    def track_policies(
        self,
        *,
        virtual: Callable[[], int] | None = None,
        host: Callable[[], int] | None = None,
        synced: Callable[[], int] | None = None,
    ) -> None:
        """Read the given policy counts at scrape time instead (e.g. ``lambda: len(cache)``).

        Costs nothing on the hot path. The callables run in the server's thread (the event
        loop), so they must be cheap and must not block.
        """
        for gauge, read in (
            (self._virtual_policies, virtual),
            (self._host_policies, host),
            (self._synced_policies, synced),
        ):
            if read is not None:
                gauge.set_function(read)

    def set_leader(self, is_leader: bool) -> None:
        """Record whether this replica may write; a change of state counts one transition.

        The initial state is "not leader", so the first ``set_leader(True)`` (also when leader
        election is off) counts one transition.
        """
        if is_leader != self._is_leader:
            self._is_leader = is_leader
            self._leader_transitions.inc()
        self._leader.set(int(is_leader))

    def task_failed(self, task: str) -> None:
        """Count an unexpected error of a long-running task (a ``TaskName``)."""
        self._task_failures.labels(self._check(task, labels.TASK_NAMES, "task")).inc()

    def track_waiting(self, what: str, read: Callable[[], bool]) -> None:
        """Read at scrape time whether the syncer waits for ``what`` (a ``WaitFor``)."""
        self._waiting.labels(self._check(what, labels.WAIT_FOR, "for")).set_function(
            lambda: float(read())
        )
