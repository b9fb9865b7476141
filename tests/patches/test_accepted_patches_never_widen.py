"""Properties of the widening check, against the upstream semantics of ``netpol_semantics``.

(a) It never refuses what cannot widen: an identity patch list (anywhere in the object, also
    reordering lists) or a metadata-only one.
(b) Whenever it accepts a patched spec, the patched host policy allows a subset of what the
    unpatched one allows, per direction, for every host pod, every other pod or external
    address and every probed port, both alone and beside a deny-all policy (which makes any
    allowance the patched policy adds visible, even in a direction the unpatched one did not
    isolate).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import jsonpatch
from hypothesis import event, given, settings
from hypothesis import strategies as st

import patches
import translate
from patches import narrowing
from tests.support import netpol_semantics as sem
from tests.support import strategies

VC = "vc1"
HNS = "team-a"
TARGET = translate.Target(vcluster=VC, host_namespace=HNS)
MB = "vcluster.loft.sh/managed-by"
NS = "vcluster.loft.sh/namespace"

DENY_ALL: dict[str, Any] = {
    "metadata": {"name": "deny-all", "namespace": HNS},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
}
FOREIGN_POD = sem.Pod(
    name="foreign", namespace=HNS, labels={"app": "web"}, ports=strategies.CONTAINER_PORTS[:2]
)
"""A host pod of no vCluster: a host copy never selects it, but a wrong one could admit it."""


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _nodes(doc: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    yield pointer, doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _nodes(value, f"{pointer}/{_escape(key)}")
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _nodes(value, f"{pointer}/{index}")


# -- (a) identity and metadata-only lists -------------------------------------------------------


@st.composite
def identity_lists(draw: st.DrawFn, doc: Any) -> list[dict[str, Any]]:
    """Entries that leave ``doc`` as it is, or only reorder one of its lists.

    Each entry is drawn against the document as the previous entries left it.
    """
    current = copy.deepcopy(doc)
    entries: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        nodes = [(p, v) for p, v in _nodes(current) if p]
        lists = [(p, v) for p, v in nodes if isinstance(v, list) and len(v) > 1]
        kinds = ["replace", "test", "remove-add", *(["reorder"] if lists else [])]
        kind = draw(st.sampled_from(kinds))
        if kind == "reorder":
            pointer, value = draw(st.sampled_from(lists))
            j = draw(st.integers(1, len(value) - 1))
            drawn = [{"op": "move", "from": f"{pointer}/{j}", "path": f"{pointer}/0"}]
        else:
            pointer, value = draw(st.sampled_from(nodes))
            if kind == "remove-add":
                drawn = [
                    {"op": "remove", "path": pointer},
                    {"op": "add", "path": pointer, "value": copy.deepcopy(value)},
                ]
            else:
                drawn = [{"op": kind, "path": pointer, "value": copy.deepcopy(value)}]
        current = jsonpatch.apply_patch(current, drawn)
        entries.extend(drawn)
    return entries


METADATA_KEYS = st.sampled_from(["team", "app", "example.com~1owner", "tier", "cost-center"])


@st.composite
def metadata_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Adds, replaces and removes of tenant labels and annotations (never the scoping ones)."""
    entries: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["labels", "annotations"]))
        key = draw(METADATA_KEYS)
        entries.append(
            {"op": "add", "path": f"/metadata/{where}/{key}", "value": draw(st.sampled_from("ab"))}
        )
        if draw(st.booleans()):
            entries.append({"op": "remove", "path": f"/metadata/{where}/{key}"})
    return entries


POLICIES = strategies.network_policies(max_rules=2)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), virtual=POLICIES)
def test_identity_and_metadata_lists_are_never_refused(data: st.DataObject, virtual: Any) -> None:
    """Whatever the policy, patches that change no spec (or only list order) are accepted."""
    translated = translate.to_host(virtual, TARGET)
    entries = data.draw(st.one_of(identity_lists(translated), metadata_lists()))
    result = patches.parse(entries).apply(translated, vcluster=VC)
    assert narrowing.widenings(result, translated) == []


@settings(max_examples=300, deadline=None)
@given(data=st.data(), virtual=POLICIES)
def test_metadata_never_counts_as_widening(data: st.DataObject, virtual: Any) -> None:
    """The check looks at the spec only: any metadata at all passes it."""
    translated = translate.to_host(virtual, TARGET)
    changed = {**translated, "metadata": data.draw(st.dictionaries(st.text(), st.text()))}
    assert narrowing.widenings(changed, translated) == []


# -- (b) accepted results allow a subset --------------------------------------------------------

LABEL_VALUES = strategies.POD_LABEL_VALUES
VALUES: list[Any] = [
    "Ingress",
    "Egress",
    ["Ingress"],
    ["Egress"],
    ["Ingress", "Egress"],
    [],
    {},
    None,
    53,
    80,
    443,
    8080,
    9090,
    "http",
    "dns",
    "TCP",
    "UDP",
    "SCTP",
    "web",
    "db",
    "10.0.0.0/8",
    "10.1.0.0/16",
    "0.0.0.0/0",
    "192.168.0.0/16",
    "203.0.113.0/25",
    ["10.1.0.0/16"],
    ["169.254.169.254/32", "10.0.0.0/8"],
    {"port": 80},
    {"protocol": "UDP", "port": 53},
    {"port": 80, "endPort": 9090},
    {"protocol": "TCP"},
    [{"port": 443}],
    {"ipBlock": {"cidr": "10.0.0.0/8"}},
    {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}},
    {"podSelector": {"matchLabels": {MB: VC, NS: "default"}}},
    {"podSelector": {"matchLabels": {MB: VC, NS: "web", "app": "db"}}},
    {"podSelector": {"matchLabels": {MB: VC}}},
    {"matchLabels": {MB: VC, NS: "default"}},
    {"app": "web"},
    [{"key": "app", "operator": "In", "values": ["web", "db"]}],
    [{"key": "tier", "operator": "NotIn", "values": ["db"]}],
    [{"key": "app", "operator": "Exists"}],
    {"key": "tier", "operator": "DoesNotExist"},
    {"from": [{"podSelector": {"matchLabels": {MB: VC, NS: "default"}}}]},
    {"to": [{"ipBlock": {"cidr": "192.168.0.0/16"}}], "ports": [{"port": 443}]},
    {"ports": [{"port": 53, "protocol": "UDP"}]},
]
"""Values that narrow in one place and widen in another: ports, CIDRs, peers, selectors, types."""

NEW_KEYS = [
    "ports",
    "port",
    "endPort",
    "protocol",
    "except",
    "cidr",
    "from",
    "to",
    "matchLabels",
    "matchExpressions",
    "app",
    "tier",
    "policyTypes",
    "ingress",
    "egress",
]


@st.composite
def spec_lists(draw: st.DrawFn, doc: Any) -> list[dict[str, Any]]:
    """1-3 entries of any op over the spec's paths and new ones beside them."""
    nodes = [(p, v) for p, v in _nodes(doc) if p.startswith("/spec")]
    existing = [p for p, _ in nodes if p != "/spec"]
    beside = [f"{p}/{k}" for p, v in nodes if isinstance(v, dict) for k in NEW_KEYS] + [
        f"{p}/{end}" for p, v in nodes if isinstance(v, list) for end in "-0"
    ]
    paths = st.one_of(st.sampled_from(existing), st.sampled_from(beside))
    values = st.one_of(
        st.sampled_from(VALUES), st.sampled_from(nodes).map(lambda n: copy.deepcopy(n[1]))
    )
    entries: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["add", "remove", "replace", "move", "copy"]))
        entry: dict[str, Any] = {"op": op, "path": draw(paths)}
        if op in ("add", "replace"):
            entry["value"] = draw(values)
        if op in ("move", "copy"):
            entry["from"] = draw(st.sampled_from(existing))
        entries.append(entry)
    return entries


RESERVED = {MB, NS, "release", "vcluster.loft.sh/controlled-by"}


def _mutations(spec: Any) -> list[dict[str, Any]]:
    """Single entries aimed at the parts of ``spec`` that decide what it allows: about half
    narrow it (fewer rules, peers, ports or addresses, narrower selectors, more isolation) and
    half widen it (no peers, no ports, other ports, bigger CIDRs, fewer types or labels)."""
    found: list[dict[str, Any]] = [
        {"op": "add", "path": "/spec/policyTypes", "value": ["Ingress", "Egress"]},
        {"op": "add", "path": "/spec/policyTypes", "value": ["Ingress"]},
        {"op": "add", "path": "/spec/policyTypes", "value": ["Egress"]},
        {"op": "remove", "path": "/spec/policyTypes"},
        {"op": "add", "path": "/spec/podSelector/matchLabels/tier", "value": "db"},
        {"op": "add", "path": "/spec/egress", "value": []},
        {"op": "remove", "path": "/spec/egress"},
        {"op": "remove", "path": "/spec/ingress"},
        {
            "op": "add",
            "path": "/spec/ingress/-",
            "value": {"from": [{"podSelector": {"matchLabels": {MB: VC, NS: "default"}}}]},
        },
    ]
    for direction, field in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            at = f"/spec/{direction}/{i}"
            found += [
                {"op": "remove", "path": at},
                {"op": "remove", "path": f"{at}/{field}"},
                {"op": "remove", "path": f"{at}/ports"},
                {"op": "add", "path": f"{at}/ports", "value": [{"port": 443}]},
                {"op": "add", "path": f"{at}/ports", "value": [{"protocol": "UDP", "port": 53}]},
                {"op": "copy", "from": at, "path": f"/spec/{direction}/-"},
            ]
            for j, peer in enumerate(rule.get(field) or []):
                here = f"{at}/{field}/{j}"
                found.append({"op": "remove", "path": here})
                if "podSelector" in peer:
                    selector = f"{here}/podSelector"
                    found += [
                        {"op": "add", "path": f"{selector}/matchLabels/tier", "value": "db"},
                        {
                            "op": "add",
                            "path": f"{selector}/matchExpressions",
                            "value": [{"key": "app", "operator": "In", "values": ["web", "db"]}],
                        },
                    ]
                    for key in peer["podSelector"].get("matchLabels") or {}:
                        if key not in RESERVED:
                            found.append(
                                {"op": "remove", "path": f"{selector}/matchLabels/{_escape(key)}"}
                            )
                    if peer["podSelector"].get("matchExpressions"):
                        found.append({"op": "remove", "path": f"{selector}/matchExpressions/0"})
                if "ipBlock" in peer:
                    block = f"{here}/ipBlock"
                    found += [
                        {"op": "replace", "path": f"{block}/cidr", "value": "10.0.0.0/8"},
                        {"op": "replace", "path": f"{block}/cidr", "value": "0.0.0.0/0"},
                        {"op": "add", "path": f"{block}/except", "value": ["10.1.0.0/16"]},
                        {"op": "remove", "path": f"{block}/except"},
                        {"op": "remove", "path": f"{block}/except/0"},
                    ]
            for k, port in enumerate(rule.get("ports") or []):
                here = f"{at}/ports/{k}"
                found += [
                    {"op": "remove", "path": here},
                    {"op": "replace", "path": f"{here}/port", "value": 80},
                    {"op": "replace", "path": f"{here}/port", "value": "http"},
                    {"op": "remove", "path": f"{here}/port"},
                    {"op": "add", "path": f"{here}/protocol", "value": "UDP"},
                ]
                if isinstance(port.get("port"), int):
                    end = port["port"]
                    found += [
                        {"op": "add", "path": f"{here}/endPort", "value": end},
                        {"op": "add", "path": f"{here}/endPort", "value": min(end + 500, 65535)},
                    ]
    return found


@st.composite
def aimed_lists(draw: st.DrawFn, doc: Any) -> list[dict[str, Any]]:
    """1-3 entries from :func:`_mutations` (later ones may no longer fit: refused, fine)."""
    candidates = _mutations(doc["spec"])
    return [draw(st.sampled_from(candidates)) for _ in range(draw(st.integers(1, 3)))]


def _worlds(cluster: sem.Cluster, policy: Any) -> Iterator[sem.Cluster]:
    pods = [*strategies.host_pods_of(cluster, VC, HNS), FOREIGN_POD]
    namespaces = {HNS: {"kubernetes.io/metadata.name": HNS}}
    yield sem.Cluster(namespaces=namespaces, pods=pods, policies=[policy])
    yield sem.Cluster(namespaces=namespaces, pods=pods, policies=[policy, DENY_ALL])


def _allowed(world: sem.Cluster) -> Iterator[tuple[str, str, str, str, int]]:
    """Every (direction, pod, other end, protocol, port) the world allows among its probes.

    Directions are probed on their own: a pod-to-pod connection needs both, which would hide
    a widening in one direction behind the other's isolation.
    """
    externals = [sem.External(ip) for ip in strategies.EXTERNAL_IPS]
    for pod in world.pods:
        for other in [*world.pods, *externals]:
            if other is pod:
                continue
            for protocol, port in strategies.TRAFFIC:
                if sem.ingress_allowed(world, other, pod, protocol, port):
                    yield "ingress", repr(pod), repr(other), protocol, port
                if sem.egress_allowed(world, pod, other, protocol, port):
                    yield "egress", repr(pod), repr(other), protocol, port


@settings(max_examples=600, deadline=None)
@given(data=st.data(), cluster=strategies.virtual_clusters(max_policies=1))
def test_accepted_spec_patches_allow_a_subset(data: st.DataObject, cluster: sem.Cluster) -> None:
    """Every accepted patched spec allows no connection the unpatched one does not."""
    translated = translate.to_host(cluster.policies[0], TARGET)  # type: ignore[arg-type]
    entries = data.draw(st.one_of(aimed_lists(translated), spec_lists(translated)))
    try:
        result = patches.parse(entries).apply(translated, vcluster=VC)
    except patches.InvalidPatches:
        event("invalid at start")
        return
    except patches.PatchRefused as refused:
        event(f"refused: {refused.reason}")
        return
    if result["spec"] == translated["spec"]:
        event("accepted: spec unchanged")
        return
    event("accepted: spec changed")
    for before, after in zip(_worlds(cluster, translated), _worlds(cluster, result), strict=True):
        wider = set(_allowed(after)) - set(_allowed(before))
        assert not wider, (entries, sorted(wider)[:5])


def test_the_semantic_comparison_sees_a_widening() -> None:
    """The comparison is not vacuous: a patch the check refuses does allow more."""
    cluster = sem.Cluster(
        namespaces={"default": {"kubernetes.io/metadata.name": "default"}},
        pods=[
            sem.Pod("a", "default", {"app": "web"}, strategies.CONTAINER_PORTS[:1]),
            sem.Pod("b", "default", {"app": "db"}),
        ],
        policies=[
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "p", "namespace": "default", "uid": "u"},
                "spec": {
                    "podSelector": {"matchLabels": {"app": "web"}},
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "db"}}}]}],
                },
            }
        ],
    )
    translated = translate.to_host(cluster.policies[0], TARGET)  # type: ignore[arg-type]
    widened = copy.deepcopy(translated)
    del widened["spec"]["ingress"][0]["from"]
    assert narrowing.widenings(widened, translated)
    before, after = next(_worlds(cluster, translated)), next(_worlds(cluster, widened))
    assert set(_allowed(after)) - set(_allowed(before))


# -- (b) again, rule by rule: addresses and ports -------------------------------------------------

BLOCKS = st.sampled_from(
    [
        *strategies.IP_BLOCKS,
        {"cidr": "10.0.0.0/8"},
        {"cidr": "10.0.0.0/9", "except": ["10.1.0.0/17"]},
        {"cidr": "10.1.0.0/16"},
        {"cidr": "10.1.0.0/16", "except": ["10.1.2.0/24"]},
        {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/17", "10.1.128.0/17"]},
        {"cidr": "0.0.0.0/0"},
        {"cidr": "0.0.0.0/1", "except": ["10.0.0.0/8"]},
        {"cidr": "169.254.169.254/32"},
        {"cidr": "2001:db8::/33"},
    ]
)
RULES = st.lists(
    strategies.rules(
        "to",
        BLOCKS.map(lambda b: {"ipBlock": b}),
        strategies.ports(
            st.sampled_from(strategies.PORT_NAMES), st.sampled_from(strategies.PORT_NUMBERS)
        ),
    ),
    max_size=2,
)
EGRESS_POD = sem.Pod("p", HNS, {"app": "web"}, strategies.CONTAINER_PORTS)


def _egress_policy(rules: list[Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": HNS},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": rules},
    }


@settings(max_examples=1500, deadline=None)
@given(before=RULES, after=RULES)
def test_accepted_egress_rules_reach_a_subset_of_addresses_and_ports(
    before: list[Any], after: list[Any]
) -> None:
    """Random rule lists over nested CIDRs, excepts and ports: whenever the check accepts
    ``after`` in place of ``before``, no external address is reachable on any probed port
    that ``before`` did not allow."""
    old, new = _egress_policy(before), _egress_policy(after)
    if narrowing.widenings(new, old):
        event("refused")
        return
    event("accepted")
    worlds = [
        sem.Cluster(namespaces={HNS: {}}, pods=[EGRESS_POD], policies=[p]) for p in (old, new)
    ]
    for ip in strategies.EXTERNAL_IPS:
        for protocol, port in strategies.TRAFFIC:
            target = sem.External(ip)
            if sem.egress_allowed(worlds[1], EGRESS_POD, target, protocol, port):
                assert sem.egress_allowed(worlds[0], EGRESS_POD, target, protocol, port), (
                    before,
                    after,
                    ip,
                    protocol,
                    port,
                )
