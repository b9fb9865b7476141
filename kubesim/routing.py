"""URL parsing: turn a request path and method into upstream's ``RequestInfo``.

Authorization, fault matching, counters and dispatch all key on the same
``(verb, resource, namespace, name)`` view of a request, computed once here with the rules of
``k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory``: collection GETs are ``list``
(or ``watch`` with ``?watch=true`` or the legacy ``/watch/`` prefix), collection DELETEs are
``deletecollection``, and ``metadata.name=`` field selectors narrow list/watch to a name (so
RBAC ``resourceNames`` work for single-object watches, as upstream).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_METHOD_VERBS = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What a request is about, in Kubernetes authorization terms."""

    path: str
    verb: str
    is_resource: bool = False
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    legacy_watch: bool = False

    @property
    def qualified_resource(self) -> str:
        """``resource`` or ``resource/subresource`` (how RBAC and counters name it)."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in {"true", "1"}


def parse(method: str, path: str, query: Mapping[str, str]) -> RequestInfo:
    """Classify a request; non-API paths come back with ``is_resource=False``."""
    verb = _METHOD_VERBS.get(method.upper(), method.lower())
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] not in {"api", "apis"}:
        return RequestInfo(path=path, verb=verb)
    if parts[0] == "api":
        if len(parts) < 3:
            return RequestInfo(path=path, verb=verb)
        group, version, rest = "", parts[1], parts[2:]
    else:
        if len(parts) < 4:
            return RequestInfo(path=path, verb=verb)
        group, version, rest = parts[1], parts[2], parts[3:]
    legacy_watch = False
    if rest[0] == "watch":
        legacy_watch = True
        verb = "watch"
        rest = rest[1:]
        if not rest:
            return RequestInfo(path=path, verb=verb)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 else ""
    if not name:
        if verb == "get":
            verb = "watch" if _truthy(query.get("watch")) else "list"
        elif verb == "delete":
            verb = "deletecollection"
    if verb in {"list", "watch"} and not name:
        selector = query.get("fieldSelector") or ""
        for term in selector.split(","):
            key, sep, value = term.partition("=")
            if sep and key.strip() == "metadata.name" and not value.startswith("="):
                name = value
    return RequestInfo(
        path=path,
        verb=verb,
        is_resource=True,
        group=group,
        version=version,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
        legacy_watch=legacy_watch,
    )
