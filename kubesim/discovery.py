"""Discovery documents: ``/version``, ``/api``, ``/apis``, group/version resource lists,
aggregated discovery (``apidiscovery.k8s.io/v2``) and a minimal OpenAPI v3.

Real clients decide what they can do from discovery before sending a single resource request:
kubectl maps ``networkpolicy`` to a URL through it, and client-go prefers the aggregated form
(one request for all groups). Everything is derived from the :class:`~kubesim.resources.Registry`
and cached until a kind is registered.

The OpenAPI v3 documents declare, per kind, the POST/PUT/PATCH operations with the
``fieldValidation`` query parameter and the accepted patch media types (what kubectl checks to
decide that the server validates fields itself), and carry the schemas of the typed kinds
(:mod:`kubesim.openapi`) that ``kubectl explain`` prints. ``/openapi/v2`` serves the same
schemas as Swagger 2.0 definitions. Strategic merge patch is not advertised, so ``kubectl
apply`` computes its patch from its compiled-in types, which gives the same result for
built-in kinds.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from kubesim import openapi, patching
from kubesim.resources import Registry, ResourceType

JsonObject = dict[str, Any]

KUBERNETES_MAJOR = "1"
KUBERNETES_MINOR = "37"
GIT_VERSION = f"v{KUBERNETES_MAJOR}.{KUBERNETES_MINOR}.0+kubesim"

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def version_info() -> JsonObject:
    """The ``/version`` document (a 1.37 server, so kubectl 1.37 sees no version skew)."""
    return {
        "major": KUBERNETES_MAJOR,
        "minor": KUBERNETES_MINOR,
        "emulationMajor": KUBERNETES_MAJOR,
        "emulationMinor": KUBERNETES_MINOR,
        "minCompatibilityMajor": KUBERNETES_MAJOR,
        "minCompatibilityMinor": str(int(KUBERNETES_MINOR) - 1),
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.26",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def _verbs(rtype: ResourceType) -> list[str]:
    return sorted(rtype.verbs)


def _resource_entries(rtype: ResourceType) -> list[JsonObject]:
    entry: JsonObject = {
        "name": rtype.plural,
        "singularName": rtype.singular,
        "namespaced": rtype.namespaced,
        "kind": rtype.kind,
        "verbs": _verbs(rtype),
    }
    if rtype.short_names:
        entry["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        entry["categories"] = list(rtype.categories)
    entry["storageVersionHash"] = _hash(f"{rtype.api_version}/{rtype.kind}")[:11]
    entries = [entry]
    if rtype.status_subresource:
        entries.append(
            {
                "name": f"{rtype.plural}/status",
                "singularName": "",
                "namespaced": rtype.namespaced,
                "kind": rtype.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
    return entries


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Discovery:
    """Cached discovery documents for one registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._cache: dict[str, bytes] = {}
        self._cache_version = -1

    def _cached(self, key: str, build: Any) -> bytes:
        if self._cache_version != self.registry.version:
            self._cache.clear()
            self._cache_version = self.registry.version
        data = self._cache.get(key)
        if data is None:
            data = self._cache[key] = json.dumps(build(), separators=(",", ":")).encode()
        return data

    def core_versions(self, server_address: str) -> bytes:
        """``/api``: the legacy group's versions."""
        return self._cached(
            f"api:{server_address}",
            lambda: {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
                ],
            },
        )

    def _group(self, name: str, versions: list[str]) -> JsonObject:
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"name": name, "versions": entries, "preferredVersion": entries[0]}

    def group_list(self) -> bytes:
        """``/apis``: every named group."""

        def build() -> JsonObject:
            groups = [
                self._group(name, list(versions))
                for name, versions in self.registry.groups().items()
                if name
            ]
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

        return self._cached("apis", build)

    def group(self, name: str) -> bytes | None:
        """``/apis/<group>``, or ``None`` if the group is unknown."""
        versions = self.registry.groups().get(name)
        if not name or not versions:
            return None
        return self._cached(
            f"group:{name}",
            lambda: {"kind": "APIGroup", "apiVersion": "v1", **self._group(name, list(versions))},
        )

    def resource_list(self, group: str, version: str) -> bytes | None:
        """``/api/v1`` or ``/apis/<group>/<version>``, or ``None`` if unknown."""
        types = self.registry.groups().get(group, {}).get(version)
        if not types:
            return None
        group_version = f"{group}/{version}" if group else version

        def build() -> JsonObject:
            resources = [e for rtype in types for e in _resource_entries(rtype)]
            return {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": group_version,
                "resources": resources,
            }

        return self._cached(f"resources:{group_version}", build)

    def aggregated(self, legacy: bool) -> bytes:
        """Aggregated discovery for ``/api`` (``legacy``) or ``/apis``."""

        def resource(rtype: ResourceType) -> JsonObject:
            entry: JsonObject = {
                "resource": rtype.plural,
                "responseKind": {
                    "group": rtype.group,
                    "version": rtype.version,
                    "kind": rtype.kind,
                },
                "scope": "Namespaced" if rtype.namespaced else "Cluster",
                "singularResource": rtype.singular,
                "verbs": _verbs(rtype),
            }
            if rtype.short_names:
                entry["shortNames"] = list(rtype.short_names)
            if rtype.categories:
                entry["categories"] = list(rtype.categories)
            if rtype.status_subresource:
                entry["subresources"] = [
                    {
                        "subresource": "status",
                        "responseKind": entry["responseKind"],
                        "verbs": ["get", "patch", "update"],
                    }
                ]
            return entry

        def build() -> JsonObject:
            items = []
            for name, versions in self.registry.groups().items():
                if bool(name) == legacy:
                    continue
                items.append(
                    {
                        "metadata": {"name": name, "creationTimestamp": None},
                        "versions": [
                            {
                                "version": version,
                                "resources": [resource(t) for t in types],
                                "freshness": "Current",
                            }
                            for version, types in versions.items()
                        ],
                    }
                )
            return {
                "kind": "APIGroupDiscoveryList",
                "apiVersion": "apidiscovery.k8s.io/v2",
                "metadata": {},
                "items": items,
            }

        return self._cached(f"aggregated:{legacy}", build)

    # --- OpenAPI v3 ---------------------------------------------------------------------------

    @staticmethod
    def _gv_path(group: str, version: str) -> str:
        return f"apis/{group}/{version}" if group else f"api/{version}"

    def openapi_root(self) -> bytes:
        """``/openapi/v3``: one entry per group/version with a content hash in the URL."""

        def build() -> JsonObject:
            paths: JsonObject = {}
            for group, versions in self.registry.groups().items():
                for version in versions:
                    gv = self._gv_path(group, version)
                    digest = _hash(self.openapi_group_version(gv).decode())[:16].upper()
                    paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest}"}
            return {"paths": paths}

        return self._cached("openapi", build)

    def openapi_v2(self) -> bytes:
        """``/openapi/v2``: Swagger 2.0 definitions of every typed kind."""

        def build() -> JsonObject:
            types = [
                rtype
                for versions in self.registry.groups().values()
                for listed in versions.values()
                for rtype in listed
            ]
            return openapi.swagger(types, GIT_VERSION)

        return self._cached("openapi:v2", build)

    def openapi_group_version(self, gv_path: str) -> bytes:
        """``/openapi/v3/<gv>``: PATCH operations declaring ``fieldValidation`` support."""
        for group, versions in self.registry.groups().items():
            for version, types in versions.items():
                if self._gv_path(group, version) == gv_path:
                    build = functools.partial(_openapi_doc, gv_path, types)
                    return self._cached(f"openapi:{gv_path}", build)
        return b""


def _openapi_doc(gv_path: str, types: list[ResourceType]) -> JsonObject:
    query_params = [
        {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
        for name in ("dryRun", "fieldManager", "fieldValidation")
    ]
    paths: JsonObject = {}
    schemas = openapi.definitions(types, "v3")
    for rtype in types:
        body: JsonObject = {"type": "object"}
        if openapi.typed(rtype):
            name = f"{openapi.package(rtype)}.{rtype.body.go_type}"
            body = {"$ref": f"#/components/schemas/{name}"}
        gvk = {"group": rtype.group, "version": rtype.version, "kind": rtype.kind}
        base = f"/{gv_path}/namespaces/{{namespace}}" if rtype.namespaced else f"/{gv_path}"
        content = {
            media: {"schema": {"type": "object"}}
            for media in (patching.JSON, patching.MERGE, patching.APPLY)
        }
        paths[f"{base}/{rtype.plural}"] = {
            "post": {
                "operationId": f"create{rtype.kind}",
                "parameters": query_params,
                "requestBody": {"content": {"application/json": {"schema": body}}},
                "responses": {"201": {"description": "Created"}},
                "x-kubernetes-action": "post",
                "x-kubernetes-group-version-kind": gvk,
            }
        }
        paths[f"{base}/{rtype.plural}/{{name}}"] = {
            "patch": {
                "operationId": f"patch{rtype.kind}",
                "parameters": [
                    *query_params,
                    {"name": "force", "in": "query", "schema": {"type": "boolean"}},
                ],
                "requestBody": {"content": content},
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
            },
            "put": {
                "operationId": f"replace{rtype.kind}",
                "parameters": query_params,
                "requestBody": {"content": {"application/json": {"schema": body}}},
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "put",
                "x-kubernetes-group-version-kind": gvk,
            },
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    }
