"""The request sequences both servers get: one entry each, so adding a case is one entry.

A sequence is a list of :class:`Step`. Paths, query values and bodies may name earlier answers:
``{ns}`` is the sequence's namespace and ``{<step>.<dotted.path>}`` a value from the body of
the step named ``<step>`` (e.g. ``{a.metadata.resourceVersion}``), as the server sent it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Json = Any
NAMESPACE = "conformance"

NP = "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"
EVENTS = "/api/v1/namespaces/{ns}/events"
NEW_EVENTS = "/apis/events.k8s.io/v1/namespaces/{ns}/events"
NAMESPACES = "/api/v1/namespaces"

JSON = "application/json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


@dataclass(frozen=True, kw_only=True)
class Step:
    """One request; ``watch`` reads up to that many events for at most ``seconds``."""

    method: str = "GET"
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: Json = None
    content_type: str = JSON
    accept: str | None = None
    name: str | None = None
    watch: int = 0
    seconds: float = 5.0


@dataclass(frozen=True)
class Sequence:
    """A named list of steps run in order against a fresh namespace."""

    id: str
    steps: list[Step] = field(default_factory=list)


def q(**params: str) -> tuple[tuple[str, str], ...]:
    return tuple(params.items())


def policy(name: str, *, labels: dict[str, str] | None = None, **spec: Json) -> Json:
    meta: Json = {"name": name}
    if labels:
        meta["labels"] = labels
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": {"podSelector": {"matchLabels": {"app": name}}, **spec},
    }


INGRESS = [
    {"from": [{"podSelector": {"matchLabels": {"role": "client"}}}], "ports": [{"port": 80}]}
]


def create(body: Json, name: str | None = None, *, query: Any = (), path: str = NP) -> Step:
    return Step(method="POST", path=path, body=body, name=name, query=tuple(query))


def get(name: str, *, path: str = NP, save: str | None = None) -> Step:
    return Step(path=f"{path}/{name}", name=save)


def listing(path: str = NP, save: str | None = None, **params: str) -> Step:
    return Step(path=path, query=q(**params), name=save)


def patch(name: str, body: Json, content_type: str, save: str | None = None, **params: str) -> Step:
    return Step(
        method="PATCH",
        path=f"{NP}/{name}",
        body=body,
        content_type=content_type,
        query=q(**params),
        name=save,
    )


def lease(name: str, holder: str, **spec: Json) -> Json:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, **spec},
    }


def core_event(name: str, reason: str = "SyncError", **extra: Json) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name},
        "involvedObject": {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "name": "web",
            "namespace": NAMESPACE,
        },
        "reason": reason,
        "message": "host copy could not be written",
        "type": "Warning",
        "source": {"component": "netpol-syncer"},
        "count": 1,
        **extra,
    }


SEQUENCES: list[Sequence] = [
    Sequence(
        "np-create-get",
        [
            create(policy("web", ingress=INGRESS), "a"),
            get("web"),
            create(policy("web")),
            get("missing"),
            create(policy("Bad_Name")),
            create({"apiVersion": "networking.k8s.io/v1", "kind": "Lease", "metadata": {}}),
        ],
    ),
    Sequence(
        "np-list-selectors",
        [
            create(policy("a", labels={"tier": "web", "team": "x"})),
            create(policy("b", labels={"tier": "db"})),
            create(policy("c")),
            listing(labelSelector="tier=web"),
            listing(labelSelector="tier in (web,db)"),
            listing(labelSelector="!tier"),
            listing(labelSelector="tier!=web"),
            listing(labelSelector="team,tier notin (db)"),
            listing(fieldSelector="metadata.name=b"),
            listing(fieldSelector="metadata.name!=b"),
            listing(fieldSelector="metadata.namespace=" + NAMESPACE, labelSelector="tier"),
            listing(path="/apis/networking.k8s.io/v1/networkpolicies", labelSelector="team=x"),
        ],
    ),
    Sequence(
        "np-list-chunking",
        [
            create(policy("a")),
            create(policy("b")),
            create(policy("c")),
            listing(limit="2", save="p1"),
            listing(limit="2", **{"continue": "{p1.metadata.continue}"}),
            listing(limit="1", labelSelector="app in (a,c)", save="s1"),
            listing(
                limit="1", labelSelector="app in (a,c)", **{"continue": "{s1.metadata.continue}"}
            ),
            listing(limit="2", **{"continue": "not-a-token"}),
        ],
    ),
    Sequence(
        "np-update",
        [
            create(policy("web"), "a"),
            Step(
                method="PUT",
                path=NP + "/web",
                body={
                    **policy("web", ingress=INGRESS),
                    "metadata": {"name": "web", "resourceVersion": "{a.metadata.resourceVersion}"},
                },
                name="b",
            ),
            Step(
                method="PUT",
                path=NP + "/web",
                body={
                    **policy("web"),
                    "metadata": {"name": "web", "resourceVersion": "{a.metadata.resourceVersion}"},
                },
            ),
            Step(
                method="PUT",
                path=NP + "/web",
                body=policy("web", policyTypes=["Ingress", "Egress"]),
            ),
            Step(method="PUT", path=NP + "/web", body=policy("other")),
            Step(
                method="PUT",
                path=NP + "/web",
                body={
                    **policy("web"),
                    "metadata": {"name": "web", "uid": "00000000-0000-0000-0000-000000000000"},
                },
            ),
            Step(method="PUT", path=NP + "/nothere", body=policy("nothere")),
            Step(
                method="PUT",
                path=NP + "/web",
                body={**policy("web"), "metadata": {"name": "web", "labels": {"a": "b"}}},
            ),
        ],
    ),
    Sequence(
        "np-patch-merge",
        [
            create(policy("web", labels={"a": "1", "b": "2"}, ingress=INGRESS)),
            patch("web", {"metadata": {"labels": {"a": None, "c": "3"}}}, MERGE),
            patch("web", {"spec": {"ingress": None, "policyTypes": ["Egress"]}}, MERGE),
            patch("web", {"metadata": {"resourceVersion": "1"}}, MERGE),
            patch(
                "web",
                {"spec": {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Bad"}]}}},
                MERGE,
            ),
            patch("web", "not json", MERGE),
            patch("missing", {}, MERGE),
        ],
    ),
    Sequence(
        "np-patch-json",
        [
            create(policy("web", ingress=INGRESS)),
            patch(
                "web", [{"op": "add", "path": "/metadata/labels", "value": {"x": "y"}}], JSON_PATCH
            ),
            patch(
                "web",
                [{"op": "replace", "path": "/spec/ingress/0/ports/0/port", "value": 443}],
                JSON_PATCH,
            ),
            patch("web", [{"op": "test", "path": "/metadata/labels/x", "value": "z"}], JSON_PATCH),
            patch("web", [{"op": "remove", "path": "/spec/nothere"}], JSON_PATCH),
            patch("web", {"op": "add"}, JSON_PATCH),
        ],
    ),
    Sequence(
        "np-patch-strategic",
        [
            create(policy("web", labels={"a": "1"}, ingress=INGRESS)),
            patch(
                "web",
                {"metadata": {"labels": {"b": "2"}, "finalizers": ["example.com/x"]}},
                STRATEGIC,
            ),
            patch("web", {"metadata": {"finalizers": ["example.com/y"]}}, STRATEGIC),
            patch("web", {"spec": {"ingress": [{"ports": [{"port": 8080}]}]}}, STRATEGIC),
            patch(
                "web",
                {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/x"]}},
                STRATEGIC,
            ),
            patch("web", {"metadata": {"finalizers": None}}, STRATEGIC),
            patch("web", {"spec": {"$patch": "bogus"}}, STRATEGIC),
            Step(method="PATCH", path=NP + "/web", body={}, content_type="application/bogus-patch"),
        ],
    ),
    Sequence(
        "np-apply",
        [
            patch(
                "web",
                policy("web", labels={"a": "1"}, ingress=INGRESS),
                APPLY,
                fieldManager="alice",
            ),
            patch("web", policy("web", labels={"a": "1", "b": "2"}), APPLY, fieldManager="alice"),
            get("web"),
            patch("web", policy("web"), APPLY),
            patch("web", {"metadata": {"labels": {"c": "3"}}}, MERGE, fieldManager="carol"),
            patch("web", policy("web", labels={"b": "2"}), APPLY, fieldManager="alice"),
        ],
    ),
    Sequence(
        "np-apply-conflict",
        [
            patch(
                "web",
                policy("web", labels={"owner": "alice"}, policyTypes=["Ingress"]),
                APPLY,
                fieldManager="alice",
            ),
            patch(
                "web",
                policy("web", labels={"owner": "bob"}, policyTypes=["Ingress", "Egress"]),
                APPLY,
                fieldManager="bob",
            ),
            patch("web", policy("web", labels={"owner": "alice"}), APPLY, fieldManager="bob"),
            patch(
                "web",
                policy("web", labels={"owner": "bob"}),
                APPLY,
                fieldManager="bob",
                force="true",
            ),
            patch(
                "web",
                policy("web", labels={"owner": "alice"}, policyTypes=["Ingress"]),
                APPLY,
                fieldManager="alice",
            ),
            Step(
                method="PUT",
                path=NP + "/web",
                body=policy("web", labels={"owner": "carol"}),
                query=q(fieldManager="carol"),
            ),
            get("web"),
        ],
    ),
    Sequence(
        "np-delete-preconditions",
        [
            create(policy("web"), "a"),
            Step(
                method="DELETE",
                path=NP + "/web",
                body={"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}},
            ),
            Step(
                method="DELETE", path=NP + "/web", body={"preconditions": {"resourceVersion": "1"}}
            ),
            Step(
                method="DELETE",
                path=NP + "/web",
                body={
                    "preconditions": {
                        "uid": "{a.metadata.uid}",
                        "resourceVersion": "{a.metadata.resourceVersion}",
                    }
                },
            ),
            get("web"),
            Step(method="DELETE", path=NP + "/web"),
            create(
                policy("fin", labels={"x": "y"})
                | {"metadata": {"name": "fin", "finalizers": ["example.com/hold"]}}
            ),
            Step(method="DELETE", path=NP + "/fin"),
            Step(method="DELETE", path=NP + "/fin"),
            patch("fin", {"metadata": {"finalizers": None}}, MERGE),
            get("fin"),
        ],
    ),
    Sequence(
        "np-watch-from-rv",
        [
            create(policy("web"), "a"),
            patch("web", {"metadata": {"labels": {"v": "2"}}}, MERGE),
            create(policy("other")),
            Step(method="DELETE", path=NP + "/web"),
            Step(
                path=NP,
                query=q(watch="true", resourceVersion="{a.metadata.resourceVersion}"),
                watch=3,
            ),
            Step(
                path=NP,
                query=q(
                    watch="true",
                    resourceVersion="{a.metadata.resourceVersion}",
                    labelSelector="v=2",
                ),
                watch=2,
            ),
            Step(path=NP, query=q(watch="true", resourceVersion="0"), watch=1),
            Step(path=NP, query=q(watch="true", fieldSelector="metadata.name=other"), watch=1),
            Step(path=NP + "/other", query=q(watch="true"), watch=1),
        ],
    ),
    Sequence(
        "np-watch-bookmarks",
        [
            create(policy("web")),
            create(policy("db")),
            Step(
                path=NP,
                query=q(
                    watch="true",
                    allowWatchBookmarks="true",
                    sendInitialEvents="true",
                    resourceVersionMatch="NotOlderThan",
                ),
                watch=3,
            ),
            Step(
                path=NP,
                query=q(
                    watch="true",
                    sendInitialEvents="true",
                    resourceVersionMatch="NotOlderThan",
                    allowWatchBookmarks="true",
                    labelSelector="app=db",
                ),
                watch=2,
            ),
            Step(path=NP, query=q(watch="true", sendInitialEvents="true"), watch=1, seconds=3),
            Step(
                path=NP,
                query=q(
                    watch="true", sendInitialEvents="true", resourceVersionMatch="NotOlderThan"
                ),
                watch=3,
                seconds=3,
            ),
        ],
    ),
    Sequence(
        "np-invalid-objects",
        [
            create(policy("web", ingress=[{"ports": [{"port": 0, "protocol": "ICMP"}]}])),
            create(policy("web", egress=[{"to": [{}]}], policyTypes=["Egress", "Sideways"])),
            create(
                policy(
                    "web",
                    ingress=[
                        {"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}}]}
                    ],
                )
            ),
            create(policy("web", ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.1/8"}}]}])),
            create(policy("web", podSelector={"matchLabels": {"bad key!": "v"}})),
            create(
                policy("web", ingress=[{"ports": [{"port": "http-alt-long-name", "endPort": 90}]}])
            ),
            create(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": "web"},
                    "spec": {"podSelector": "x"},
                }
            ),
            Step(method="POST", path=NP, body="{not json", content_type=JSON),
        ],
    ),
    Sequence(
        "np-invalid-options",
        [
            listing(labelSelector="a in ("),
            listing(labelSelector="a=b=c"),
            listing(fieldSelector="spec.podSelector=x"),
            listing(fieldSelector="metadata.name"),
            listing(limit="-1"),
            listing(limit="abc"),
            listing(resourceVersion="abc"),
            listing(resourceVersion="1", resourceVersionMatch="Bogus"),
            listing(resourceVersionMatch="NotOlderThan"),
            listing(timeoutSeconds="abc"),
            create(policy("web"), query=q(dryRun="Bogus")),
            create(policy("web"), query=q(fieldValidation="Bogus")),
            Step(path=NP, query=q(watch="true", resourceVersion="abc"), watch=1),
            Step(path=NP + "/web", method="DELETE", query=q(dryRun="Bogus")),
            Step(path=NP, query=q(watch="true", resourceVersion="999999999"), watch=1, seconds=4),
        ],
    ),
    Sequence(
        "np-dry-run",
        [
            create(policy("web"), query=q(dryRun="All")),
            get("web"),
            create(policy("web"), "a"),
            Step(
                method="PUT",
                path=NP + "/web",
                body=policy("web", ingress=INGRESS),
                query=q(dryRun="All"),
            ),
            patch("web", {"metadata": {"labels": {"x": "y"}}}, MERGE, dryRun="All"),
            patch("web", policy("web", labels={"x": "y"}), APPLY, dryRun="All", fieldManager="m"),
            Step(method="DELETE", path=NP + "/web", query=q(dryRun="All")),
            get("web"),
        ],
    ),
    Sequence(
        "np-field-validation",
        [
            create(policy("a") | {"extra": 1}, query=q(fieldValidation="Strict")),
            create(policy("a") | {"extra": 1}, query=q(fieldValidation="Warn")),
            create(policy("b") | {"extra": 1}, query=q(fieldValidation="Ignore")),
            create(policy("c", ingress=[{"bogus": True}])),
            Step(
                method="POST",
                path=NP,
                body='{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"d","name":"d"},"spec":{"podSelector":{}}}',
                query=q(fieldValidation="Strict"),
            ),
            Step(
                method="PUT",
                path=NP + "/a",
                body=policy("a") | {"extra": 1},
                query=q(fieldValidation="Strict"),
            ),
            patch("a", {"spec": {"bogus": 1}}, MERGE, fieldValidation="Strict"),
            patch("a", {"spec": {"bogus": 1}}, MERGE),
            patch(
                "a", policy("a") | {"bogus": 1}, APPLY, fieldManager="m", fieldValidation="Strict"
            ),
        ],
    ),
    Sequence(
        "np-media-types",
        [
            create(policy("web")),
            Step(path=NP + "/web", accept="application/yaml"),
            Step(path=NP, accept="application/yaml"),
            Step(path=NP + "/missing", accept="application/yaml"),
            Step(path=NP + "/web", accept="application/xml"),
            Step(
                method="POST",
                path=NP,
                body=(
                    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                    "metadata:\n  name: y\nspec:\n  podSelector: {}\n"
                ),
                content_type="application/yaml",
            ),
            Step(method="POST", path=NP, body="{}", content_type="text/plain"),
        ],
    ),
    Sequence(
        "np-oversized-body",
        [
            create(
                policy("big") | {"metadata": {"name": "big", "annotations": {"a": "x" * 3_500_000}}}
            ),
            get("big"),
        ],
    ),
    Sequence(
        "lease-basics",
        [
            create(lease("lock", "a"), "a", path=LEASES),
            get("lock", path=LEASES),
            Step(
                method="PUT",
                path=LEASES + "/lock",
                body=lease("lock", "b", leaseTransitions=1)
                | {"metadata": {"name": "lock", "resourceVersion": "{a.metadata.resourceVersion}"}},
            ),
            Step(
                method="PUT",
                path=LEASES + "/lock",
                body=lease("lock", "c")
                | {"metadata": {"name": "lock", "resourceVersion": "{a.metadata.resourceVersion}"}},
            ),
            Step(method="PUT", path=LEASES + "/fresh", body=lease("fresh", "a")),
            Step(
                method="PATCH",
                path=LEASES + "/lock",
                body={"spec": {"renewTime": "2026-01-01T00:00:00.000000Z"}},
                content_type=MERGE,
            ),
            create(lease("bad", "a", leaseDurationSeconds=0), path=LEASES),
            listing(path=LEASES),
            Step(method="DELETE", path=LEASES + "/lock"),
        ],
    ),
    Sequence(
        "event-core-v1",
        [
            create(core_event("web.1"), "a", path=EVENTS),
            listing(path=EVENTS, fieldSelector="involvedObject.name=web,reason=SyncError"),
            listing(path=EVENTS, fieldSelector="involvedObject.kind=NetworkPolicy,type=Normal"),
            listing(path=EVENTS, fieldSelector="source=netpol-syncer"),
            Step(
                method="PATCH",
                path=EVENTS + "/web.1",
                body={"count": 2, "lastTimestamp": "2026-01-01T00:00:00Z"},
                content_type=STRATEGIC,
            ),
            Step(method="PUT", path=EVENTS + "/web.2", body=core_event("web.2")),
            create(
                core_event("web.3")
                | {
                    "involvedObject": {
                        "kind": "NetworkPolicy",
                        "name": "web",
                        "namespace": "elsewhere",
                    }
                },
                path=EVENTS,
            ),
            create(core_event("web.4", reason=""), path=EVENTS),
            listing(path=EVENTS, fieldSelector="bogus=x"),
        ],
    ),
    Sequence(
        "event-events-k8s-io",
        [
            create(
                {
                    "apiVersion": "events.k8s.io/v1",
                    "kind": "Event",
                    "metadata": {"name": "web.1"},
                    "eventTime": "2026-01-01T00:00:00.000000Z",
                    "reportingController": "netpol-syncer",
                    "reportingInstance": "netpol-syncer-0",
                    "action": "Sync",
                    "reason": "SyncError",
                    "note": "host copy could not be written",
                    "type": "Warning",
                    "regarding": {
                        "apiVersion": "networking.k8s.io/v1",
                        "kind": "NetworkPolicy",
                        "name": "web",
                        "namespace": NAMESPACE,
                    },
                },
                path=NEW_EVENTS,
            ),
            get("web.1", path=NEW_EVENTS),
            get("web.1", path=EVENTS),
            create(core_event("web.2"), path=EVENTS),
            get("web.2", path=NEW_EVENTS),
            listing(path=NEW_EVENTS),
            create(
                {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "bad"}},
                path=NEW_EVENTS,
            ),
        ],
    ),
    Sequence(
        "namespace-basics",
        [
            create(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": "conf-ns", "labels": {"conformance": "yes"}},
                },
                path=NAMESPACES,
            ),
            get("conf-ns", path=NAMESPACES),
            listing(path=NAMESPACES, labelSelector="conformance=yes"),
            listing(path=NAMESPACES, fieldSelector="metadata.name=conf-ns"),
            Step(
                method="PATCH",
                path=NAMESPACES + "/conf-ns",
                body={"metadata": {"labels": {"x": "y"}}},
                content_type=MERGE,
            ),
            create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Bad"}},
                path=NAMESPACES,
            ),
            create(
                policy("web"), path="/apis/networking.k8s.io/v1/namespaces/nowhere/networkpolicies"
            ),
            Step(method="DELETE", path=NAMESPACES + "/conf-ns"),
            create(
                policy("web"), path="/apis/networking.k8s.io/v1/namespaces/conf-ns/networkpolicies"
            ),
        ],
    ),
]

BY_ID = {sequence.id: sequence for sequence in SEQUENCES}
