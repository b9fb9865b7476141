"""Upstream validation: ObjectMeta for every kind, NetworkPolicy and Namespace bodies.

Mirrors ``k8s.io/apimachinery/pkg/api/validation`` (ObjectMeta), the label-selector checks of
``metav1/validation`` and ``pkg/apis/networking/validation`` (NetworkPolicy). Every check
returns :class:`~kubesim.errors.FieldError` values with upstream's field paths and wording; the
storage layer turns a non-empty list into ``422 Invalid``. docs/kubesim.md lists the rules.

Validators run after defaulting (protocol, policyTypes), exactly as upstream, so a policy
without ``policyTypes`` is never reported for it.

Longer than kubesim's other modules on purpose: it is one flat table of upstream rules
(ObjectMeta, labels, selectors, CIDRs, ports, Lease), each a small function next to the ones
it shares helpers with; splitting it would scatter those helpers.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kubesim import errors, naming
from kubesim.errors import FieldError

JsonObject = dict[str, Any]

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
_STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


# --- ObjectMeta -------------------------------------------------------------------------------


def validate_labels(labels: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    """Label keys are qualified names, values are label values; errors name the map path."""
    errs: list[FieldError] = []
    if not labels:
        return errs
    for key, value in labels.items():
        key_errors = naming.is_qualified_name(key)
        value_errors = (
            naming.is_valid_label_value(value) if isinstance(value, str) else ["must be a string"]
        )
        if key_errors or value_errors:
            errs += [errors.invalid(path, key, m) for m in key_errors]
            errs += [errors.invalid(path, value, m) for m in value_errors]
    return errs


def validate_annotations(annotations: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    """Annotation keys are case-insensitive qualified names; all together at most 256 KiB."""
    errs: list[FieldError] = []
    total = 0
    for key, value in (annotations or {}).items():
        errs += [errors.invalid(path, key, m) for m in naming.is_qualified_name(key.lower())]
        total += len(key.encode()) + len(str(value).encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(errors.too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def _validate_owner_references(refs: Sequence[Mapping[str, Any]], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    first_controller = ""
    for ref in refs:
        api_version = ref.get("apiVersion", "")
        version = api_version.rsplit("/", 1)[-1] if api_version else ""
        if not version:
            errs.append(
                errors.invalid(f"{path}.apiVersion", api_version, "version must not be empty")
            )
        if not ref.get("kind"):
            errs.append(
                errors.invalid(f"{path}.kind", ref.get("kind", ""), "kind must not be empty")
            )
        if not ref.get("name"):
            errs.append(
                errors.invalid(f"{path}.name", ref.get("name", ""), "name must not be empty")
            )
        if not ref.get("uid"):
            errs.append(errors.invalid(f"{path}.uid", ref.get("uid", ""), "uid must not be empty"))
        if ref.get("controller"):
            current = f"{ref.get('kind', '')}/{ref.get('name', '')}"
            if first_controller:
                errs.append(
                    errors.invalid(
                        path,
                        list(refs),
                        "Only one reference can have Controller set to true. "
                        f'Found "true" in references for {first_controller} and {current}',
                    )
                )
            else:
                first_controller = current
    return errs


def validate_finalizer_name(name: str, path: str, *, core: bool = False) -> list[FieldError]:
    """A finalizer is a qualified name; core kinds also demand a '/' unless it is standard."""
    errs = [errors.invalid(path, name, m) for m in naming.is_qualified_name(name)]
    if core and not errs and "/" not in name and name not in _STANDARD_FINALIZERS:
        errs.append(
            errors.invalid(
                path, name, "name is neither a standard finalizer name nor is it fully qualified"
            )
        )
    return errs


def _validate_finalizers(finalizers: Sequence[str], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for name in finalizers:
        errs += validate_finalizer_name(name, path)
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errs.append(
            errors.invalid(
                path, list(finalizers), "finalizer orphan and foregroundDeletion cannot be both set"
            )
        )
    return errs


def validate_object_meta(
    meta: Mapping[str, Any],
    *,
    namespaced: bool,
    name_validator: naming.NameValidator,
) -> list[FieldError]:
    """``ValidateObjectMeta``: names, namespace, labels, annotations, owners, finalizers."""
    errs: list[FieldError] = []
    generate_name = meta.get("generateName", "")
    if generate_name:
        errs += [
            errors.invalid("metadata.generateName", generate_name, m)
            for m in name_validator(generate_name, True)
        ]
    name = meta.get("name", "")
    if not name:
        errs.append(errors.required("metadata.name", "name or generateName is required"))
    else:
        errs += [errors.invalid("metadata.name", name, m) for m in name_validator(name, False)]
    namespace = meta.get("namespace", "")
    if namespaced:
        if not namespace:
            errs.append(errors.required("metadata.namespace"))
        else:
            errs += [
                errors.invalid("metadata.namespace", namespace, m)
                for m in naming.name_is_dns_label(namespace, False)
            ]
    elif namespace:
        errs.append(errors.forbidden("metadata.namespace", "not allowed on this type"))
    generation = meta.get("generation", 0)
    if generation < 0:
        errs.append(
            errors.invalid("metadata.generation", generation, "must be greater than or equal to 0")
        )
    errs += validate_labels(meta.get("labels"), "metadata.labels")
    errs += validate_annotations(meta.get("annotations"), "metadata.annotations")
    errs += _validate_owner_references(
        meta.get("ownerReferences") or [], "metadata.ownerReferences"
    )
    errs += _validate_finalizers(meta.get("finalizers") or [], "metadata.finalizers")
    return errs


def validate_object_meta_update(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[FieldError]:
    """``ValidateObjectMetaUpdate``: immutable identity, no new finalizers while deleting."""
    errs: list[FieldError] = []
    if old.get("deletionTimestamp"):
        added = sorted(set(new.get("finalizers") or []) - set(old.get("finalizers") or []))
        if added:
            errs.append(
                errors.forbidden(
                    "metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted, "
                    "found new finalizers " + errors.go_repr(added),
                )
            )
    if new.get("generation", 0) < old.get("generation", 0):
        errs.append(
            errors.invalid(
                "metadata.generation", new.get("generation", 0), "must not be decremented"
            )
        )
    for key in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp"):
        if new.get(key) != old.get(key):
            errs.append(errors.invalid(f"metadata.{key}", new.get(key), "field is immutable"))
    errs += validate_labels(new.get("labels"), "metadata.labels")
    errs += validate_annotations(new.get("annotations"), "metadata.annotations")
    errs += _validate_owner_references(new.get("ownerReferences") or [], "metadata.ownerReferences")
    errs += _validate_finalizers(new.get("finalizers") or [], "metadata.finalizers")
    return errs


# --- label selectors --------------------------------------------------------------------------


def validate_label_selector(selector: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    """``metav1validation.ValidateLabelSelector``: keys, values and operator/values pairing."""
    if selector is None:
        return []
    errs = validate_labels(selector.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        epath = f"{path}.matchExpressions[{i}]"
        operator = expr.get("operator", "")
        values = expr.get("values") or []
        if operator in {"In", "NotIn"}:
            if not values:
                errs.append(
                    errors.required(
                        f"{epath}.values", "must be specified when `operator` is 'In' or 'NotIn'"
                    )
                )
        elif operator in {"Exists", "DoesNotExist"}:
            if values:
                errs.append(
                    errors.forbidden(
                        f"{epath}.values",
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            errs.append(
                errors.invalid(f"{epath}.operator", operator, "not a valid selector operator")
            )
        key = expr.get("key", "")
        errs += [errors.invalid(f"{epath}.key", key, m) for m in naming.is_qualified_name(key)]
        for j, value in enumerate(values):
            errs += [
                errors.invalid(f"{epath}.values[{j}]", value, m)
                for m in naming.is_valid_label_value(value)
            ]
    return errs


# --- CIDRs ------------------------------------------------------------------------------------

_CIDR_MESSAGE = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
_DOTTED_QUAD = re.compile(r"^(\d+)\.(\d+)\.(\d+)\.(\d+)$")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8192)
def parse_cidr_sloppy(value: str) -> IPNetwork | None:
    """Parse like Go's ``netutils.ParseCIDRSloppy``: leading zeros tolerated, host bits masked.

    Returns ``None`` for anything Go would reject (no prefix length, a netmask instead of a
    length, zones, garbage). Python's own parser is both stricter (leading zeros) and looser
    (bare addresses, netmasks, scope ids), hence the guards.
    """
    if value.count("/") != 1:
        return None
    addr, _, length = value.partition("/")
    if not length.isdigit() or "%" in addr or not addr:
        return None
    quad = _DOTTED_QUAD.match(addr)
    if quad:
        octets = [int(o) for o in quad.groups()]
        if any(o > 255 for o in octets) or any(len(o) > 3 for o in quad.groups()):
            return None
        addr = ".".join(map(str, octets))
    elif ":" not in addr:
        return None
    try:
        return ipaddress.ip_network(f"{addr}/{int(length)}", strict=False)
    except ValueError:
        return None


def cidr_warnings(path: str, value: str) -> list[str]:
    """The ``Warning`` headers upstream sends for accepted but non-canonical CIDRs."""
    return [f"{path}: {text}" for text in _cidr_remarks(value)]


@functools.lru_cache(maxsize=8192)
def _cidr_remarks(value: str) -> tuple[str, ...]:
    net = parse_cidr_sloppy(value)
    if net is None:
        return ()
    addr = value.partition("/")[0]
    remarks: list[str] = []
    host = ipaddress.ip_address(_strip_zeros(addr))
    if host != net.network_address:
        single = f"{host}/{net.max_prefixlen}"
        remarks.append(
            f'CIDR value "{value}" is ambiguous in this context (should be "{net}" or "{single}"?)'
        )
    if _DOTTED_QUAD.match(addr) and addr != _strip_zeros(addr):
        remarks.append(
            f'non-standard CIDR value "{value}" will be considered invalid in a future '
            f'Kubernetes release: use "{net}"'
        )
    return tuple(remarks)


def _strip_zeros(addr: str) -> str:
    quad = _DOTTED_QUAD.match(addr)
    return ".".join(str(int(o)) for o in quad.groups()) if quad else addr


def _validate_cidr(path: str, value: str) -> tuple[IPNetwork | None, list[FieldError]]:
    """Syntax as ``ParseCIDRSloppy``, then the strict form 1.37 requires of new values:
    no leading zeros, no host bits (validation ratcheting never applies here, since kubesim
    never stores a value that fails this)."""
    net = parse_cidr_sloppy(value)
    if net is None:
        return None, [errors.invalid(path, value, _CIDR_MESSAGE)]
    addr, _, length = value.partition("/")
    if _strip_zeros(addr) != addr or (length != "0" and length.startswith("0")):
        return net, [errors.invalid(path, value, "must not have leading 0s in IP or prefix length")]
    if ipaddress.ip_address(addr) != net.network_address:
        return net, [errors.invalid(path, value, "must not have bits set beyond the prefix length")]
    return net, []


# --- NetworkPolicy ----------------------------------------------------------------------------

PROTOCOLS = ("TCP", "UDP", "SCTP")
POLICY_TYPES = ("Ingress", "Egress")


def validate_network_policy_port(port: Mapping[str, Any], path: str) -> list[FieldError]:
    """Protocol enum, numeric 1-65535 or IANA_SVC_NAME port, ``endPort`` rules."""
    errs: list[FieldError] = []
    protocol = port.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        errs.append(errors.not_supported(f"{path}.protocol", protocol, PROTOCOLS))
    value = port.get("port")
    end_port = port.get("endPort")
    if value is not None:
        if isinstance(value, int):
            errs += [
                errors.invalid(f"{path}.port", value, m) for m in naming.is_valid_port_num(value)
            ]
            if end_port is not None:
                if end_port < value:
                    errs.append(
                        errors.invalid(
                            f"{path}.endPort", value, "must be greater than or equal to `port`"
                        )
                    )
                errs += [
                    errors.invalid(f"{path}.endPort", end_port, m)
                    for m in naming.is_valid_port_num(end_port)
                ]
        else:
            if end_port is not None:
                errs.append(
                    errors.invalid(
                        f"{path}.endPort",
                        end_port,
                        "may not be specified when `port` is non-numeric",
                    )
                )
            errs += [
                errors.invalid(f"{path}.port", value, m) for m in naming.is_valid_port_name(value)
            ]
    elif end_port is not None:
        errs.append(
            errors.invalid(
                f"{path}.endPort", end_port, "may not be specified when `port` is not specified"
            )
        )
    return errs


def validate_ip_block(block: Mapping[str, Any], path: str) -> list[FieldError]:
    """``cidr`` required and valid; each ``except`` valid and a strict subset of ``cidr``."""
    cidr = block.get("cidr", "")
    if not cidr:
        return [errors.required(f"{path}.cidr")]
    net, errs = _validate_cidr(f"{path}.cidr", cidr)
    if net is None:
        return errs
    for i, exc in enumerate(block.get("except") or []):
        epath = f"{path}.except[{i}]"
        sub, sub_errs = _validate_cidr(epath, exc)
        errs += sub_errs
        if sub is None:
            continue
        inside = sub.version == net.version and sub.network_address in net
        if not inside or net.prefixlen >= sub.prefixlen:
            errs.append(errors.invalid(epath, exc, "must be a strict subset of `cidr`"))
    return errs


def validate_network_policy_peer(peer: Mapping[str, Any], path: str) -> list[FieldError]:
    """At least one of the three peer kinds; ``ipBlock`` never combined with a selector."""
    errs: list[FieldError] = []
    count = 0
    if peer.get("podSelector") is not None:
        count += 1
        errs += validate_label_selector(peer["podSelector"], f"{path}.podSelector")
    if peer.get("namespaceSelector") is not None:
        count += 1
        errs += validate_label_selector(peer["namespaceSelector"], f"{path}.namespaceSelector")
    if peer.get("ipBlock") is not None:
        count += 1
        errs += validate_ip_block(peer["ipBlock"], f"{path}.ipBlock")
    if count == 0:
        errs.append(errors.required(path, "must specify a peer"))
    elif count > 1 and peer.get("ipBlock") is not None:
        errs.append(errors.forbidden(path, "may not specify both ipBlock and another peer"))
    return errs


def validate_network_policy_spec(spec: Mapping[str, Any], path: str = "spec") -> list[FieldError]:
    """``ValidateNetworkPolicySpec``: selectors, rules (ports, peers) and policyTypes."""
    errs = validate_label_selector(spec.get("podSelector") or {}, f"{path}.podSelector")
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            rpath = f"{path}.{direction}[{i}]"
            for j, port in enumerate(rule.get("ports") or []):
                errs += validate_network_policy_port(port, f"{rpath}.ports[{j}]")
            for j, peer in enumerate(rule.get(peers_key) or []):
                errs += validate_network_policy_peer(peer, f"{rpath}.{peers_key}[{j}]")
    policy_types = spec.get("policyTypes") or []
    if len(policy_types) > len(POLICY_TYPES):
        errs.append(
            errors.invalid(
                f"{path}.policyTypes",
                list(policy_types),
                "may not specify more than two policyTypes",
            )
        )
        return errs
    for i, ptype in enumerate(policy_types):
        if ptype not in POLICY_TYPES:
            errs.append(errors.not_supported(f"{path}.policyTypes[{i}]", ptype, POLICY_TYPES))
    return errs


def validate_network_policy(obj: JsonObject, old: JsonObject | None) -> list[FieldError]:
    """Body rules for NetworkPolicy; metadata is validated generically by storage.

    Like upstream's ratcheting, an update keeps accepting label values in selectors that were
    already stored, but kubesim never stores invalid ones, so no special case is needed.
    """
    del old
    return validate_network_policy_spec(obj.get("spec") or {})


def network_policy_warnings(obj: JsonObject) -> list[str]:
    """Non-fatal remarks upstream returns as ``Warning`` headers (non-canonical CIDRs)."""
    warnings: list[str] = []
    spec = obj.get("spec") or {}
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            for j, peer in enumerate(rule.get(peers_key) or []):
                block = peer.get("ipBlock")
                if not block:
                    continue
                path = f"spec.{direction}[{i}].{peers_key}[{j}].ipBlock"
                warnings += cidr_warnings(f"{path}.cidr", block.get("cidr", ""))
                for k, exc in enumerate(block.get("except") or []):
                    warnings += cidr_warnings(f"{path}.except[{k}]", exc)
    return warnings


# --- Namespace --------------------------------------------------------------------------------


def validate_namespace(obj: JsonObject, old: JsonObject | None) -> list[FieldError]:
    """``spec.finalizers`` must be standard or fully qualified names."""
    del old
    errs: list[FieldError] = []
    for name in (obj.get("spec") or {}).get("finalizers") or []:
        errs += validate_finalizer_name(name, "spec.finalizers", core=True)
    return errs


# --- coordination.k8s.io/v1 Lease -------------------------------------------------------------


def validate_lease(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[FieldError]:
    """Lease spec: durations and counters that must be positive (upstream ValidateLeaseSpec)."""
    del old
    spec = obj.get("spec") or {}
    errs: list[FieldError] = []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        errs.append(errors.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if isinstance(transitions, int) and transitions < 0:
        errs.append(
            errors.invalid(
                "spec.leaseTransitions", transitions, "must be greater than or equal to 0"
            )
        )
    return errs
