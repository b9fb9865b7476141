"""Hypothesis strategies for NetworkPolicies that the Kubernetes API server would accept.

Everything generated here passes upstream validation (names, label keys and values, selector
operators, ports, ``endPort``, ipBlock ``except`` inside ``cidr``, policy types); the test
``tests/translate/test_generated_policies_are_upstream_valid.py`` holds the generators to that.

Two flavours:

- ``network_policies()``: what a well-behaved tenant writes; no label key uses the
  ``vcluster.loft.sh/`` prefix or is one of the reserved keys.
- ``network_policies(hostile_for=VC)``: still valid, but also the things a tenant could write to
  confuse the syncer of virtual cluster ``VC``: reserved label keys (``release``,
  ``vcluster.loft.sh/managed-by``, ...), keys that already are VC's translated keys, the
  syncer's own bookkeeping annotations, last-applied configuration, and the server-populated
  metadata (uid, resourceVersion, ownerReferences, finalizers, managedFields, timestamps).

Callers can narrow any vocabulary (label keys, values, namespaces, port names, ipBlocks) so that
generated selectors actually hit generated pods; see :func:`virtual_clusters`.
"""

from __future__ import annotations

import functools
import ipaddress
import string
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from tests.support import pod_syncer
from tests.support.netpol_semantics import Cluster, ContainerPort, Pod

Json = dict[str, Any]

_LOWER_ALNUM = string.ascii_lowercase + string.digits
_ALNUM = string.ascii_letters + string.digits

RESERVED_LABEL_KEYS = sorted(pod_syncer.RESERVED_LABEL_KEYS)
BOOKKEEPING_ANNOTATIONS = [
    "vcluster.loft.sh/managed-annotations",
    "vcluster.loft.sh/object-name",
    "vcluster.loft.sh/object-namespace",
    "vcluster.loft.sh/object-uid",
    "vcluster.loft.sh/object-kind",
    "vcluster.loft.sh/object-host-name",
    "vcluster.loft.sh/object-host-namespace",
]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


# -- names --------------------------------------------------------------------------------------


@st.composite
def _token(
    draw: st.DrawFn, first: str, middle: str, last: str, max_size: int, min_size: int = 1
) -> str:
    """``first``, then ``middle`` chars, then ``last``; ``min_size`` to ``max_size`` long.

    The middle repeats a short random seed up to the drawn length: long names (the interesting
    ones for the 63-character rules) then cost a handful of draws instead of one per character.
    """
    size = draw(st.integers(min_size, max_size))
    head = draw(st.sampled_from(first))
    if size == 1:
        return head
    seed = draw(st.text(middle, min_size=min(size - 2, 1), max_size=min(size - 2, 6)))
    body = (seed * (size - 2))[: size - 2] if seed else ""
    return head + body + draw(st.sampled_from(last))


def dns_labels(max_size: int = 63) -> st.SearchStrategy[str]:
    """RFC 1123 labels (namespace names): lowercase alphanumerics and ``-``, at most 63."""
    return _token(_LOWER_ALNUM, _LOWER_ALNUM + "-", _LOWER_ALNUM, max_size)


def long_dns_labels(min_size: int = 40, max_size: int = 63) -> st.SearchStrategy[str]:
    """Labels near the 63-character limit, where host names must fall back to a hash."""
    return _token(_LOWER_ALNUM, _LOWER_ALNUM + "-", _LOWER_ALNUM, max_size, min_size)


def dns_subdomains(max_labels: int = 4) -> st.SearchStrategy[str]:
    """RFC 1123 subdomains (object names): dot-separated labels, at most 253 characters.

    Mixes short names with long and dotted ones so the 63-character host-name limit is crossed
    often, including with a ``.`` exactly where the hash suffix is appended.
    """
    label = st.one_of(dns_labels(12), long_dns_labels(20, 63))
    return (
        st.lists(label, min_size=1, max_size=max_labels)
        .map(".".join)
        .filter(lambda name: len(name) <= 253)
    )


def vcluster_names() -> st.SearchStrategy[str]:
    """Virtual cluster names: DNS labels, short or very long (it is also a label value)."""
    return st.one_of(dns_labels(12), long_dns_labels(20, 63))


def _label_name() -> st.SearchStrategy[str]:
    """The name part of a qualified name: alphanumerics with ``-_.`` inside, at most 63."""
    return _token(_ALNUM, _ALNUM + "-_.", _ALNUM, 63)


def label_values() -> st.SearchStrategy[str]:
    """Valid label values, including the empty string."""
    return st.one_of(st.just(""), _label_name())


def qualified_names() -> st.SearchStrategy[str]:
    """Label/annotation keys: ``[prefix/]name`` with a DNS-subdomain prefix."""
    prefix = st.lists(dns_labels(10), min_size=1, max_size=3).map(".".join)
    return st.one_of(_label_name(), st.builds(lambda p, n: f"{p}/{n}", prefix, _label_name()))


def tenant_label_keys() -> st.SearchStrategy[str]:
    """Label keys a well-behaved tenant uses: never reserved, never under ``vcluster.loft.sh/``."""
    common = st.sampled_from(
        ["app", "app.kubernetes.io/name", "tier", "team", "kubernetes.io/metadata.name"]
    )
    return st.one_of(common, qualified_names()).filter(
        lambda k: k not in pod_syncer.RESERVED_LABEL_KEYS and not k.startswith("vcluster.loft.sh/")
    )


def hostile_label_keys(vclusters: str | Sequence[str]) -> st.SearchStrategy[str]:
    """Valid keys meant to confuse the syncer of each virtual cluster in ``vclusters``.

    The reserved keys themselves, the keys they translate to (for those virtual clusters and for
    one other), and namespace-label keys as the pod syncer writes them.
    """
    names = [vclusters] if isinstance(vclusters, str) else list(vclusters)
    translated = [pod_syncer.label_key(k, vc) for k in RESERVED_LABEL_KEYS for vc in [*names, "x"]]
    namespace_keys = [
        pod_syncer.namespace_label_key(k, vc) for k in ("team", "release") for vc in names
    ]
    return st.one_of(
        tenant_label_keys(), st.sampled_from(RESERVED_LABEL_KEYS + translated + namespace_keys)
    )


def iana_service_names() -> st.SearchStrategy[str]:
    """Named ports: at most 15 of ``[a-z0-9-]``, a letter somewhere, no ``--``, no edge ``-``."""
    return _token(_LOWER_ALNUM, _LOWER_ALNUM + "-", _LOWER_ALNUM, 15).filter(
        lambda s: "--" not in s and any(c.isalpha() for c in s)
    )


# -- spec pieces --------------------------------------------------------------------------------


def requirements(
    keys: st.SearchStrategy[str], values: st.SearchStrategy[str]
) -> st.SearchStrategy[Json]:
    """One ``matchExpressions`` entry: In/NotIn with values, Exists/DoesNotExist without."""
    with_values = st.fixed_dictionaries(
        {
            "key": keys,
            "operator": st.sampled_from(["In", "NotIn"]),
            "values": st.lists(values, min_size=1, max_size=3),
        }
    )
    without_values = st.fixed_dictionaries(
        {"key": keys, "operator": st.sampled_from(["Exists", "DoesNotExist"])}
    )
    return st.one_of(with_values, without_values)


def label_selectors(
    keys: st.SearchStrategy[str], values: st.SearchStrategy[str]
) -> st.SearchStrategy[Json]:
    """``LabelSelector``: optional matchLabels and matchExpressions (valid operator/values)."""
    return st.fixed_dictionaries(
        {},
        optional={
            "matchLabels": st.dictionaries(keys, values, max_size=2),
            "matchExpressions": st.lists(requirements(keys, values), max_size=2),
        },
    )


def small_selectors(
    keys: st.SearchStrategy[str], values: st.SearchStrategy[str]
) -> st.SearchStrategy[Json]:
    """Selectors that often match something: empty, one label, one expression, or any."""
    return st.one_of(
        st.just({}),
        st.builds(lambda k, v: {"matchLabels": {k: v}}, keys, values),
        requirements(keys, values).map(lambda r: {"matchExpressions": [r]}),
        label_selectors(keys, values),
    )


@st.composite
def ip_blocks(draw: st.DrawFn) -> Json:
    """``ipBlock`` with a canonical IPv4 or IPv6 ``cidr`` and ``except`` entries strictly inside."""
    bits = draw(st.sampled_from([32, 128]))
    prefix = draw(st.integers(0, bits - 1))
    network_class = ipaddress.IPv4Network if bits == 32 else ipaddress.IPv6Network
    address = draw(st.integers(0, 2**bits - 1))
    network = network_class((address, prefix), strict=False)
    block: Json = {"cidr": str(network)}
    excepts = draw(st.lists(st.integers(prefix + 1, bits), max_size=2))
    if excepts:
        block["except"] = [
            str(
                network_class(
                    (
                        int(network.network_address)
                        + draw(st.integers(0, network.num_addresses - 1)),
                        length,
                    ),
                    strict=False,
                )
            )
            for length in excepts
        ]
    return block


def peers(
    pod_selectors: st.SearchStrategy[Json],
    namespace_selectors: st.SearchStrategy[Json],
    blocks: st.SearchStrategy[Json],
) -> st.SearchStrategy[Json]:
    """One ``from``/``to`` entry: an ipBlock alone, or pod and/or namespace selectors."""
    return st.one_of(
        st.builds(lambda b: {"ipBlock": b}, blocks),
        st.builds(lambda p: {"podSelector": p}, pod_selectors),
        st.builds(lambda n: {"namespaceSelector": n}, namespace_selectors),
        st.builds(
            lambda p, n: {"podSelector": p, "namespaceSelector": n},
            pod_selectors,
            namespace_selectors,
        ),
    )


def ports(
    names: st.SearchStrategy[str], numbers: st.SearchStrategy[int]
) -> st.SearchStrategy[Json]:
    """One ``ports`` entry: protocol optional; port absent, numbered (maybe a range), or named."""

    @st.composite
    def numbered_range(draw: st.DrawFn) -> Json:
        start = draw(numbers)
        ends = st.one_of(
            st.integers(start, min(start + 2000, 65535)),
            st.sampled_from([start, *(n for n in (443, 8080, 9090, 65535) if n > start)]),
        )
        return {"port": start, "endPort": draw(ends)}

    port: st.SearchStrategy[Json] = st.one_of(
        st.just({}),
        numbers.map(lambda n: {"port": n}),
        numbered_range(),
        names.map(lambda n: {"port": n}),
    )
    protocol: st.SearchStrategy[Json] = st.one_of(
        st.just({}), st.sampled_from(["TCP", "UDP", "SCTP"]).map(lambda p: {"protocol": p})
    )
    return st.builds(lambda a, b: {**a, **b}, protocol, port)


def rules(
    peers_field: str,
    peer: st.SearchStrategy[Json],
    port: st.SearchStrategy[Json],
    *,
    with_peers: bool = False,
) -> st.SearchStrategy[Json]:
    """An ingress (``from``) or egress (``to``) rule; either list may be absent or empty.

    ``with_peers`` always gives the rule at least one peer (peerless rules admit everyone, which
    hides what the other rules of the same pod do).
    """
    if with_peers:
        return st.fixed_dictionaries(
            {peers_field: st.lists(peer, min_size=1, max_size=2)},
            optional={"ports": st.lists(port, max_size=2)},
        )
    return st.fixed_dictionaries(
        {},
        optional={
            "ports": st.lists(port, max_size=2),
            peers_field: st.lists(peer, max_size=2),
        },
    )


# -- whole objects ------------------------------------------------------------------------------


def _annotation_values() -> st.SearchStrategy[str]:
    """Any text the API can carry (no lone surrogates: JSON on the wire is UTF-8)."""
    return st.text(st.characters(codec="utf-8"), max_size=20)


def _server_metadata() -> st.SearchStrategy[Json]:
    """Fields the virtual API server sets, none of which may reach the host."""
    return st.fixed_dictionaries(
        {
            "resourceVersion": st.integers(1, 10**9).map(str),
            "generation": st.integers(1, 100),
            "creationTimestamp": st.just("2024-05-01T12:00:00Z"),
        },
        optional={
            "deletionTimestamp": st.just("2024-05-02T12:00:00Z"),
            "finalizers": st.lists(st.sampled_from(["example.com/keep", "kubernetes"]), max_size=2),
            "ownerReferences": st.just(
                [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "u-1"}]
            ),
            "managedFields": st.just([{"manager": "kubectl", "operation": "Apply"}]),
        },
    )


def network_policies(
    *,
    hostile_for: str | Sequence[str] | None = None,
    namespaces: st.SearchStrategy[str] | None = None,
    names: st.SearchStrategy[str] | None = None,
    keys: st.SearchStrategy[str] | None = None,
    values: st.SearchStrategy[str] | None = None,
    pod_selectors: st.SearchStrategy[Json] | None = None,
    namespace_selectors: st.SearchStrategy[Json] | None = None,
    port_names: st.SearchStrategy[str] | None = None,
    port_numbers: st.SearchStrategy[int] | None = None,
    blocks: st.SearchStrategy[Json] | None = None,
    max_rules: int = 3,
    rules_with_peers: bool = False,
    plain_metadata: bool = False,
) -> st.SearchStrategy[Json]:
    """Upstream-valid ``networking.k8s.io/v1`` NetworkPolicies as the API returns them.

    ``hostile_for=VC`` (or a list of VC names) mixes in reserved and already-translated keys,
    bookkeeping annotations and server metadata (see the module docstring). Build the strategy
    once and reuse it: constructing it per example (``flatmap``) makes generation several times
    slower. Any vocabulary can be narrowed: ``keys``/``values`` feed metadata labels and, unless
    ``pod_selectors``/``namespace_selectors`` are given, every selector. ``rules_with_peers``
    gives every rule at least one peer. ``plain_metadata`` keeps metadata to name, namespace
    and a fixed uid (semantic tests ignore the rest, and drawing it dominates their cost).
    """
    if keys is None:
        keys = hostile_label_keys(hostile_for) if hostile_for else tenant_label_keys()
    if values is None:
        values = label_values()
    if pod_selectors is None:
        pod_selectors = label_selectors(keys, values)
    if namespace_selectors is None:
        namespace_selectors = label_selectors(keys, values)
    peer = peers(pod_selectors, namespace_selectors, ip_blocks() if blocks is None else blocks)
    port = ports(
        iana_service_names() if port_names is None else port_names,
        st.integers(1, 65535) if port_numbers is None else port_numbers,
    )
    rule_lists = {
        field: st.lists(
            rules(peers_field, peer, port, with_peers=rules_with_peers), max_size=max_rules
        )
        for field, peers_field in (("ingress", "from"), ("egress", "to"))
    }
    spec = st.fixed_dictionaries(
        {"podSelector": pod_selectors},
        optional={
            **rule_lists,
            "policyTypes": st.sampled_from(
                [["Ingress"], ["Egress"], ["Ingress", "Egress"], ["Egress", "Ingress"]]
            ),
        },
    )
    if plain_metadata:
        metadata = st.fixed_dictionaries(
            {
                "name": dns_subdomains() if names is None else names,
                "namespace": dns_labels(12) if namespaces is None else namespaces,
                "uid": st.just("uid-1"),
            }
        )
        return st.fixed_dictionaries(
            {
                "apiVersion": st.just("networking.k8s.io/v1"),
                "kind": st.just("NetworkPolicy"),
                "metadata": metadata,
                "spec": spec,
            }
        )
    annotation_keys = qualified_names()
    if hostile_for:
        annotation_keys = st.one_of(
            annotation_keys, st.sampled_from([*BOOKKEEPING_ANNOTATIONS, LAST_APPLIED])
        )
    metadata = st.fixed_dictionaries(
        {
            "name": dns_subdomains() if names is None else names,
            "namespace": (
                st.one_of(dns_labels(12), long_dns_labels()) if namespaces is None else namespaces
            ),
            "uid": st.uuids().map(str),
        },
        optional={
            "labels": st.dictionaries(keys, values, max_size=3),
            "annotations": st.dictionaries(annotation_keys, _annotation_values(), max_size=3),
        },
    )
    if hostile_for:
        metadata = st.builds(lambda m, s: {**m, **s}, metadata, _server_metadata())
    return st.fixed_dictionaries(
        {
            "apiVersion": st.just("networking.k8s.io/v1"),
            "kind": st.just("NetworkPolicy"),
            "metadata": metadata,
            "spec": spec,
        }
    )


# -- whole virtual clusters, for semantic comparisons -------------------------------------------

NAMESPACES = ("default", "web", "data")
POD_LABEL_KEYS = ("app", "tier", "release", "vcluster.loft.sh/namespace")
POD_LABEL_VALUES = ("web", "db", "a")
NAMESPACE_LABEL_KEYS = ("team", "release", "kubernetes.io/metadata.name")
NAMESPACE_LABEL_VALUES = ("a", "b", *NAMESPACES)
CONTAINER_PORTS = (
    ContainerPort(80, "TCP", "http"),
    ContainerPort(8080, "TCP", "http"),
    ContainerPort(443, "TCP", "https"),
    ContainerPort(53, "UDP", "dns"),
    ContainerPort(53, "TCP", "dns-tcp"),
    ContainerPort(9090, "TCP", "metrics"),
    ContainerPort(9090, "SCTP", "sctp"),
)
PORT_NAMES = ("http", "https", "dns", "dns-tcp", "metrics", "sctp", "absent")
PORT_NUMBERS = (53, 80, 443, 8080, 9090)
IP_BLOCKS: tuple[Json, ...] = (
    {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]},
    {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]},
    {"cidr": "192.168.0.0/16"},
    {"cidr": "203.0.113.0/24"},
    {"cidr": "2001:db8::/32", "except": ["2001:db8:1::/48"]},
    {"cidr": "::/0"},
)
EXTERNAL_IPS = (
    "10.1.2.3",
    "10.2.3.4",
    "192.168.1.1",
    "203.0.113.5",
    "8.8.8.8",
    "169.254.169.254",
    "2001:db8::1",
    "2001:db8:1::1",
)
TRAFFIC = (
    ("TCP", 80),
    ("TCP", 443),
    ("UDP", 53),
    ("TCP", 53),
    ("TCP", 8080),
    ("TCP", 9090),
    ("SCTP", 9090),
    ("TCP", 5432),
)
"""(protocol, port) pairs every pod pair is probed with: each pool port, both protocols of 53
and 9090, and one port no policy names."""


@functools.cache
def _world_parts(
    plain_metadata: bool = False,
) -> tuple[
    st.SearchStrategy[Json],
    st.SearchStrategy[tuple[ContainerPort, ...]],
    st.SearchStrategy[dict[str, str]],
    st.SearchStrategy[dict[str, str]],
]:
    """The strategies :func:`virtual_clusters` draws from, built once.

    Building a strategy per example costs more than drawing from it, so the policy strategy
    names every namespace of the pool and :func:`virtual_clusters` moves each policy into one of
    the namespaces its cluster really has. Half the policies have a peer in every rule: peerless
    rules admit everyone and would mask most translation mistakes.
    """
    pod_keys, pod_values = st.sampled_from(POD_LABEL_KEYS), st.sampled_from(POD_LABEL_VALUES)
    namespace_keys = st.sampled_from(NAMESPACE_LABEL_KEYS)
    namespace_values = st.sampled_from(NAMESPACE_LABEL_VALUES)
    policy = st.one_of(
        [
            network_policies(
                namespaces=st.sampled_from(NAMESPACES),
                names=st.sampled_from(["p0", "p1", "p2", "p3"]),
                keys=pod_keys,
                values=pod_values,
                pod_selectors=small_selectors(pod_keys, pod_values),
                namespace_selectors=small_selectors(namespace_keys, namespace_values),
                port_names=st.sampled_from(PORT_NAMES),
                port_numbers=st.sampled_from(PORT_NUMBERS),
                blocks=st.sampled_from(IP_BLOCKS),
                max_rules=2,
                rules_with_peers=with_peers,
                plain_metadata=plain_metadata,
            )
            for with_peers in (True, False)
        ]
    )
    container_ports = st.lists(
        st.sampled_from(CONTAINER_PORTS),
        max_size=3,
        unique_by=(lambda p: p.name, lambda p: (p.number, p.protocol)),
    ).map(tuple)
    namespace_labels = st.dictionaries(
        st.sampled_from(NAMESPACE_LABEL_KEYS[:2]), st.sampled_from(["a", "b"])
    )
    pod_labels = st.dictionaries(pod_keys, pod_values, max_size=3)
    return policy, container_ports, namespace_labels, pod_labels


@st.composite
def virtual_clusters(
    draw: st.DrawFn, max_pods: int = 6, max_policies: int = 4, plain_metadata: bool = False
) -> Cluster:
    """Small virtual clusters whose selectors, named ports and ipBlocks often hit.

    Every namespace carries ``kubernetes.io/metadata.name`` as the API server sets it; pods and
    namespaces use reserved keys (``release``, ``vcluster.loft.sh/namespace``) as real tenants
    do. Policies draw from the same small vocabularies with selectors that are often empty or a
    single requirement, so most policies isolate some pod and most peers match some pod
    (``test_generated_worlds_exercise_both_answers`` keeps that true).
    """
    policy, container_ports, namespace_labels, pod_labels = _world_parts(plain_metadata)
    namespace_names = draw(st.lists(st.sampled_from(NAMESPACES), min_size=1, unique=True))
    in_world = st.sampled_from(namespace_names)
    namespaces = {
        name: {
            **draw(namespace_labels),
            "kubernetes.io/metadata.name": name,
        }
        for name in namespace_names
    }
    pods = [
        Pod(
            name=f"pod{i}",
            namespace=draw(in_world),
            labels=draw(pod_labels),
            ports=draw(container_ports),
        )
        for i in range(draw(st.integers(min(2, max_pods), max_pods)))
    ]
    policies: dict[tuple[str, str], Json] = {}
    for _ in range(draw(st.integers(min(1, max_policies), max_policies))):
        drawn = draw(policy)
        placed = {**drawn, "metadata": {**drawn["metadata"], "namespace": draw(in_world)}}
        policies.setdefault((placed["metadata"]["namespace"], placed["metadata"]["name"]), placed)
    return Cluster(namespaces=namespaces, pods=pods, policies=list(policies.values()))


def host_pods_of(cluster: Cluster, vcluster: str, host_namespace: str) -> list[Pod]:
    """The host copies of ``cluster``'s pods, as SPEC §3 "How host pods look" describes them."""
    return [
        Pod(
            name=f"{vcluster}/{pod.namespace}/{pod.name}",
            namespace=host_namespace,
            labels=pod_syncer.host_pod_labels(
                pod.labels, pod.namespace, cluster.namespaces[pod.namespace], vcluster
            ),
            ports=pod.ports,
        )
        for pod in cluster.pods
    ]


# -- the admin envelope (SPEC §9 guardrails) ----------------------------------------------------

BLOCKED_CIDR_POOL = (
    "169.254.169.254/32",
    "10.1.0.0/16",
    "10.0.0.0/8",
    "192.168.0.0/16",
    "203.0.113.0/25",
    "8.8.8.0/24",
    "0.0.0.0/0",
    "2001:db8:1::/48",
    "2001:db8::/32",
    "::/0",
)
"""Blocked ranges chosen against :data:`IP_BLOCKS`: equal to a block, strictly inside one,
containing one, already covered by an ``except``, a whole family, and disjoint ones."""

ENVELOPE_EXTERNAL_IPS = (*EXTERNAL_IPS, "203.0.113.200", "8.8.4.4", "2001:db8:2::1", "2001:db9::1")
""":data:`EXTERNAL_IPS` plus addresses on both sides of the pool's inner boundaries."""


def blocked_cidr_sets(max_size: int = 3) -> st.SearchStrategy[tuple[str, ...]]:
    """A few distinct ranges from :data:`BLOCKED_CIDR_POOL` (often none, to keep the baseline)."""
    return st.lists(st.sampled_from(BLOCKED_CIDR_POOL), max_size=max_size, unique=True).map(tuple)
