"""``isolation: managed``: baseline policies so the envelope holds for every tenant pod (SPEC §9).

With vCluster's ``policies.networkPolicy`` on, its ``vc-work-<name>`` policy selects every pod of
the vCluster and allows all traffic between them; policies add up, so every tenant restriction
inside the vCluster is void on the host. With ``isolation: managed`` the syncer owns the
workload isolation instead (turn vc-work off): effective host reachability must equal *virtual
semantics ∩ envelope*. Pods a tenant policy selects in a direction already get exactly the
tenant's allows narrowed by the envelope (the guarded host copies). Pods selected by none would
be non-isolated on the host, i.e. outside the envelope; the baseline policies built here select
exactly those pods and allow the envelope ("any peer" narrowed by the blocked ranges).

"Exactly those pods" is the complement of a union of label selectors, per virtual namespace and
direction: ``not (S1 or ... or Sk)`` = ``(not S1) and ... and (not Sk)``, where each ``not Si``
is the OR of its negated requirements (``In``<->``NotIn``, ``Exists``<->``DoesNotExist``,
``matchLabels k: v`` -> ``k NotIn [v]``). A LabelSelector is a conjunction, so the product is
expanded into one baseline policy per combination; contradictory combinations are pruned and
the count is bounded by ``max_policies``. Past the bound the **fallback** is one baseline that
selects every pod of the namespace: the envelope still holds for every pod, but in that
namespace and direction tenant restrictions are void again (as under vc-work), and a warning
says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from guardrails.config import Guardrails
from guardrails.envelope import any_peer
from translate import host_pod_selector, markers, safe_concat
from translate.types import LabelSelector, LabelSelectorRequirement, NetworkPolicy, Target

MAX_BASELINE_POLICIES = 64
"""Per namespace and direction; generous for real selectors (a few requirements each)."""

BASELINE_ANNOTATION = "netpol-syncer.io/baseline"
_DIRECTIONS = (("ingress", "from", "Ingress"), ("egress", "to", "Egress"))
_NEGATED = {"In": "NotIn", "NotIn": "In", "Exists": "DoesNotExist", "DoesNotExist": "Exists"}


@dataclass(frozen=True, slots=True)
class Baseline:
    """The baseline host policies of one virtual namespace, and any fallback warnings."""

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
    """Baseline host policies for ``virtual_namespace`` given its tenant policies.

    ``tenant_policies`` are the virtual policies of that namespace (others are ignored).
    Empty when ``isolation`` is not ``managed``.
    """
    if guardrails.isolation != "managed":
        return Baseline(())
    mine = [
        p
        for p in tenant_policies
        if (p.get("metadata") or {}).get("namespace") == virtual_namespace
    ]
    policies: list[NetworkPolicy] = []
    warnings: list[str] = []
    for direction, field, policy_type in _DIRECTIONS:
        selectors = [
            (p.get("spec") or {}).get("podSelector") or {}
            for p in mine
            if policy_type in _policy_types(p)
        ]
        complement = complement_of_union(selectors, max_policies)
        if complement is None:
            warnings.append(
                f"{virtual_namespace}: {direction} baseline needs more than {max_policies} "
                "policies; falling back to one that selects every pod of the namespace"
            )
            complement = [{}]
        for i, selector in enumerate(complement):
            policies.append(
                _policy(
                    virtual_namespace,
                    direction,
                    field,
                    policy_type,
                    i,
                    selector,
                    guardrails,
                    target,
                )
            )
    return Baseline(tuple(policies), tuple(warnings))


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
    out: list[LabelSelector] = []
    for combination in itertools.product(*negations):
        merged = _conjunction(combination)
        if merged is None:
            continue
        if merged not in out:
            out.append(merged)
        if len(out) > max_policies:
            return None
    return out


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


def _policy(
    virtual_namespace: str,
    direction: str,
    field: str,
    policy_type: str,
    index: int,
    selector: LabelSelector,
    guardrails: Guardrails,
    target: Target,
) -> NetworkPolicy:
    """One baseline host policy. Its name does not end in ``-x-<VC>``, so it cannot collide
    with an unhashed tenant copy (``<name>-x-<namespace>-x-<VC>``)."""
    name = safe_concat("netpol-baseline", virtual_namespace, direction, str(index), target.vcluster)
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
                "labels": {
                    markers.MANAGED_BY: target.vcluster,
                    markers.NAMESPACE: virtual_namespace,
                },
                "annotations": {BASELINE_ANNOTATION: direction},
            },
            "spec": {
                "podSelector": host_pod_selector(selector, virtual_namespace, target.vcluster),
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
