"""Property: no patch list yields an accepted host object that could select another tenant's pods.

Random patch lists (every op, over the real paths of a translated policy and new paths next to
them, with values chosen to attack the scope) are applied to translations of generated policies.
Whatever :meth:`patches.PatchList.apply` accepts is then checked by an oracle written here
independently of :func:`translate.violations`: identity fields compared verbatim, and every
selector asked *semantically* whether some pod outside this vCluster (or, for the policy's own
selector, outside its virtual namespace) could satisfy it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

import patches
import translate
from tests.support import strategies

VC = "vc1"
TARGET = translate.Target(vcluster=VC, host_namespace="team-a")
MB = "vcluster.loft.sh/managed-by"
NS = "vcluster.loft.sh/namespace"
RESERVED = {"release", MB, NS, "vcluster.loft.sh/controlled-by"}
OWNERSHIP = [
    "vcluster.loft.sh/object-name",
    "vcluster.loft.sh/object-namespace",
    "vcluster.loft.sh/object-uid",
    "vcluster.loft.sh/object-kind",
    "vcluster.loft.sh/object-host-name",
    "vcluster.loft.sh/object-host-namespace",
]
ABSENT = None

# -- the oracle ---------------------------------------------------------------------------------


def _requirements(selector: Any) -> dict[str, list[tuple[str, list[Any]]]] | None:
    """Per key, the (operator, values) a pod's label must satisfy; None if nothing can match.

    Anything the evaluator cannot read is dropped, which only makes the selector wider, so the
    oracle errs on the side of reporting a leak.
    """
    if not isinstance(selector, Mapping):
        return {}
    out: dict[str, list[tuple[str, list[Any]]]] = {}
    labels = selector.get("matchLabels")
    if isinstance(labels, Mapping):
        for key, value in labels.items():
            out.setdefault(key, []).append(("In", [value]))
    expressions = selector.get("matchExpressions")
    for expression in expressions if isinstance(expressions, list) else []:
        if not isinstance(expression, Mapping):
            continue
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values")
        if not isinstance(key, str) or operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            continue
        if operator in ("In", "NotIn"):
            if not isinstance(values, list):
                continue
            if operator == "In" and not values:
                return None  # upstream: In with no values matches nothing
        out.setdefault(key, []).append((operator, values if isinstance(values, list) else []))
    return out


def _holds(value: Any, requirement: tuple[str, list[Any]]) -> bool:
    operator, values = requirement
    if operator == "In":
        return value is not ABSENT and value in values
    if operator == "NotIn":
        return value is ABSENT or value not in values
    if operator == "Exists":
        return value is not ABSENT
    return value is ABSENT


def can_match(selector: Any, forced: Mapping[str, Any]) -> bool:
    """Whether some pod whose labels include ``forced`` (value ABSENT: label missing) matches.

    Keys are independent, so each is solved alone over every value the selector mentions plus
    one it does not: complete for the four upstream operators.
    """
    requirements = _requirements(selector)
    if requirements is None:
        return False
    for key, reqs in requirements.items():
        if key in forced:
            candidates = [forced[key]]
        else:
            mentioned = [v for _, values in reqs for v in values]
            candidates = [ABSENT, "value-nobody-mentions", *mentioned]
        if not any(all(_holds(c, r) for r in reqs) for c in candidates):
            return False
    return True


def _selectors(spec: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    yield "/spec/podSelector", spec.get("podSelector")
    for direction, field, i, j, peer in _peers(spec):
        if "podSelector" in peer:
            yield f"/spec/{direction}/{i}/{field}/{j}", peer["podSelector"]


def _peers(spec: Mapping[str, Any]) -> Iterator[tuple[str, str, int, int, Mapping[str, Any]]]:
    """Every peer that is a mapping. Rules or peers of another type cannot leak: the API server
    rejects the whole object when a JSON type is wrong."""
    for direction, field in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(direction)
        for i, rule in enumerate(rules if isinstance(rules, list) else []):
            peers = rule.get(field) if isinstance(rule, Mapping) else None
            for j, peer in enumerate(peers if isinstance(peers, list) else []):
                if isinstance(peer, Mapping):
                    yield direction, field, i, j, peer


def scope_problems(host: Any, reference: Mapping[str, Any]) -> list[str]:
    """Every way ``host`` could touch pods or objects outside this vCluster's scope."""
    found: list[str] = []
    ref_meta = reference["metadata"]
    virtual_namespace = ref_meta["labels"][NS]
    meta = host.get("metadata") if isinstance(host, Mapping) else None
    if not isinstance(meta, Mapping):
        return ["metadata is gone"]
    for field in ("name", "namespace"):
        if meta.get(field) != ref_meta[field]:
            found.append(f"{field} changed")
    labels = meta.get("labels") if isinstance(meta.get("labels"), Mapping) else {}
    if labels.get(MB) != VC or labels.get(NS) != virtual_namespace:
        found.append("scoping labels changed")
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), Mapping) else {}
    for key in OWNERSHIP:
        if annotations.get(key) != ref_meta["annotations"][key]:
            found.append(f"ownership annotation {key} changed")

    spec = host.get("spec")
    if not isinstance(spec, Mapping):
        return [*found, "spec is gone"]
    own = spec.get("podSelector")
    for forced in ({MB: "vc2"}, {MB: ABSENT}, {MB: VC, NS: "elsewhere"}, {MB: VC, NS: ABSENT}):
        if can_match(own, forced):
            found.append(f"spec.podSelector selects pods with {forced}")
    for direction, field, i, j, peer in _peers(spec):
        where = f"{direction}[{i}].{field}[{j}]"
        if "namespaceSelector" in peer:
            found.append(f"{where} has a namespaceSelector")
        elif "ipBlock" in peer:
            if set(peer) != {"ipBlock"}:
                found.append(f"{where} mixes ipBlock with selectors")
        elif any(can_match(peer.get("podSelector"), f) for f in ({MB: "vc2"}, {MB: ABSENT})):
            found.append(f"{where} selects pods of another vCluster")
    for where, selector in _selectors(spec):
        if not isinstance(selector, Mapping):
            continue
        match_labels = selector.get("matchLabels")
        for key in match_labels if isinstance(match_labels, Mapping) else {}:
            if key in RESERVED - {MB, NS}:
                found.append(f"{where} matches on reserved label {key}")
        expressions = selector.get("matchExpressions")
        for expression in expressions if isinstance(expressions, list) else []:
            key = expression.get("key") if isinstance(expression, Mapping) else None
            if isinstance(key, str) and key in RESERVED:
                found.append(f"{where} has an expression on reserved label {key}")
    types = spec.get("policyTypes")
    kept = types if isinstance(types, list) else []
    for policy_type in reference["spec"].get("policyTypes", []):
        if not any(t == policy_type for t in kept):
            found.append(f"policy type {policy_type} dropped")
    return found


# -- generated patch lists ----------------------------------------------------------------------


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


NEW_KEYS = [
    _escape(k)
    for k in (
        MB,
        NS,
        "release",
        "vcluster.loft.sh/controlled-by",
        "team",
        "namespaceSelector",
        "podSelector",
        "ipBlock",
        "matchLabels",
        "matchExpressions",
        "policyTypes",
        "from",
        "to",
    )
]

SCOPE_ATTACKS: list[Any] = [
    VC,
    "vc2",
    "shop",
    "elsewhere",
    "Ingress",
    "Egress",
    "",
    None,
    {},
    [],
    ["Ingress"],
    {MB: VC},
    {MB: "vc2"},
    {"matchLabels": {MB: VC}},
    {"matchLabels": {MB: "vc2"}},
    {"matchLabels": {MB: VC, NS: "elsewhere"}},
    {"matchLabels": {"app": "web"}},
    {"matchExpressions": [{"key": "release", "operator": "Exists"}]},
    {"matchExpressions": [{"key": MB, "operator": "In", "values": [VC, "vc2"]}]},
    {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["x"]}]},
    {"podSelector": {}},
    {"podSelector": {"matchLabels": {MB: VC}}},
    {"podSelector": {"matchLabels": {MB: "vc2"}}},
    {"namespaceSelector": {}},
    {"namespaceSelector": {}, "podSelector": {"matchLabels": {MB: VC}}},
    {"ipBlock": {"cidr": "0.0.0.0/0"}},
    {"ipBlock": {"cidr": "0.0.0.0/0"}, "podSelector": {}},
    {"from": [{"podSelector": {}}]},
    {"to": [{"namespaceSelector": {}}]},
    {"from": [{"podSelector": {"matchLabels": {MB: VC}}}]},
    [{"podSelector": {}}],
    [{"key": NS, "operator": "Exists"}],
]


@st.composite
def patch_lists(draw: st.DrawFn, doc: Any) -> list[dict[str, Any]]:
    """1-4 entries of any op over ``doc``'s paths, new paths beside them, and attack values."""
    nodes = list(_nodes(doc))
    existing = [pointer for pointer, _ in nodes if pointer]
    beside = [
        f"{pointer}/{key}" for pointer, node in nodes if isinstance(node, dict) for key in NEW_KEYS
    ] + [f"{pointer}/{end}" for pointer, node in nodes if isinstance(node, list) for end in "-0"]
    paths = st.one_of(st.sampled_from(existing), st.sampled_from(beside))
    values = st.one_of(
        st.sampled_from(SCOPE_ATTACKS),
        st.sampled_from(nodes).map(lambda pair: copy.deepcopy(pair[1])),
    )
    entries = []
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(patches.OPS))
        entry: dict[str, Any] = {"op": op, "path": draw(paths)}
        if op in ("add", "replace", "test"):
            entry["value"] = draw(values)
        if op in ("move", "copy"):
            entry["from"] = draw(st.sampled_from(existing))
        entries.append(entry)
    return entries


POLICIES = strategies.network_policies(max_rules=2)


@settings(max_examples=2000, deadline=None)
@given(data=st.data(), virtual=POLICIES)
def test_accepted_results_never_escape_the_scope(data: st.DataObject, virtual: Any) -> None:
    """Every patch list is either refused or yields an object the independent oracle accepts."""
    translated = translate.to_host(virtual, TARGET)
    before = copy.deepcopy(translated)
    entries = data.draw(patch_lists(translated))
    try:
        patch_list = patches.parse(entries)
    except patches.InvalidPatches:
        event("invalid at start")
        return
    try:
        result = patch_list.apply(translated, vcluster=VC)
    except patches.PatchRefused as exc:
        refused: patches.PatchRefused | None = exc
    else:
        refused = None
    assert translated == before, "apply modified its input"
    if refused is not None:
        event(f"refused: {refused.reason}")
        assert refused.entry is None or 0 <= refused.entry < len(entries)
        return
    event("accepted")
    assert scope_problems(result, translated) == [], entries


def test_the_oracle_sees_the_leaks_it_is_meant_to_see() -> None:
    """The oracle itself flags each kind of leak on a hand-made object (it is not vacuous)."""
    policy = _hand_made_policy()
    reference = translate.to_host(policy, TARGET)
    assert scope_problems(reference, reference) == []
    leaks: list[tuple[str, Any, str]] = [
        ("/spec/podSelector/matchLabels", {"app": "web"}, "spec.podSelector selects"),
        (
            "/spec/podSelector/matchExpressions",
            [{"key": MB, "operator": "NotIn", "values": ["x"]}],
            "expression on reserved label",
        ),
        ("/spec/ingress/0/from/0", {"podSelector": {}}, "selects pods of another vCluster"),
        ("/spec/ingress/0/from/0", {"namespaceSelector": {}}, "namespaceSelector"),
        ("/spec/policyTypes", [], "policy type Ingress dropped"),
        ("/metadata/name", "x", "name changed"),
    ]
    for pointer, value, fragment in leaks:
        host = copy.deepcopy(reference)
        *parents, last = pointer.strip("/").split("/")
        node: Any = host
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
        problems = scope_problems(host, reference)
        assert any(fragment in p for p in problems), (pointer, problems)


def _hand_made_policy() -> Any:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "web", "namespace": "shop", "uid": "u"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}],
        },
    }
