"""The resource registry: which kinds kubesim serves and how each one behaves.

A :class:`ResourceType` carries everything kind-specific (URL names, scope, schema, defaults,
strategy hooks, validation, selectable fields, patch metadata); storage, discovery and the HTTP
layer stay generic. Built-ins are registered by :func:`builtin_types`; a custom kind is one
call::

    api.register("monitoring.coreos.com/v1", "ServiceMonitor")

Custom kinds behave like CRDs without a structural schema: bodies are stored as sent (only
metadata is decoded), there is no validation beyond ObjectMeta, and strategic merge patch is
refused with 415 as upstream does for custom resources.

Longer than most modules on purpose: the built-in kinds are one declarative table, and
reading it in one place is the point.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubesim import defaulting, kindschemas, naming, schema, strategic, validation
from kubesim.errors import FieldError, GroupResource
from kubesim.selectors import FieldGetter

JsonObject = dict[str, Any]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

Defaulter = Callable[[JsonObject], None]
"""Fills server defaults into a freshly decoded object (runs on create, update and patch)."""
CreateStrategy = Callable[[JsonObject], None]
"""``PrepareForCreate``: resets fields clients may not set on create (e.g. status)."""
UpdateStrategy = Callable[[JsonObject, JsonObject], None]
"""``PrepareForUpdate(new, old)``: carries over fields an update may not change."""
Validator = Callable[[JsonObject, "JsonObject | None"], list[FieldError]]
"""Body validation beyond ObjectMeta; gets the old object on update."""
Warner = Callable[[JsonObject], list[str]]
"""Returns ``Warning`` header texts for accepted but questionable objects."""


def _path_getter(*path: str) -> FieldGetter:
    def get(obj: JsonObject) -> str | None:
        cur: Any = obj
        for part in path:
            if not isinstance(cur, dict):
                return None
            cur = cur.get(part)
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return None if cur is None else str(cur)

    return get


def field_getters(*paths: str) -> dict[str, FieldGetter]:
    """Selectable fields by dotted path, e.g. ``field_getters("involvedObject.name")``."""
    return {p: _path_getter(*p.split(".")) for p in paths}


METADATA_FIELDS = field_getters("metadata.name", "metadata.namespace")


@dataclass(frozen=True, kw_only=True, eq=False)
class ResourceType:
    """One served resource (``group/version`` + plural) and its server-side behaviour."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str = ""
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    body: schema.Struct = schema.GENERIC
    """Typed decoding of the body; ``GENERIC`` keeps unknown fields (no schema)."""
    defaulter: Defaulter | None = None
    prepare_create: CreateStrategy | None = None
    prepare_update: UpdateStrategy | None = None
    validator: Validator | None = None
    warner: Warner | None = None
    name_validator: naming.NameValidator = naming.name_is_dns_subdomain
    extra_fields: Mapping[str, FieldGetter] = field(default_factory=dict)
    """Selectable fields beyond ``metadata.name``/``metadata.namespace``."""
    tracks_generation: bool = False
    """Whether ``metadata.generation`` starts at 1 and is bumped on spec changes."""
    status_subresource: bool = False
    """Whether ``status`` is written only through ``/status`` (like Deployments)."""
    allow_create_on_update: bool = False
    """Whether PUT of a missing object creates it (Leases, Events) instead of 404."""
    patch_meta: strategic.PatchMeta | None = strategic.OBJECT
    """Strategic-merge metadata; ``None`` refuses that patch type (custom kinds)."""
    printer_columns: tuple[tuple[str, str], ...] = ()
    """Extra ``kubectl get`` columns as (header, dotted JSON path)."""
    review: bool = False
    """A create-only request/response kind that is never stored (access reviews)."""

    def __post_init__(self) -> None:
        if not self.singular:
            object.__setattr__(self, "singular", self.kind.lower())

    @property
    def api_version(self) -> str:
        """``group/version``, or just ``version`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> GroupResource:
        """The qualified name used in error messages."""
        return GroupResource(self.group, self.plural)

    @property
    def list_kind(self) -> str:
        """The kind of a list response."""
        return f"{self.kind}List"

    @property
    def selectable_fields(self) -> dict[str, FieldGetter]:
        """All field names accepted in ``fieldSelector``."""
        return {**METADATA_FIELDS, **self.extra_fields}

    def __repr__(self) -> str:
        return f"ResourceType({self.plural}.{self.group or 'core'}/{self.version})"


def pluralize(kind: str) -> str:
    """The conventional plural of a kind (``ServiceMonitor`` -> ``servicemonitors``)."""
    lower = kind.lower()
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x", "ch", "sh")):
        return lower + "es"
    return lower + "s"


def custom(
    api_version: str,
    kind: str,
    *,
    plural: str | None = None,
    namespaced: bool = True,
    short_names: Iterable[str] = (),
    categories: Iterable[str] = (),
    status_subresource: bool = False,
) -> ResourceType:
    """A CRD-like kind: metadata decoded, body kept as sent, SMP refused."""
    group, _, version = api_version.rpartition("/")
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural or pluralize(kind),
        namespaced=namespaced,
        short_names=tuple(short_names),
        categories=tuple(categories),
        status_subresource=status_subresource,
        tracks_generation=True,
        patch_meta=None,
        name_validator=naming.name_is_dns_subdomain,
    )


class Registry:
    """All served resource types, indexed for URL routing, body kinds and short names.

    Registration may happen while the server runs (discovery reflects it on the next request);
    ``version`` increases on every change so cached discovery documents can be rebuilt.
    """

    def __init__(self, types: Iterable[ResourceType] = ()) -> None:
        self._by_path: dict[tuple[str, str, str], ResourceType] = {}
        self._by_kind: dict[tuple[str, str], ResourceType] = {}
        self._lock = threading.Lock()
        self.version = 0
        for rtype in types:
            self.register(rtype)

    def register(self, rtype: ResourceType) -> ResourceType:
        """Add (or replace) a resource type and return it."""
        with self._lock:
            self._by_path[(rtype.group, rtype.version, rtype.plural)] = rtype
            self._by_kind[(rtype.api_version, rtype.kind)] = rtype
            self.version += 1
        return rtype

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The type served at ``/apis/<group>/<version>/<plural>`` (or ``/api/v1``)."""
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        """The type of an object body with this ``apiVersion`` and ``kind``."""
        return self._by_kind.get((api_version, kind))

    def resolve(self, name: str) -> ResourceType:
        """Find a type by plural, singular, short name or kind, optionally ``.group``-qualified.

        This is the lookup behind ``api.store.get("networkpolicies", ...)`` so tests can use
        whatever name reads best; ambiguity is resolved in registration order.
        """
        base, _, group = name.partition(".")
        lowered = base.lower()
        for rtype in self.all():
            if group and rtype.group != group:
                continue
            if lowered in {rtype.plural, rtype.singular, rtype.kind.lower(), *rtype.short_names}:
                return rtype
        raise KeyError(f"unknown resource {name!r}")

    def all(self) -> list[ResourceType]:
        """Every type, in registration order."""
        return list(self._by_path.values())

    def groups(self) -> dict[str, dict[str, list[ResourceType]]]:
        """Types grouped as ``{group: {version: [types]}}`` in registration order."""
        out: dict[str, dict[str, list[ResourceType]]] = {}
        for rtype in self.all():
            out.setdefault(rtype.group, {}).setdefault(rtype.version, []).append(rtype)
        return out


def builtin_types() -> list[ResourceType]:
    """The kinds every kubesim serves: what the syncer and its Helm chart touch."""
    return [
        ResourceType(
            group="",
            version="v1",
            kind="Namespace",
            plural="namespaces",
            namespaced=False,
            short_names=("ns",),
            body=schema.NAMESPACE,
            defaulter=defaulting.default_namespace,
            prepare_create=defaulting.prepare_namespace_create,
            prepare_update=defaulting.prepare_namespace_update,
            validator=validation.validate_namespace,
            name_validator=naming.name_is_dns_label,
            extra_fields=field_getters("status.phase"),
            printer_columns=(("Status", "status.phase"),),
        ),
        ResourceType(
            group="networking.k8s.io",
            version="v1",
            kind="NetworkPolicy",
            plural="networkpolicies",
            short_names=("netpol",),
            body=schema.NETWORK_POLICY,
            defaulter=defaulting.default_network_policy,
            validator=validation.validate_network_policy,
            warner=validation.network_policy_warnings,
            tracks_generation=True,
            printer_columns=(("Pod-Selector", "spec.podSelector"),),
        ),
        ResourceType(
            group="",
            version="v1",
            kind="Event",
            plural="events",
            short_names=("ev",),
            body=kindschemas.EVENT,
            validator=kindschemas.validate_event,
            name_validator=naming.name_is_path_segment,
            allow_create_on_update=True,
            extra_fields=field_getters(
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "type",
            )
            | {"source": _path_getter("source", "component")},
            printer_columns=(("Type", "type"), ("Reason", "reason"), ("Message", "message")),
        ),
        ResourceType(
            group="coordination.k8s.io",
            version="v1",
            kind="Lease",
            plural="leases",
            body=kindschemas.LEASE,
            allow_create_on_update=True,
            validator=validation.validate_lease,
            printer_columns=(("Holder", "spec.holderIdentity"),),
        ),
        ResourceType(
            group="", version="v1", kind="ConfigMap", plural="configmaps", short_names=("cm",)
        ),
        ResourceType(
            group="",
            version="v1",
            kind="Secret",
            plural="secrets",
            defaulter=defaulting.default_secret,
            extra_fields=field_getters("type"),
            printer_columns=(("Type", "type"),),
        ),
        ResourceType(
            group="",
            version="v1",
            kind="ServiceAccount",
            plural="serviceaccounts",
            short_names=("sa",),
        ),
        ResourceType(
            group="",
            version="v1",
            kind="Service",
            plural="services",
            short_names=("svc",),
            categories=("all",),
            defaulter=defaulting.default_service,
            name_validator=naming.name_is_dns1035_label,
            status_subresource=True,
            allow_create_on_update=True,
            patch_meta=strategic.SERVICE,
            printer_columns=(("Type", "spec.type"),),
        ),
        ResourceType(
            group="",
            version="v1",
            kind="Pod",
            plural="pods",
            short_names=("po",),
            categories=("all",),
            status_subresource=True,
            patch_meta=strategic.POD,
            extra_fields=field_getters(
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.nominatedNodeName",
            ),
            printer_columns=(("Status", "status.phase"),),
        ),
        ResourceType(
            group="apps",
            version="v1",
            kind="Deployment",
            plural="deployments",
            short_names=("deploy",),
            categories=("all",),
            tracks_generation=True,
            status_subresource=True,
            patch_meta=strategic.WORKLOAD,
        ),
        ResourceType(
            group="apps",
            version="v1",
            kind="StatefulSet",
            plural="statefulsets",
            short_names=("sts",),
            categories=("all",),
            tracks_generation=True,
            status_subresource=True,
            patch_meta=strategic.WORKLOAD,
        ),
        ResourceType(
            group="rbac.authorization.k8s.io",
            version="v1",
            kind="Role",
            plural="roles",
            name_validator=naming.name_is_path_segment,
        ),
        ResourceType(
            group="rbac.authorization.k8s.io",
            version="v1",
            kind="RoleBinding",
            plural="rolebindings",
            name_validator=naming.name_is_path_segment,
        ),
        ResourceType(
            group="rbac.authorization.k8s.io",
            version="v1",
            kind="ClusterRole",
            plural="clusterroles",
            namespaced=False,
            name_validator=naming.name_is_path_segment,
        ),
        ResourceType(
            group="rbac.authorization.k8s.io",
            version="v1",
            kind="ClusterRoleBinding",
            plural="clusterrolebindings",
            namespaced=False,
            name_validator=naming.name_is_path_segment,
        ),
        ResourceType(
            group="authorization.k8s.io",
            version="v1",
            kind="SelfSubjectAccessReview",
            plural="selfsubjectaccessreviews",
            namespaced=False,
            verbs=("create",),
            review=True,
        ),
        ResourceType(
            group="authentication.k8s.io",
            version="v1",
            kind="SelfSubjectReview",
            plural="selfsubjectreviews",
            namespaced=False,
            verbs=("create",),
            review=True,
        ),
        ResourceType(
            group="policy",
            version="v1",
            kind="PodDisruptionBudget",
            plural="poddisruptionbudgets",
            short_names=("pdb",),
            tracks_generation=True,
            status_subresource=True,
        ),
    ]
