"""Typed shapes of the JSON the Kubernetes API returns for NetworkPolicies.

Objects travel through the core as plain dicts (exactly what the API sends), typed here so that
mypy checks field names. Keys that are Python keywords (``from``, ``except``) force the
functional ``TypedDict`` syntax.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

API_VERSION = "networking.k8s.io/v1"
KIND = "NetworkPolicy"

Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]
"""A label selector requirement's operator (what the API accepts)."""


class LabelSelectorRequirement(TypedDict):
    key: str
    operator: str
    values: NotRequired[list[str]]


class LabelSelector(TypedDict, total=False):
    matchLabels: dict[str, str]
    matchExpressions: list[LabelSelectorRequirement]


IPBlock = TypedDict("IPBlock", {"cidr": str, "except": NotRequired[list[str]]})


class NetworkPolicyPeer(TypedDict, total=False):
    podSelector: LabelSelector
    namespaceSelector: LabelSelector
    ipBlock: IPBlock


class NetworkPolicyPort(TypedDict, total=False):
    protocol: str
    port: int | str
    endPort: int


IngressRule = TypedDict(
    "IngressRule",
    {"ports": NotRequired[list[NetworkPolicyPort]], "from": NotRequired[list[NetworkPolicyPeer]]},
)


class EgressRule(TypedDict, total=False):
    ports: list[NetworkPolicyPort]
    to: list[NetworkPolicyPeer]


class NetworkPolicySpec(TypedDict, total=False):
    podSelector: LabelSelector
    ingress: list[IngressRule]
    egress: list[EgressRule]
    policyTypes: list[str]


class ObjectMeta(TypedDict, total=False):
    name: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    labels: dict[str, str]
    annotations: dict[str, str]
    creationTimestamp: str
    deletionTimestamp: str
    finalizers: list[str]
    ownerReferences: list[dict[str, Any]]
    managedFields: list[dict[str, Any]]


class NetworkPolicy(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: NetworkPolicySpec


@dataclass(frozen=True, slots=True, order=True)
class ObjectKey:
    """Identity of a namespaced object; what the informers enqueue and the reconciler reads."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Target:
    """Where and for whom host copies are made.

    ``vcluster`` is vCluster's "suffix" (usually the Helm release name); it is baked into host
    names and into the ``vcluster.loft.sh/managed-by`` marker that scopes every host selector.
    """

    vcluster: str
    host_namespace: str
    """The one host namespace of single-namespace mode; read it through
    :meth:`host_namespace_for`, which multi-namespace mode will answer per virtual namespace."""

    def host_namespace_for(self, virtual_namespace: str) -> str:
        """The host namespace that holds the copies (and the pods) of ``virtual_namespace``.

        Single-namespace mode (the only one so far): every virtual namespace maps to
        :attr:`host_namespace`. Everything that places or finds a host copy asks here, so
        multi-namespace mode (vCluster's ``sync.toHost.namespaces``) changes only this method.
        """
        del virtual_namespace
        return self.host_namespace
