"""The upstream API server's validation of a NetworkPolicy, for the rules the tests rely on.

``kubernetes-validate`` checks objects against the OpenAPI schema, which knows types and field
names but nothing of label-key syntax, selector operators, port ranges or CIDRs. This module adds
those rules (from ``ValidateNetworkPolicy`` and the label/selector validation it calls), so tests
can say "the generator produces only objects the API accepts" and "a translated object would be
accepted on the host" in one call: :func:`problems` returns an empty list for a valid object.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

Json = Mapping[str, Any]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PROTOCOLS = {"TCP", "UDP", "SCTP"}
_ANNOTATIONS_LIMIT = 256 * 1024


def is_dns_label(value: str) -> bool:
    """RFC 1123 label: lowercase alphanumerics and ``-``, at most 63 characters."""
    return len(value) <= 63 and bool(_DNS_LABEL.match(value))


def is_dns_subdomain(value: str) -> bool:
    """RFC 1123 subdomain: dot-separated labels, at most 253 characters."""
    return len(value) <= 253 and bool(_DNS_SUBDOMAIN.match(value))


def is_qualified_name(value: str) -> bool:
    """A label or annotation key: optional DNS-subdomain prefix and ``/``, then a name ≤ 63."""
    prefix, slash, name = value.rpartition("/")
    if slash and not (prefix and is_dns_subdomain(prefix)):
        return False
    return len(name) <= 63 and bool(_NAME_PART.match(name))


def is_label_value(value: str) -> bool:
    """Empty, or a name part of at most 63 characters."""
    return value == "" or (len(value) <= 63 and bool(_NAME_PART.match(value)))


def is_iana_service_name(value: str) -> bool:
    """A named port: at most 15 characters, a letter somewhere, no ``--``."""
    return (
        len(value) <= 15
        and bool(_IANA_SVC_NAME.match(value))
        and "--" not in value
        and any(c.isalpha() for c in value)
    )


def problems(policy: Json) -> list[str]:
    """Every reason the API server would reject ``policy`` (empty when it is valid)."""
    return list(_policy(policy))


def _policy(policy: Json) -> Iterator[str]:
    meta = policy.get("metadata") or {}
    if not is_dns_subdomain(meta.get("name", "")):
        yield f"metadata.name {meta.get('name')!r} is not a DNS subdomain"
    if not is_dns_label(meta.get("namespace", "")):
        yield f"metadata.namespace {meta.get('namespace')!r} is not a DNS label"
    for key, value in (meta.get("labels") or {}).items():
        if not is_qualified_name(key):
            yield f"metadata.labels key {key!r} is not a qualified name"
        if not is_label_value(value):
            yield f"metadata.labels[{key!r}] value {value!r} is not a label value"
    annotations = meta.get("annotations") or {}
    for key in annotations:
        if not is_qualified_name(key.lower()):
            yield f"metadata.annotations key {key!r} is not a qualified name"
    if sum(len(k) + len(v) for k, v in annotations.items()) > _ANNOTATIONS_LIMIT:
        yield "metadata.annotations exceed 256 KiB"

    spec = policy.get("spec") or {}
    yield from _selector(spec.get("podSelector") or {}, "spec.podSelector")
    for direction, peers_field in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            path = f"spec.{direction}[{i}]"
            for j, port in enumerate(rule.get("ports") or []):
                yield from _port(port, f"{path}.ports[{j}]")
            for j, peer in enumerate(rule.get(peers_field) or []):
                yield from _peer(peer, f"{path}.{peers_field}[{j}]")
    types = spec.get("policyTypes") or []
    if len(types) > 2 or any(t not in ("Ingress", "Egress") for t in types):
        yield f"spec.policyTypes {types!r} must be at most Ingress and Egress"


def _selector(selector: Json, path: str) -> Iterator[str]:
    for key, value in (selector.get("matchLabels") or {}).items():
        if not is_qualified_name(key):
            yield f"{path}.matchLabels key {key!r} is not a qualified name"
        if not is_label_value(value):
            yield f"{path}.matchLabels[{key!r}] value {value!r} is not a label value"
    for i, requirement in enumerate(selector.get("matchExpressions") or []):
        where = f"{path}.matchExpressions[{i}]"
        if not is_qualified_name(requirement.get("key", "")):
            yield f"{where}.key {requirement.get('key')!r} is not a qualified name"
        values = requirement.get("values") or []
        operator = requirement.get("operator")
        if operator in ("In", "NotIn") and not values:
            yield f"{where} {operator} needs values"
        elif operator in ("Exists", "DoesNotExist") and values:
            yield f"{where} {operator} takes no values"
        elif operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            yield f"{where}.operator {operator!r} is unknown"
        for value in values:
            if not is_label_value(value):
                yield f"{where}.values {value!r} is not a label value"


def _port(port: Json, path: str) -> Iterator[str]:
    if port.get("protocol", "TCP") not in _PROTOCOLS:
        yield f"{path}.protocol {port.get('protocol')!r} is not TCP, UDP or SCTP"
    number = port.get("port")
    if isinstance(number, int) and not 1 <= number <= 65535:
        yield f"{path}.port {number} is out of range"
    if isinstance(number, str) and not is_iana_service_name(number):
        yield f"{path}.port {number!r} is not a valid port name"
    if "endPort" in port:
        if not isinstance(number, int):
            yield f"{path}.endPort needs a numeric port"
        elif not number <= port["endPort"] <= 65535:
            yield f"{path}.endPort {port['endPort']} must lie in {number}..65535"


def _peer(peer: Json, path: str) -> Iterator[str]:
    kinds = [k for k in ("podSelector", "namespaceSelector", "ipBlock") if k in peer]
    if not kinds:
        yield f"{path} must specify a peer"
    if "ipBlock" in peer and len(kinds) > 1:
        yield f"{path} may not combine ipBlock with selectors"
    for kind in ("podSelector", "namespaceSelector"):
        if kind in peer:
            yield from _selector(peer[kind], f"{path}.{kind}")
    if "ipBlock" in peer:
        yield from _ip_block(peer["ipBlock"], f"{path}.ipBlock")


def _ip_block(block: Json, path: str) -> Iterator[str]:
    try:
        network = ipaddress.ip_network(block.get("cidr", ""))
    except ValueError:
        yield f"{path}.cidr {block.get('cidr')!r} is not a canonical CIDR"
        return
    for cidr in block.get("except") or []:
        try:
            excluded = ipaddress.ip_network(cidr)
        except ValueError:
            yield f"{path}.except {cidr!r} is not a canonical CIDR"
            continue
        if excluded.version != network.version or not (
            excluded.subnet_of(network) and excluded.prefixlen > network.prefixlen  # type: ignore[arg-type]
        ):
            yield f"{path}.except {cidr!r} must lie strictly inside {network}"
