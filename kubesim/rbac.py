"""Optional bearer-token authentication and RBAC-shaped authorization.

``KubeSim(rbac=...)`` maps each bearer token to what it may do. Rules have the shape of
``rbac.authorization.k8s.io/v1`` PolicyRules, so a test can feed the rules of a Helm chart's
Role or ClusterRole unchanged and then assert that the controller was never denied
(``api.denied`` records every denial). Accepted values per token:

* a list of rules (cluster-wide, like a ClusterRoleBinding);
* a ``Role``/``ClusterRole`` object, or a list of them (a Role only applies in its namespace);
* a dict ``{"user": ..., "groups": [...], "rules": [...], "namespaces": [...]}``.

Every rule may also carry ``namespaces`` (a kubesim extension standing in for RoleBindings).
Semantics follow ``k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac``: ``*`` wildcards,
``resource/subresource`` and ``*/subresource`` forms, ``resourceNames``, ``nonResourceURLs``
with a trailing ``*``. With RBAC on, a missing or unknown token is 401, except for the public
health and version endpoints; a known token without a matching rule is 403. Authenticated
users may always read discovery, as the default ``system:discovery`` binding allows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubesim.routing import RequestInfo

_PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")
_SELF_REVIEWS = frozenset(
    {"selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"}
)
_SELF_REVIEWS = frozenset(
    {"selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"}
)
_DISCOVERY_PREFIXES = ("/api", "/apis", "/openapi", "/version", "/healthz", "/livez", "/readyz")


@dataclass(frozen=True, slots=True)
class Rule:
    """One PolicyRule; ``namespaces=None`` means cluster-wide."""

    verbs: frozenset[str]
    api_groups: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    resource_names: frozenset[str] = frozenset()
    non_resource_urls: tuple[str, ...] = ()
    namespaces: frozenset[str] | None = None

    @classmethod
    def from_dict(cls, rule: Mapping[str, Any], namespaces: Iterable[str] | None = None) -> Rule:
        """Build from the JSON/YAML shape of a PolicyRule (plus optional ``namespaces``)."""
        own = rule.get("namespaces")
        scope = own if own is not None else namespaces
        return cls(
            verbs=frozenset(rule.get("verbs") or ()),
            api_groups=frozenset(rule.get("apiGroups") or ()),
            resources=frozenset(rule.get("resources") or ()),
            resource_names=frozenset(rule.get("resourceNames") or ()),
            non_resource_urls=tuple(rule.get("nonResourceURLs") or ()),
            namespaces=None if scope is None else frozenset(scope),
        )

    def allows(self, info: RequestInfo) -> bool:
        """Whether this rule grants the request."""
        if "*" not in self.verbs and info.verb not in self.verbs:
            return False
        if not info.is_resource:
            return any(
                url == info.path or (url.endswith("*") and info.path.startswith(url[:-1]))
                for url in self.non_resource_urls
            )
        if self.namespaces is not None and (
            not info.namespace or info.namespace not in self.namespaces
        ):
            return False
        if "*" not in self.api_groups and info.group not in self.api_groups:
            return False
        if not self._resource_matches(info):
            return False
        return not self.resource_names or info.name in self.resource_names

    def _resource_matches(self, info: RequestInfo) -> bool:
        wanted = info.qualified_resource
        for res in self.resources:
            if res in ("*", wanted):
                return True
            if info.subresource and res == f"*/{info.subresource}":
                return True
        return False


@dataclass(frozen=True, slots=True)
class Subject:
    """An authenticated caller: its user name, groups and granted rules."""

    user: str
    groups: tuple[str, ...]
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Denial:
    """One request RBAC refused (kept in ``api.denied`` for assertions)."""

    verb: str
    resource: str
    namespace: str
    name: str
    user: str
    api_group: str = ""
    subresource: str = ""
    path: str = ""


def _rules_from(value: Any, namespaces: Iterable[str] | None = None) -> list[Rule]:
    if isinstance(value, Mapping):
        kind = value.get("kind")
        if kind in {"Role", "ClusterRole"}:
            scope = namespaces
            if kind == "Role":
                ns = (value.get("metadata") or {}).get("namespace")
                scope = [ns] if ns else namespaces
            return [Rule.from_dict(r, scope) for r in value.get("rules") or ()]
        if "verbs" in value:
            return [Rule.from_dict(value, namespaces)]
        scope = value.get("namespaces", namespaces)
        return [r for item in value.get("rules") or () for r in _rules_from(item, scope)]
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [r for item in value for r in _rules_from(item, namespaces)]
    raise TypeError(f"cannot read RBAC rules from {value!r}")


def subject_from(token: str, grant: Any) -> Subject:
    """Interpret one ``rbac`` mapping value (see the module docstring for shapes)."""
    user = token
    groups: tuple[str, ...] = ()
    if isinstance(grant, Mapping) and "kind" not in grant and "verbs" not in grant:
        user = str(grant.get("user") or grant.get("username") or token)
        groups = tuple(grant.get("groups") or ())
    return Subject(user=user, groups=groups, rules=tuple(_rules_from(grant)))


class Authorizer:
    """Token lookup and rule evaluation; disabled (allow everything) when ``rbac`` is None."""

    def __init__(self, rbac: Mapping[str, Any] | None) -> None:
        self.enabled = rbac is not None
        self._subjects = {
            token: subject_from(token, grant) for token, grant in (rbac or {}).items()
        }

    def grant(self, token: str, grant: Any) -> None:
        """Add or replace a token while the server runs."""
        self._subjects[token] = subject_from(token, grant)
        self.enabled = True

    def authenticate(self, authorization: str | None) -> Subject | None:
        """The subject of an ``Authorization: Bearer`` header, or ``None`` if unknown."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        return self._subjects.get(authorization[7:].strip())

    @staticmethod
    def is_public(path: str) -> bool:
        """Endpoints unauthenticated callers may read (``system:public-info-viewer``)."""
        return path.rstrip("/") in _PUBLIC_PATHS

    @staticmethod
    def forbidden_reason(subject: Subject, info: RequestInfo) -> str:
        """The sentence upstream puts after "is forbidden:"."""
        if not info.is_resource:
            return f'User "{subject.user}" cannot {info.verb} path "{info.path}"'
        scope = f'in the namespace "{info.namespace}"' if info.namespace else "at the cluster scope"
        return (
            f'User "{subject.user}" cannot {info.verb} resource "{info.qualified_resource}" '
            f'in API group "{info.group}" {scope}'
        )

    def allows(self, subject: Subject, info: RequestInfo) -> bool:
        """Whether any of the subject's rules grants the request."""
        if (
            not info.is_resource
            and info.verb == "get"
            and info.path.startswith(_DISCOVERY_PREFIXES)
        ):
            return True
        if info.is_resource and info.verb == "create" and info.resource in _SELF_REVIEWS:
            return True  # the system:basic-user binding lets everyone ask about themselves
        return any(rule.allows(info) for rule in subject.rules)
