"""The ``guardrails:`` block of the syncer's config file (SPEC §9), parsed and validated.

Guardrails are the platform admin's envelope around tenant policies. They live in the syncer's
own config file, which a tenant cannot write, and every setting defaults to off so that a
config without the block translates exactly as SPEC §3 says.

Parsing is total: :func:`parse` collects every problem, each naming its path in the config
(``guardrails.blockedCIDRs[2]: '10.0.0.0/33' is not a CIDR``), and raises them together so
``check-config`` can print them all at once.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from translate.types import LabelSelector

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DnsMode = Literal["off", "auto"]
IsolationMode = Literal["off", "managed"]

HOST_PEER_LABEL = "netpol-syncer.io/host-peer"
"""Reserved namespace-selector label a tenant uses to reference an admin-approved host peer."""

SUGGESTED_BLOCKED_CIDRS = ("169.254.169.254/32", "fd00:ec2::254/128", "100.100.100.200/32")
"""Cloud metadata endpoints (AWS/GCP/Azure IPv4, AWS IPv6, Alibaba); suggested in the docs,
never applied implicitly: an admin opts in by listing them."""

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class GuardrailsError(ValueError):
    """The ``guardrails`` block is invalid; ``problems`` lists every error with its path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class HostPeer:
    """An admin-approved host peer: the selectors a tenant reference is replaced by.

    Kept verbatim (the admin writes host-side selectors); at least one of the two is set.
    """

    name: str
    namespace_selector: LabelSelector | None = None
    pod_selector: LabelSelector | None = None

    def as_peer(self) -> dict[str, Any]:
        """The host ``NetworkPolicyPeer`` for this entry (fresh dicts on every call)."""
        peer: dict[str, Any] = {}
        if self.namespace_selector is not None:
            peer["namespaceSelector"] = _copy_selector(self.namespace_selector)
        if self.pod_selector is not None:
            peer["podSelector"] = _copy_selector(self.pod_selector)
        return peer


@dataclass(frozen=True, slots=True)
class Guardrails:
    """Validated guardrails. The default instance changes nothing (every guardrail off)."""

    dns: DnsMode = "off"
    """``auto``: a tenant rule allowing DNS on 53 also allows the vCluster's real DNS endpoint.
    Off by default because it needs the DNS facts of the vCluster (read by the controller)."""
    blocked_cidrs: tuple[Network, ...] = ()
    """Addresses no host copy may allow; empty by default so translation stays SPEC §3."""
    public_egress_from: Literal["vcluster"] | None = None
    """``vcluster``: ``blocked_cidrs`` also holds the complement of vCluster's
    ``policies.networkPolicy.workload.publicEgress`` (its ``except`` entries and everything
    outside its ``cidr``); already merged into ``blocked_cidrs`` by :func:`parse`."""
    host_peers: Mapping[str, HostPeer] = field(default_factory=dict)
    """Admin-named host selectors a tenant may reference; none by default."""
    isolation: IsolationMode = "off"
    """``managed``: the syncer owns the workload isolation (baseline policies)."""

    @property
    def enabled(self) -> bool:
        """True when any guardrail changes host copies."""
        return bool(
            self.dns != "off" or self.blocked_cidrs or self.host_peers or self.isolation != "off"
        )


def parse(raw: object, vcluster_config: Mapping[str, Any] | None = None) -> Guardrails:
    """Validate the ``guardrails`` mapping (``None`` means absent: all off).

    ``vcluster_config`` is the whole vcluster.yaml mapping; it is read only when
    ``publicEgressFrom: vcluster`` asks for it. Raises :class:`GuardrailsError`.
    """
    if raw is None:
        return Guardrails()
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise GuardrailsError([f"guardrails: must be a mapping, not {_kind(raw)}"])
    for key in raw:
        if key not in _KEYS:
            problems.append(f"guardrails.{key}: unknown setting (known: {', '.join(_KEYS)})")
    dns = _choice(raw, "dns", ("off", "auto"), problems)
    isolation = _choice(raw, "isolation", ("off", "managed"), problems)
    blocked = list(_cidrs(raw.get("blockedCIDRs"), "guardrails.blockedCIDRs", problems))
    public_egress_from = raw.get("publicEgressFrom")
    if public_egress_from is not None:
        if public_egress_from != "vcluster":
            problems.append(
                f"guardrails.publicEgressFrom: {public_egress_from!r} is not 'vcluster'"
            )
        else:
            blocked.extend(_public_egress_blocks(vcluster_config, problems))
    peers = _host_peers(raw.get("hostPeers"), problems)
    if problems:
        raise GuardrailsError(problems)
    return Guardrails(
        dns=cast(DnsMode, dns),
        blocked_cidrs=tuple(collapse(blocked)),
        public_egress_from="vcluster" if public_egress_from is not None else None,
        host_peers=peers,
        isolation=cast(IsolationMode, isolation),
    )


def from_config(document: Mapping[str, Any] | None) -> Guardrails:
    """Guardrails from the whole config file (vcluster.yaml-shaped): its top-level
    ``guardrails`` block, with the same document as the source of ``publicEgressFrom``."""
    document = document or {}
    return parse(document.get("guardrails"), document)


_KEYS = ("dns", "blockedCIDRs", "publicEgressFrom", "hostPeers", "isolation")


def collapse(networks: list[Network]) -> list[Network]:
    """Merge overlapping and adjacent networks, IPv4 first; the canonical blocked set."""
    v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    return [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]


def parse_network(text: object) -> Network | None:
    """A CIDR (host bits allowed, as the API server allows them in ipBlocks), else ``None``."""
    if not isinstance(text, str) or "/" not in text:
        return None
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _choice(raw: Mapping[str, Any], key: str, allowed: tuple[str, ...], problems: list[str]) -> str:
    value = raw.get(key, "off")
    if value is False:  # YAML 1.1 reads a bare `off` as false
        return "off"
    if value not in allowed:
        problems.append(f"guardrails.{key}: {value!r} is not one of {', '.join(allowed)}")
        return "off"
    return cast(str, value)


def _cidrs(raw: object, path: str, problems: list[str]) -> Iterator[Network]:
    if raw is None:
        return
    if not isinstance(raw, list):
        problems.append(f"{path}: must be a list of CIDRs, not {_kind(raw)}")
        return
    for i, entry in enumerate(raw):
        network = parse_network(entry)
        if network is None:
            problems.append(f"{path}[{i}]: {entry!r} is not a CIDR")
        else:
            yield network


def _public_egress_blocks(
    vcluster_config: Mapping[str, Any] | None, problems: list[str]
) -> Iterator[Network]:
    """Everything vCluster's ``publicEgress`` does not allow: its excepts, and outside its cidr."""
    path = "policies.networkPolicy.workload.publicEgress"
    node: object = vcluster_config
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping):
        problems.append(f"guardrails.publicEgressFrom: vcluster config has no {path}")
        return
    if node.get("enabled") is False:
        problems.append(f"guardrails.publicEgressFrom: {path}.enabled is false")
        return
    cidr = parse_network(node.get("cidr", "0.0.0.0/0"))
    if cidr is None:
        problems.append(f"{path}.cidr: {node.get('cidr')!r} is not a CIDR")
        return
    yield from _cidrs(node.get("except"), f"{path}.except", problems)
    whole = ipaddress.ip_network("0.0.0.0/0" if cidr.version == 4 else "::/0")
    if cidr != whole:
        yield from whole.address_exclude(cidr)  # type: ignore[arg-type]


def _host_peers(raw: object, problems: list[str]) -> dict[str, HostPeer]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append(f"guardrails.hostPeers: must be a mapping, not {_kind(raw)}")
        return {}
    out: dict[str, HostPeer] = {}
    for name, entry in raw.items():
        path = f"guardrails.hostPeers.{name}"
        if not isinstance(name, str) or not _is_label_value(name) or not name:
            problems.append(f"{path}: name must be a non-empty label value")
            continue
        if not isinstance(entry, Mapping):
            problems.append(f"{path}: must be a mapping, not {_kind(entry)}")
            continue
        for key in entry:
            if key not in ("namespaceSelector", "podSelector"):
                problems.append(f"{path}.{key}: unknown field (namespaceSelector, podSelector)")
        if entry.get("namespaceSelector") is None and entry.get("podSelector") is None:
            problems.append(f"{path}: needs a namespaceSelector or a podSelector")
            continue
        selectors = {
            key: _selector(entry.get(key), f"{path}.{key}", problems)
            for key in ("namespaceSelector", "podSelector")
        }
        out[name] = HostPeer(name, selectors["namespaceSelector"], selectors["podSelector"])
    return out


def _selector(raw: object, path: str, problems: list[str]) -> LabelSelector | None:
    """A ``LabelSelector`` checked the way the API server checks it."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: must be a label selector mapping, not {_kind(raw)}")
        return None
    out: LabelSelector = {}
    for key in raw:
        if key not in ("matchLabels", "matchExpressions"):
            problems.append(f"{path}.{key}: unknown field (matchLabels, matchExpressions)")
    labels = raw.get("matchLabels")
    if labels is not None:
        if not isinstance(labels, Mapping) or not all(
            isinstance(k, str) and k and isinstance(v, str) and _is_label_value(v)
            for k, v in labels.items()
        ):
            problems.append(f"{path}.matchLabels: must map label keys to label values")
        elif labels:
            out["matchLabels"] = dict(labels)
    expressions = raw.get("matchExpressions")
    if expressions is not None:
        if not isinstance(expressions, list):
            problems.append(f"{path}.matchExpressions: must be a list")
        else:
            good = []
            for i, expression in enumerate(expressions):
                where = f"{path}.matchExpressions[{i}]"
                checked = _requirement(expression, where, problems)
                if checked is not None:
                    good.append(checked)
            if good:
                out["matchExpressions"] = good
    return out


def _requirement(raw: object, path: str, problems: list[str]) -> Any:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("key"), str) or not raw["key"]:
        problems.append(f"{path}: needs a key")
        return None
    operator, values = raw.get("operator"), raw.get("values")
    if operator not in _OPERATORS:
        problems.append(f"{path}.operator: {operator!r} is not one of {', '.join(_OPERATORS)}")
        return None
    if operator in ("In", "NotIn"):
        if not isinstance(values, list) or not values:
            problems.append(f"{path}.values: {operator} needs a non-empty list")
            return None
        return {"key": raw["key"], "operator": operator, "values": [str(v) for v in values]}
    if values:
        problems.append(f"{path}.values: {operator} takes no values")
        return None
    return {"key": raw["key"], "operator": operator}


_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _is_label_value(value: str) -> bool:
    return len(value) <= 63 and _LABEL_VALUE.match(value) is not None


def _copy_selector(selector: LabelSelector) -> LabelSelector:
    out: LabelSelector = {}
    if "matchLabels" in selector:
        out["matchLabels"] = dict(selector["matchLabels"])
    if "matchExpressions" in selector:
        out["matchExpressions"] = [
            cast(Any, {**r, **({"values": list(r["values"])} if "values" in r else {})})
            for r in selector["matchExpressions"]
        ]
    return out


def _kind(value: object) -> str:
    return type(value).__name__
