"""The scoping invariants every host copy must keep, whatever was patched into it.

A host NetworkPolicy that selects pods outside this virtual cluster opens or closes traffic for
another tenant, so after configured patches run (SPEC §4) the result is checked here against the
unpatched translation. Patches may add (labels, annotations, extra narrowing), never widen.

Checked, each reported with the JSON pointer of the offending field:

- identity: ``metadata.name``/``namespace``, both scoping labels and every ownership annotation
  are exactly what the translation produced (orphan collection and collisions depend on them);
- ``spec.podSelector`` carries ``managed-by=VC`` and ``namespace=<virtual namespace>``;
- every peer is either a pure ``ipBlock`` or a ``podSelector`` carrying ``managed-by=VC``, with
  no other field: never a ``namespaceSelector`` (it would match real host namespaces), and no
  field a newer API server might give a widening meaning;
- no selector uses a reserved key except the two scoping keys in ``matchLabels`` (with
  ``managed-by`` equal to VC), so nothing can select by the host's own ``release`` or marker labels;
- ``policyTypes`` keeps every type of the translation: dropping one would un-isolate pods;
- the host name is a valid DNS subdomain of at most 63 characters.

The one exception (SPEC §9) is opt-in: with guardrails configured, the caller passes the exact
host peers they produce (the all-pods ``namespaceSelector: {}`` peer of the blocked-CIDR
rewrite, each admin-approved host peer, the DNS endpoint), and a peer equal to one of those is
accepted as it is. Nothing else gains a ``namespaceSelector``; without guardrails the list is
empty and the rules above hold unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

from translate import markers
from translate.jsondata import escape as _escape
from translate.naming import DNS_SUBDOMAIN, MAX_NAME_LENGTH


def violations(
    host: Mapping[str, Any],
    reference: Mapping[str, Any],
    vcluster: str,
    *,
    sanctioned_peers: Sequence[Mapping[str, Any]] = (),
) -> list[str]:
    """Every invariant ``host`` breaks, compared with the unpatched translation ``reference``.

    An empty list means ``host`` may be written. Malformed shapes (a list where a map belongs)
    are reported as violations rather than raised, because patches can produce anything.
    ``sanctioned_peers`` are host peers accepted verbatim (SPEC §9 guardrails; default none).
    """
    return list(_violations(host, reference, vcluster, sanctioned_peers))


def _violations(
    host: Mapping[str, Any],
    reference: Mapping[str, Any],
    vc: str,
    sanctioned: Sequence[Mapping[str, Any]] = (),
) -> Iterator[str]:
    meta = _mapping(host.get("metadata"))
    ref_meta = reference["metadata"]
    virtual_namespace = ref_meta["labels"][markers.NAMESPACE]
    for field in ("name", "namespace"):
        if meta.get(field) != ref_meta[field]:
            yield f"/metadata/{field} must stay {ref_meta[field]!r}"
    name = meta.get("name")
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not DNS_SUBDOMAIN.match(name):
        yield f"/metadata/name {name!r} is not a valid name of at most {MAX_NAME_LENGTH} characters"
    labels = _mapping(meta.get("labels"))
    for key in (markers.MANAGED_BY, markers.NAMESPACE):
        if labels.get(key) != ref_meta["labels"][key]:
            yield f"/metadata/labels/{_escape(key)} must stay {ref_meta['labels'][key]!r}"
    annotations = _mapping(meta.get("annotations"))
    for key in markers.OWNERSHIP_ANNOTATIONS:
        if annotations.get(key) != ref_meta["annotations"][key]:
            yield f"/metadata/annotations/{_escape(key)} must stay {ref_meta['annotations'][key]!r}"

    spec = _mapping(host.get("spec"))
    pod_selector = _mapping(spec.get("podSelector"))
    match_labels = _mapping(pod_selector.get("matchLabels"))
    if match_labels.get(markers.MANAGED_BY) != vc:
        yield f"/spec/podSelector/matchLabels/{_escape(markers.MANAGED_BY)} must be {vc!r}"
    if match_labels.get(markers.NAMESPACE) != virtual_namespace:
        yield (
            f"/spec/podSelector/matchLabels/{_escape(markers.NAMESPACE)} "
            f"must be {virtual_namespace!r}"
        )
    yield from _selector_keys(pod_selector, "/spec/podSelector", vc)

    for direction, peers_field in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(direction, [])
        if not isinstance(rules, list):
            yield f"/spec/{direction} must be a list"
            continue
        for i, rule in enumerate(rules):
            peers = _mapping(rule).get(peers_field, [])
            if not isinstance(peers, list):
                yield f"/spec/{direction}/{i}/{peers_field} must be a list"
                continue
            for j, peer in enumerate(peers):
                if _plain_peer(peer, vc) or (sanctioned and peer in sanctioned):
                    continue
                yield from _peer(_mapping(peer), f"/spec/{direction}/{i}/{peers_field}/{j}", vc)

    types = spec.get("policyTypes", [])
    if not isinstance(types, list):
        types = []
        yield "/spec/policyTypes must be a list"
    for i, policy_type in enumerate(types):
        if policy_type not in ("Ingress", "Egress"):
            yield f"/spec/policyTypes/{i} must be Ingress or Egress"
    kept = {t for t in types if isinstance(t, str)}
    for policy_type in reference["spec"].get("policyTypes", []):
        if policy_type not in kept:
            yield f"/spec/policyTypes must keep {policy_type!r}"


_PEER_FIELDS = frozenset({"ipBlock", "podSelector"})
_UNSCOPED_RESERVED = markers.RESERVED_LABEL_KEYS - markers.SCOPING_LABEL_KEYS


def _plain_peer(peer: object, vc: str) -> bool:
    """True for the shapes translation writes, checked without building any message: a lone
    ``ipBlock``, or a lone ``podSelector`` of ``matchLabels`` only, with ``managed-by=VC`` and no
    reserved key but the scoping ones. Only ever True where :func:`_peer` finds nothing (it
    decides every other shape); the check runs on every copy, and a copy can have 40,000 peers.
    """
    if type(peer) is not dict or len(peer) != 1:
        return False
    if "ipBlock" in peer:
        return True
    selector = peer.get("podSelector")
    if type(selector) is not dict or "matchExpressions" in selector:
        return False
    labels = selector.get("matchLabels")
    return (
        type(labels) is dict
        and labels.get(markers.MANAGED_BY) == vc
        and labels.keys().isdisjoint(_UNSCOPED_RESERVED)
        and all(type(key) is str for key in labels)
    )


def _peer(peer: Mapping[str, Any], path: str, vc: str) -> Iterator[str]:
    for key in peer:
        if key not in _PEER_FIELDS:
            field = f"{path}/{_escape(str(key))}"
            yield f"{field} is not allowed on a host peer (only ipBlock or podSelector)"
    if "ipBlock" in peer:
        if "podSelector" in peer:
            yield f"{path} must not combine ipBlock with podSelector"
        return
    selector = _mapping(peer.get("podSelector"))
    if _mapping(selector.get("matchLabels")).get(markers.MANAGED_BY) != vc:
        yield f"{path}/podSelector/matchLabels/{_escape(markers.MANAGED_BY)} must be {vc!r}"
    yield from _selector_keys(selector, f"{path}/podSelector", vc)


def _selector_keys(selector: Mapping[str, Any], path: str, vc: str) -> Iterator[str]:
    """Reserved keys may appear only as the two scoping labels in ``matchLabels``."""
    for key, value in _mapping(selector.get("matchLabels")).items():
        if not isinstance(key, str):
            yield f"{path}/matchLabels keys must be strings"
        elif key in markers.RESERVED_LABEL_KEYS and key not in markers.SCOPING_LABEL_KEYS:
            yield f"{path}/matchLabels/{_escape(key)} uses a reserved key"
        elif key == markers.MANAGED_BY and value != vc:
            yield f"{path}/matchLabels/{_escape(key)} must be {vc!r}"
    expressions = selector.get("matchExpressions", [])
    if not isinstance(expressions, list):
        yield f"{path}/matchExpressions must be a list"
        return
    for i, expression in enumerate(expressions):
        expression_key = _mapping(expression).get("key")
        if not isinstance(expression_key, str):
            yield f"{path}/matchExpressions/{i}/key must be a string"
        elif expression_key in markers.RESERVED_LABEL_KEYS:
            yield f"{path}/matchExpressions/{i} uses reserved key {expression_key!r}"


def _mapping(value: object) -> Mapping[str, Any]:
    # ``type() is dict`` first: the check now runs on every copy, and the ABC check is slow.
    if type(value) is dict or isinstance(value, Mapping):
        return cast(Mapping[str, Any], value)
    return {}
