"""``isolation: managed``: baseline policies so the envelope holds for every tenant pod (SPEC §9).

With vCluster's ``policies.networkPolicy`` on, its ``vc-work-<name>`` policy selects every pod of
the vCluster and allows all traffic between them; policies add up, so every tenant restriction
inside the vCluster is void on the host. With ``isolation: managed`` the syncer owns the
workload isolation instead (turn vc-work off): effective host reachability must equal *virtual
semantics ∩ envelope*. Pods a tenant policy selects in a direction already get exactly the
tenant's allows narrowed by the envelope (the guarded host copies). Pods selected by none would
be non-isolated on the host, i.e. outside the envelope; the baseline policies built here select
exactly those pods and allow the envelope ("any peer" narrowed by the blocked ranges).

Two kinds of baseline, per direction:

- **namespace** baselines, for each virtual namespace with tenant policies: the complement of
  the union of the *exempt* selectors (:func:`exemptions`) within the namespace. A pod is
  exempt only when a tenant policy selects it *and* that policy's host copy does: in steady
  state both agree, and while a copy is being written the baseline keeps covering every pod the
  host copy does not select yet (or no longer). ``not (S1 or ... or Sk)`` =
  ``(not S1) and ... and (not Sk)``, where each ``not Si`` is the OR of its negated
  requirements (``In``<->``NotIn``, ``Exists``<->``DoesNotExist``, ``matchLabels k: v`` ->
  ``k NotIn [v]``). A LabelSelector is a conjunction, so the product is expanded into one
  baseline per combination; contradictory combinations are pruned and the count is bounded by
  ``max_policies``. Past the bound the **fallback** is one baseline that selects every pod of
  the namespace: the envelope still holds for every pod, but in that namespace and direction
  tenant restrictions are void again (as under vc-work), and a warning says so.
- one **others** baseline for every pod of the vCluster whose namespace has no namespace
  baselines (``vcluster.loft.sh/namespace NotIn [...]``): namespaces without any tenant policy
  need no listing of virtual namespaces.

Exempt selectors are in host label space (the host copy's pod selector, which patches may have
narrowed), so baselines are built from them without translating again.

Names end in ``.baseline``. Every dot in a tenant copy's name comes from the tenant's policy
name, which is followed by at least ``-x-<namespace>-x-<VC>`` (or, for a hashed name, by
``-<10 hex digits>``), so the part of a tenant copy's name after its last dot always contains a
``-``; ``baseline`` does not, so no tenant policy can produce a baseline's name. A namespace
baseline's name also carries a digest of its pod selector: a changed selector is a new object
(created first) and the old one is deleted afterwards, never edited into a narrower one.

Longer than most modules on purpose: the complement of a union of selectors, its bound
and the plan that uses it share their reasoning, which the docstrings build up in order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from guardrails.config import Guardrails
from guardrails.envelope import any_peer
from translate import host_pod_selector, markers
from translate.types import LabelSelector, LabelSelectorRequirement, NetworkPolicy, Target

MAX_BASELINE_POLICIES = 64
"""Per namespace and direction; generous for real selectors (a few requirements each)."""

MAX_PARTIAL_CONJUNCTIONS = 4096
"""Bound on the intermediate conjunctions while the complement is built: past it the namespace
takes the fallback, whatever the final count would have been, so hostile selectors cost
milliseconds, not an unbounded product."""

BASELINE_ANNOTATION = "netpol-syncer.io/baseline"
"""Annotation naming the direction (``ingress``/``egress``) a baseline isolates."""
BASELINE_LABEL = "netpol-syncer.io/baseline"
"""Label marking a baseline (value :data:`NAMESPACE_SCOPE` or :data:`OTHERS_SCOPE`): what the
controller finds its own baselines by; tenant copies never carry it."""
NAMESPACE_SCOPE = "namespace"
OTHERS_SCOPE = "others"
NAME_SUFFIX = ".baseline"
_DIRECTIONS = (("ingress", "from", "Ingress"), ("egress", "to", "Egress"))
_NEGATED = {"In": "NotIn", "NotIn": "In", "Exists": "DoesNotExist", "DoesNotExist": "Exists"}
_MAX_NAME = 63
_HASH_DIGITS = 10

PolicyType = Literal["Ingress", "Egress"]
POLICY_TYPES: tuple[PolicyType, ...] = ("Ingress", "Egress")
Exempt = Mapping[str, Sequence[LabelSelector]]
"""Policy type -> host-space pod selectors (scoping labels removed) of the exempt pods."""


@dataclass(frozen=True, slots=True)
class Baseline:
    """Baseline host policies, and any fallback warnings."""

    policies: tuple[NetworkPolicy, ...]
    warnings: tuple[str, ...] = ()


def baseline(
    virtual_namespace: str,
    tenant_policies: Sequence[NetworkPolicy],
    guardrails: Guardrails,
    target: Target,
    *,
    max_policies: int = MAX_BASELINE_POLICIES,
) -> Baseline:
    """Namespace baselines for ``virtual_namespace`` in steady state (every host copy is the
    plain translation of its tenant policy).

    ``tenant_policies`` are the virtual policies of that namespace (others are ignored).
    Empty when ``isolation`` is not ``managed``.
    """
    if guardrails.isolation != "managed":
        return Baseline(())
    mine = [p for p in tenant_policies if _namespace(p) == virtual_namespace]
    return namespace_baselines(
        virtual_namespace, exemptions(mine, None, target), guardrails, target, max_policies
    )


def plan(
    tenant_policies: Sequence[NetworkPolicy],
    host_copies: Mapping[tuple[str, str], NetworkPolicy] | None,
    guardrails: Guardrails,
    target: Target,
    *,
    max_policies: int = MAX_BASELINE_POLICIES,
) -> Baseline:
    """Every baseline of the vCluster: namespace baselines, then the others baseline.

    ``host_copies``: ``(namespace, name)`` of a tenant policy -> its host copy as the host has
    it; None when every copy is the plain translation. Empty unless ``isolation: managed``.
    """
    if guardrails.isolation != "managed":
        return Baseline(())
    by_namespace: dict[str, list[NetworkPolicy]] = {}
    for policy in tenant_policies:
        by_namespace.setdefault(_namespace(policy), []).append(policy)
    policies: list[NetworkPolicy] = []
    warnings: list[str] = []
    for namespace in sorted(by_namespace):
        copies = None
        if host_copies is not None:
            copies = {name: copy for (ns, name), copy in host_copies.items() if ns == namespace}
        result = namespace_baselines(
            namespace,
            exemptions(by_namespace[namespace], copies, target),
            guardrails,
            target,
            max_policies,
        )
        policies.extend(result.policies)
        warnings.extend(result.warnings)
    policies.extend(others_baselines(sorted(by_namespace), guardrails, target))
    return Baseline(tuple(policies), tuple(warnings))


def exemptions(
    tenant_policies: Iterable[NetworkPolicy],
    host_copies: Mapping[str, NetworkPolicy] | None,
    target: Target,
) -> dict[str, list[LabelSelector]]:
    """Per policy type, the pods of one namespace that baselines must leave out.

    A pod is exempt in a direction when a tenant policy of that type selects it *and* that
    policy's host copy (``host_copies`` by virtual name; None: the plain translation) is of
    that type and selects it too. A policy without a host copy exempts nothing, so its pods
    stay covered until the copy exists; a copy whose selector is out of the namespace's scope
    exempts nothing either.
    """
    out: dict[str, list[LabelSelector]] = {t: [] for t in POLICY_TYPES}
    for policy in tenant_policies:
        namespace = _namespace(policy)
        translated = host_pod_selector(
            (policy.get("spec") or {}).get("podSelector") or {}, namespace, target.vcluster
        )
        if host_copies is None:
            host: NetworkPolicy | None = policy
            host_selector: LabelSelector | None = translated
        else:
            host = host_copies.get((policy.get("metadata") or {}).get("name", ""))
            if host is None:
                continue
            host_selector = (host.get("spec") or {}).get("podSelector") or {}
        types = _policy_types(policy) & _policy_types(host) if host is not None else set()
        selector = _both(translated, host_selector or {}, namespace, target.vcluster)
        if selector is None:
            continue
        for policy_type in sorted(types):
            if selector not in out[policy_type]:
                out[policy_type].append(selector)
    return out


def namespace_baselines(
    virtual_namespace: str,
    exempt: Exempt,
    guardrails: Guardrails,
    target: Target,
    max_policies: int = MAX_BASELINE_POLICIES,
) -> Baseline:
    """The namespace baselines selecting every pod of ``virtual_namespace`` not ``exempt``."""
    policies: list[NetworkPolicy] = []
    warnings: list[str] = []
    for direction, field, policy_type in _DIRECTIONS:
        complement = complement_of_union(exempt.get(policy_type, ()), max_policies)
        if complement is None:
            warnings.append(
                f"{virtual_namespace}: {direction} baseline needs more than {max_policies} "
                "policies; falling back to one that selects every pod of the namespace"
            )
            complement = [{}]
        for selector in complement:
            pod_selector = cast(LabelSelector, dict(selector))
            pod_selector["matchLabels"] = {
                markers.NAMESPACE: virtual_namespace,
                markers.MANAGED_BY: target.vcluster,
            }
            digest = _sha(json.dumps(pod_selector, sort_keys=True))[:8]
            name = _name(direction, digest, "x", virtual_namespace, "x", target.vcluster)
            labels = {markers.NAMESPACE: virtual_namespace, BASELINE_LABEL: NAMESPACE_SCOPE}
            policy = _policy(
                name, direction, field, policy_type, pod_selector, labels, guardrails, target
            )
            policies.append(policy)
    return Baseline(tuple(policies), tuple(warnings))


def others_baselines(
    covered_namespaces: Sequence[str], guardrails: Guardrails, target: Target
) -> tuple[NetworkPolicy, ...]:
    """One baseline per direction for every pod of the vCluster outside
    ``covered_namespaces`` (the namespaces that have namespace baselines)."""
    selector: LabelSelector = {"matchLabels": {markers.MANAGED_BY: target.vcluster}}
    if covered_namespaces:
        selector["matchExpressions"] = [
            {
                "key": markers.NAMESPACE,
                "operator": "NotIn",
                "values": sorted(set(covered_namespaces)),
            }
        ]
    return tuple(
        _policy(
            _name(direction, "x", target.vcluster),
            direction,
            field,
            policy_type,
            selector,
            {BASELINE_LABEL: OTHERS_SCOPE},
            guardrails,
            target,
        )
        for direction, field, policy_type in _DIRECTIONS
    )


def covered_by_others(others: Iterable[Mapping[str, Any]]) -> frozenset[str] | None:
    """The namespaces the given others baselines leave out, or None unless there is one per
    direction (then some pods outside namespace baselines may not be covered)."""
    found: dict[str, frozenset[str]] = {}
    for policy in others:
        spec = policy.get("spec") or {}
        types = spec.get("policyTypes") or []
        selector = spec.get("podSelector") or {}
        excluded: set[str] = set()
        for requirement in selector.get("matchExpressions") or []:
            shape = (requirement.get("key"), requirement.get("operator"))
            if shape != (markers.NAMESPACE, "NotIn"):
                return None
            excluded |= set(requirement.get("values") or [])
        if set(selector.get("matchLabels") or {}) != {markers.MANAGED_BY}:
            return None
        for policy_type in types:
            found[policy_type] = found.get(policy_type, frozenset()) | excluded
    if set(found) != set(POLICY_TYPES):
        return None
    return frozenset().union(*found.values())


def complement_of_union(
    selectors: Sequence[Mapping[str, Any]], max_policies: int = MAX_BASELINE_POLICIES
) -> list[LabelSelector] | None:
    """Selectors whose union selects exactly the label sets no selector in ``selectors`` does.

    ``[]`` when some selector selects everything; ``[{}]`` when there are no selectors; ``None``
    when more than ``max_policies`` selectors would be needed.
    """
    negations: list[list[LabelSelectorRequirement]] = []
    for selector in selectors:
        requirements = list(_requirements(selector))
        if not requirements:
            return []
        negations.append([_negate(r) for r in requirements])
    # The product of the negations grows as (requirements per selector) ** selectors, so it is
    # built one selector at a time, dropping contradictions and duplicates as they appear, and
    # abandoned (None, the documented fallback) once the partial result outgrows the bound: a
    # tenant's selectors cannot make this loop run for long.
    partial: list[tuple[tuple[LabelSelectorRequirement, ...], LabelSelector]] = [((), {})]
    for choices in negations:
        grown: list[tuple[tuple[LabelSelectorRequirement, ...], LabelSelector]] = []
        seen: set[str] = set()
        for chosen, _ in partial:
            for choice in choices:
                combined = (*chosen, choice)
                merged = _conjunction(combined)
                if merged is None:
                    continue
                canonical = json.dumps(merged, sort_keys=True)
                if canonical in seen:
                    continue
                seen.add(canonical)
                grown.append((combined, merged))
        if len(grown) > MAX_PARTIAL_CONJUNCTIONS:
            return None
        partial = grown
    out = [merged for _, merged in partial]
    return None if len(out) > max_policies else out


def _requirements(selector: Mapping[str, Any]) -> Iterator[LabelSelectorRequirement]:
    for key, value in (selector.get("matchLabels") or {}).items():
        yield {"key": key, "operator": "In", "values": [value]}
    for requirement in selector.get("matchExpressions") or []:
        yield cast(LabelSelectorRequirement, dict(requirement))


def _negate(requirement: LabelSelectorRequirement) -> LabelSelectorRequirement:
    out: LabelSelectorRequirement = {
        "key": requirement["key"],
        "operator": _NEGATED[requirement["operator"]],
    }
    if out["operator"] in ("In", "NotIn"):
        out["values"] = list(requirement.get("values") or [])
    return out


def _conjunction(requirements: Sequence[LabelSelectorRequirement]) -> LabelSelector | None:
    """AND of requirements as one selector; ``None`` when it can select nothing.

    Per key: ``In`` sets intersect, ``NotIn`` sets unite, ``Exists``/``DoesNotExist`` must agree.
    """
    by_key: dict[str, dict[str, Any]] = {}
    for r in requirements:
        state = by_key.setdefault(r["key"], {"in": None, "not_in": set(), "exists": None})
        operator = r["operator"]
        if operator == "In":
            values = set(r.get("values") or [])
            state["in"] = values if state["in"] is None else state["in"] & values
        elif operator == "NotIn":
            state["not_in"] |= set(r.get("values") or [])
        else:
            wanted = operator == "Exists"
            if state["exists"] is not None and state["exists"] != wanted:
                return None
            state["exists"] = wanted
    expressions: list[LabelSelectorRequirement] = []
    for key, state in by_key.items():
        if state["in"] is not None:
            allowed = state["in"] - state["not_in"]
            if not allowed or state["exists"] is False:
                return None
            expressions.append({"key": key, "operator": "In", "values": sorted(allowed)})
            continue
        if state["exists"] is False:
            expressions.append({"key": key, "operator": "DoesNotExist"})
            continue
        if state["exists"]:
            expressions.append({"key": key, "operator": "Exists"})
        if state["not_in"]:
            expressions.append({"key": key, "operator": "NotIn", "values": sorted(state["not_in"])})
    return {"matchExpressions": expressions} if expressions else {}


def _namespace(policy: Mapping[str, Any]) -> str:
    return str((policy.get("metadata") or {}).get("namespace") or "")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _name(*parts: str) -> str:
    """``parts`` joined by ``-`` plus :data:`NAME_SUFFIX`, shortened with a hash to 63."""
    base = "-".join(parts)
    room = _MAX_NAME - len(NAME_SUFFIX)
    if len(base) > room:
        keep = room - 1 - _HASH_DIGITS
        base = base[:keep] + "-" + _sha(base)[:_HASH_DIGITS]
    return base + NAME_SUFFIX


def _both(
    translated: LabelSelector, host: LabelSelector, namespace: str, vcluster: str
) -> LabelSelector | None:
    """The conjunction of two host pod selectors of one namespace, scoping labels left out;
    None when ``host`` cannot select a pod of that namespace of this vCluster."""
    requirements: list[LabelSelectorRequirement] = []
    scope = {markers.NAMESPACE: namespace, markers.MANAGED_BY: vcluster}
    for selector in (translated, host):
        labels = selector.get("matchLabels") or {}
        for key, value in scope.items():
            if key in labels and labels[key] != value:
                return None
        rest: LabelSelector = {
            "matchLabels": {k: v for k, v in labels.items() if scope.get(k) != v},
            "matchExpressions": list(selector.get("matchExpressions") or []),
        }
        for requirement in _requirements(rest):
            if requirement not in requirements:
                requirements.append(requirement)
    return {"matchExpressions": requirements} if requirements else {}


def _policy(
    name: str,
    direction: str,
    field: str,
    policy_type: str,
    pod_selector: LabelSelector,
    labels: Mapping[str, str],
    guardrails: Guardrails,
    target: Target,
) -> NetworkPolicy:
    """One baseline host policy: isolates ``direction`` of the selected pods and allows the
    envelope (any peer, narrowed by the blocked ranges)."""
    rule: dict[str, Any] = (
        {field: any_peer(guardrails.blocked_cidrs)} if guardrails.blocked_cidrs else {}
    )
    return cast(
        NetworkPolicy,
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {
                "name": name,
                "namespace": target.host_namespace,
                "labels": {markers.MANAGED_BY: target.vcluster, **labels},
                "annotations": {BASELINE_ANNOTATION: direction},
            },
            "spec": {
                "podSelector": pod_selector,
                direction: [rule],
                "policyTypes": [policy_type],
            },
        },
    )


def _policy_types(policy: NetworkPolicy) -> set[str]:
    """Declared policy types, or the API server's defaults."""
    spec = policy.get("spec") or {}
    declared = spec.get("policyTypes") or []
    if declared:
        return set(declared)
    return {"Ingress", "Egress"} if spec.get("egress") else {"Ingress"}
