"""Patches can add, never widen (SPEC §4): a sound check that a patched spec allows no more.

:func:`widenings` compares the patched host object with the unpatched translation and lists
every way the patched one *might* allow traffic the unpatched one does not. It is sound, not
complete: an empty answer is a proof, while anything it cannot prove (an unknown field or
operator, a shape it cannot read) is reported, so a patch is refused rather than trusted.

What "allows no more" means, given that NetworkPolicies add up across policies:

- **Policy types** as the API server stores them (``policyTypes`` absent or empty: ``Ingress``,
  plus ``Egress`` when there are egress rules). Every type of the unpatched spec must stay:
  dropping one un-isolates the selected pods in that direction. Adding one isolates them more,
  but the new direction's rules then join the union of every policy selecting those pods, so
  they must allow nothing: an unpatched direction that is not isolated contributes no rule.
- **The pod selector must select exactly the pods it selected before**, which is stricter than
  "no wider" on purpose: a pod the patched selector stops selecting loses this policy's
  isolation and, when no other policy selects it, becomes open to everything. Equality is
  decided on normalised requirements (``matchLabels`` as ``In`` with one value), each side
  implying every requirement of the other; selectors that are equal only for reasons this
  does not see are refused.
- **Every patched rule is covered by the unpatched rules of its direction**, one (peer, port)
  pair at a time: a rule allows the union of ``peers x ports``, so a pair covered by some
  unpatched rule's peers and ports allows nothing new. A rule with no peers (or no ports)
  stands for every peer (or port) and is covered only by a rule that has none either.
  A selector peer is covered by a peer whose namespace scope is the same or wider and whose
  selectors it implies; an ``ipBlock`` by an ``ipBlock`` whose CIDR contains it and whose
  excepts, inside it, it excludes too; a port by one of the same protocol (default TCP) whose
  number or ``port..endPort`` range contains it, a named port only by the same name.

Pure and typed like the rest of :mod:`patches`; it never raises on a malformed document.

Longer than most modules on purpose: the coverage proof (peers, ipBlocks with excepts,
ports and ranges, policy types) is one argument; each part relies on the ones before it.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias, cast, get_args

from translate.jsondata import escape as _escape
from translate.types import Operator

Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

_OPERATORS: Final[frozenset[str]] = frozenset(get_args(Operator))


class _Unreadable(Exception):
    """A part of a spec this check cannot read, so cannot prove anything about."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path} {why}")
        self.path = path


@dataclass(frozen=True, slots=True)
class _Requirement:
    """One normalised selector requirement; ``values`` is empty for Exists/DoesNotExist."""

    key: str
    operator: Operator
    values: frozenset[str]


_Selector: TypeAlias = frozenset[_Requirement]
"""A label selector as the set of requirements a label set must meet (all of them)."""


@dataclass(frozen=True, slots=True)
class _SelectorPeer:
    """Pods chosen by ``pods``, in the policy's namespace (``namespaces`` None) or in the
    namespaces ``namespaces`` selects."""

    namespaces: _Selector | None
    pods: _Selector


@dataclass(frozen=True, slots=True)
class _BlockPeer:
    """External addresses in ``network`` and outside every ``excepts`` entry."""

    network: Network
    excepts: tuple[Network, ...]


_Peer: TypeAlias = _SelectorPeer | _BlockPeer


@dataclass(frozen=True, slots=True)
class _Port:
    """One ``ports`` entry: every port of ``protocol``, a ``low..high`` range, or a name."""

    protocol: str
    low: int | None = None
    high: int | None = None
    name: str | None = None

    def describe(self) -> str:
        if self.name is not None:
            return f"{self.protocol} port {self.name!r}"
        if self.low is None:
            return f"every {self.protocol} port"
        if self.high == self.low:
            return f"{self.protocol} {self.low}"
        return f"{self.protocol} {self.low}-{self.high}"


@dataclass(frozen=True, slots=True)
class _Rule:
    """A rule; ``None`` peers or ports stand for every peer or every port."""

    peers: tuple[_Peer, ...] | None
    ports: tuple[_Port, ...] | None


_DIRECTIONS: Final = (("Ingress", "ingress", "from"), ("Egress", "egress", "to"))
_SPEC_FIELDS: Final = frozenset({"podSelector", "policyTypes", "ingress", "egress"})
_SELECTOR_FIELDS: Final = frozenset({"matchLabels", "matchExpressions"})
_PEER_FIELDS: Final = frozenset({"podSelector", "namespaceSelector", "ipBlock"})
_PORT_FIELDS: Final = frozenset({"protocol", "port", "endPort"})


def widenings(patched: object, original: Mapping[str, Any]) -> list[str]:
    """Why ``patched`` may allow more than ``original`` (the unpatched translation).

    An empty list proves the patched spec allows nothing the original does not; metadata is
    not looked at. Never raises: what cannot be read is reported as a reason.
    """
    if not isinstance(patched, Mapping):
        return [f"the patched object is {type(patched).__name__}, not a JSON object"]
    after, before = patched.get("spec"), original.get("spec")
    if after == before:
        return []
    if not isinstance(after, Mapping):
        return ["/spec is missing or not an object"]
    if not isinstance(before, Mapping):
        return ["the unpatched object has no readable /spec to compare with"]
    try:
        return list(_widenings(after, before))
    except _Unreadable as exc:
        return [f"{exc}, so it cannot be shown to allow no more than before"]
    except (TypeError, ValueError, AttributeError) as exc:  # a shape the readers missed
        return [f"/spec cannot be read ({type(exc).__name__}: {exc}), so it cannot be checked"]


def _widenings(after: Mapping[str, Any], before: Mapping[str, Any]) -> Iterator[str]:
    for field in after:
        if field not in _SPEC_FIELDS and after[field] != before.get(field):
            raise _Unreadable(f"/spec/{_escape(str(field))}", "is not a NetworkPolicy field")
    if after.get("podSelector") != before.get("podSelector") and not _same_selection(
        after.get("podSelector"), before.get("podSelector")
    ):
        yield (
            "/spec/podSelector must select exactly the pods it selected before (pods it stops"
            " selecting would lose this policy's isolation)"
        )
    new_types = _types(after)
    old_types = _types(before)
    for policy_type, direction, peers_field in _DIRECTIONS:
        if policy_type in old_types and policy_type not in new_types:
            yield (
                f"/spec/policyTypes must keep {policy_type!r} (in effect before the patches;"
                f" without it the selected pods lose {direction} isolation)"
            )
        if policy_type not in new_types:
            continue
        isolated_before = policy_type in old_types
        unchanged = before.get(direction) if isolated_before else None
        covering: list[_Rule] | None = None
        for index, raw in _items(after.get(direction), "/spec", direction):
            if isinstance(unchanged, list) and raw in unchanged:
                continue  # the same rule in the same effective direction allows the same
            rule = _rule(raw, f"/spec/{direction}/{index}", peers_field)
            if covering is None:
                covering = _lenient_rules(before, direction, peers_field) if isolated_before else []
            where = f"/spec/{direction}/{index}"
            gap = _uncovered(rule, covering)
            if gap is not None:
                peer, port = gap
                who = (
                    f"any {'source' if direction == 'ingress' else 'destination'}"
                    if peer is None
                    else f"{where}/{peers_field}/{peer}"
                )
                how = (
                    "any port"
                    if port is None or rule.ports is None
                    else rule.ports[port].describe()
                )
                yield f"{where} allows {who} on {how}, which no unpatched {direction} rule allows"


# -- coverage -----------------------------------------------------------------------------------


def _uncovered(rule: _Rule, covering: list[_Rule]) -> tuple[int | None, int | None] | None:
    """The first (peer index, port index) pair of ``rule`` no covering rule allows, else None.

    ``None`` as an index stands for "every peer" or "every port".
    """
    peers: list[tuple[int | None, _Peer | None]] = (
        [(None, None)] if rule.peers is None else list(enumerate(rule.peers))
    )
    ports: list[tuple[int | None, _Port | None]] = (
        [(None, None)] if rule.ports is None else list(enumerate(rule.ports))
    )
    for peer_index, peer in peers:
        for port_index, port in ports:
            if not any(_covers_peer(c, peer) and _covers_port(c, port) for c in covering):
                return peer_index, port_index
    return None


def _covers_peer(rule: _Rule, peer: _Peer | None) -> bool:
    if rule.peers is None:
        return True
    return peer is not None and any(_peer_within(peer, wider) for wider in rule.peers)


def _covers_port(rule: _Rule, port: _Port | None) -> bool:
    if rule.ports is None:
        return True
    return port is not None and any(_port_within(port, wider) for wider in rule.ports)


def _peer_within(peer: _Peer, wider: _Peer) -> bool:
    if isinstance(peer, _BlockPeer) and isinstance(wider, _BlockPeer):
        return _block_within(peer, wider)
    if isinstance(peer, _SelectorPeer) and isinstance(wider, _SelectorPeer):
        if wider.namespaces is None:
            in_scope = peer.namespaces is None
        else:
            in_scope = peer.namespaces is not None and _implies(peer.namespaces, wider.namespaces)
        return in_scope and _implies(peer.pods, wider.pods)
    return False  # an ipBlock never matches a pod, nor a selector an external address


def _block_within(block: _BlockPeer, wider: _BlockPeer) -> bool:
    """Every address ``block`` allows is in ``wider``'s CIDR and outside its excepts."""
    if block.network.version != wider.network.version:
        return False
    if not block.network.subnet_of(wider.network):  # type: ignore[arg-type]
        return False
    for excluded in wider.excepts:
        if excluded.version != block.network.version or not excluded.overlaps(block.network):
            continue
        # CIDRs nest or are disjoint: the overlap is the smaller of the two.
        overlap = (
            excluded if excluded.subnet_of(block.network) else block.network  # type: ignore[arg-type]
        )
        if not _excluded_by(overlap, block.excepts):
            return False
    return True


def _excluded_by(network: Network, excepts: tuple[Network, ...]) -> bool:
    """``network`` lies entirely inside the union of ``excepts``."""
    remaining: list[Network] = [network]
    for hole in excepts:
        if hole.version != network.version:
            continue
        next_remaining: list[Network] = []
        for piece in remaining:
            if piece.subnet_of(hole):  # type: ignore[arg-type]
                continue
            if hole.subnet_of(piece):  # type: ignore[arg-type]
                next_remaining.extend(piece.address_exclude(hole))  # type: ignore[arg-type]
            else:
                next_remaining.append(piece)
        remaining = next_remaining
        if not remaining:
            return True
    return not remaining


def _port_within(port: _Port, wider: _Port) -> bool:
    if port.protocol != wider.protocol:
        return False
    if wider.name is not None:
        return port.name == wider.name
    if wider.low is None:
        return True
    if port.low is None or port.high is None or wider.high is None:
        return False
    return wider.low <= port.low and port.high <= wider.high


def _implies(narrow: _Selector, wide: _Selector) -> bool:
    """Every label set ``narrow`` selects is selected by ``wide``: each requirement of
    ``wide`` follows from one requirement of ``narrow``."""
    return all(any(_follows(n, w) for n in narrow if n.key == w.key) for w in wide)


def _same_selection(after: object, before: object) -> bool:
    """Both selectors provably select the same label sets (an unreadable one never does)."""
    try:
        new, old = _selector(after, "/spec/podSelector"), _selector(before, "/spec/podSelector")
    except _Unreadable:
        return False
    return _implies(new, old) and _implies(old, new)


def _follows(given: _Requirement, wanted: _Requirement) -> bool:
    """``wanted`` holds for every label value (or absence) that satisfies ``given``."""
    if wanted.operator == "In":
        return given.operator == "In" and given.values <= wanted.values
    if wanted.operator == "NotIn":
        if given.operator == "In":
            return not given.values & wanted.values
        if given.operator == "NotIn":
            return wanted.values <= given.values
        return given.operator == "DoesNotExist"
    if wanted.operator == "Exists":
        return given.operator in ("In", "Exists")
    return given.operator == "DoesNotExist"


# -- reading ------------------------------------------------------------------------------------


def _types(spec: Mapping[str, Any]) -> frozenset[str]:
    """Policy types in effect, with the API server's defaults when none are declared."""
    declared = spec.get("policyTypes")
    if not declared:
        return frozenset({"Ingress", "Egress"} if spec.get("egress") else {"Ingress"})
    if not isinstance(declared, list) or not all(t in ("Ingress", "Egress") for t in declared):
        raise _Unreadable("/spec/policyTypes", "must be a list of Ingress and Egress")
    return frozenset(declared)


def _lenient_rules(spec: Mapping[str, Any], direction: str, peers_field: str) -> list[_Rule]:
    """The original's readable rules; one it cannot read covers nothing, which is safe."""
    rules = spec.get(direction)
    found: list[_Rule] = []
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        try:
            found.append(_rule(rule, f"/spec/{direction}/{index}", peers_field))
        except _Unreadable:
            continue
    return found


def _rule(rule: object, path: str, peers_field: str) -> _Rule:
    fields = _object(rule, path, frozenset({peers_field, "ports"}))
    peers = fields.get(peers_field)
    ports = fields.get("ports")
    return _Rule(
        peers=tuple(
            _peer(p, f"{path}/{peers_field}/{i}") for i, p in _items(peers, path, peers_field)
        )
        or None,
        ports=tuple(_port(p, f"{path}/ports/{i}") for i, p in _items(ports, path, "ports")) or None,
    )


def _items(value: object, path: str, field: str) -> Iterator[tuple[int, object]]:
    if value is None:
        return
    if not isinstance(value, list):
        raise _Unreadable(f"{path}/{field}", "is not a list")
    yield from enumerate(value)


def _peer(peer: object, path: str) -> _Peer:
    if isinstance(peer, Mapping) and peer.get("ipBlock", {}) is None:
        raise _Unreadable(f"{path}/ipBlock", "is null")
    fields = _object(peer, path, _PEER_FIELDS)
    if "ipBlock" in fields:
        if len(fields) > 1:
            raise _Unreadable(path, "combines ipBlock with selectors")
        return _block(fields["ipBlock"], f"{path}/ipBlock")
    namespaces = fields.get("namespaceSelector")
    return _SelectorPeer(
        namespaces=None
        if namespaces is None
        else _selector(namespaces, f"{path}/namespaceSelector"),
        pods=_selector(fields.get("podSelector"), f"{path}/podSelector"),
    )


def _block(block: object, path: str) -> _BlockPeer:
    fields = _object(block, path, frozenset({"cidr", "except"}))
    network = _network(fields.get("cidr"), f"{path}/cidr")
    excepts = tuple(
        _network(e, f"{path}/except/{i}") for i, e in _items(fields.get("except"), path, "except")
    )
    return _BlockPeer(network=network, excepts=excepts)


def _network(value: object, path: str) -> Network:
    if not isinstance(value, str):
        raise _Unreadable(path, "is not a CIDR string")
    network = _parse_network(value)
    if network is None:
        raise _Unreadable(path, f"{value!r} is not a CIDR")
    return network


@functools.lru_cache(maxsize=4096)
def _parse_network(value: str) -> Network | None:
    """Parsing is most of the check's cost, and a cluster's policies repeat a few CIDRs."""
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _port(port: object, path: str) -> _Port:
    fields = _object(port, path, _PORT_FIELDS)
    protocol = fields.get("protocol") or "TCP"
    if not isinstance(protocol, str):
        raise _Unreadable(f"{path}/protocol", "is not a string")
    number, end = fields.get("port"), fields.get("endPort")
    if number is None:
        return _Port(protocol)
    if isinstance(number, str):
        return _Port(protocol, name=number)
    if not _is_int(number) or not (end is None or _is_int(end)):
        raise _Unreadable(path, "has a port or endPort that is not a number or a name")
    return _Port(protocol, low=number, high=number if end is None else end)


def _selector(selector: object, path: str) -> _Selector:
    """Normalised requirements; absent (None) is the empty selector, which selects all."""
    if selector is None:
        return frozenset()
    fields = _object(selector, path, _SELECTOR_FIELDS)
    found: set[_Requirement] = set()
    labels = fields.get("matchLabels") or {}
    if not isinstance(labels, Mapping):
        raise _Unreadable(f"{path}/matchLabels", "is not an object")
    for key, value in labels.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise _Unreadable(f"{path}/matchLabels", "has a key or value that is not a string")
        found.add(_Requirement(key, "In", frozenset({value})))
    for index, expression in _items(fields.get("matchExpressions"), path, "matchExpressions"):
        requirement = _requirement(expression, f"{path}/matchExpressions/{index}")
        if requirement is not None:
            found.add(requirement)
    return frozenset(found)


def _requirement(expression: object, path: str) -> _Requirement | None:
    """One expression, or None for ``NotIn`` with no values (which every label set meets)."""
    fields = _object(expression, path, frozenset({"key", "operator", "values"}))
    key, raw, values = fields.get("key"), fields.get("operator"), fields.get("values")
    if not isinstance(key, str) or not isinstance(raw, str) or raw not in _OPERATORS:
        raise _Unreadable(path, "needs a string key and one of In, NotIn, Exists, DoesNotExist")
    operator = cast(Operator, raw)
    if operator in ("Exists", "DoesNotExist"):
        return _Requirement(key, operator, frozenset())
    values = values or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _Unreadable(f"{path}/values", "is not a list of strings")
    if operator == "NotIn" and not values:
        return None
    return _Requirement(key, operator, frozenset(values))


def _object(value: object, path: str, fields: frozenset[str]) -> Mapping[str, Any]:
    """``value`` as a JSON object of known ``fields``; null members count as absent."""
    if type(value) is not dict and not isinstance(value, Mapping):  # dict first: ABCs are slow
        raise _Unreadable(path, "is not an object")
    for key in value:
        if key not in fields:
            raise _Unreadable(f"{path}/{_escape(str(key))}", "is not a field this check knows")
    return {k: v for k, v in value.items() if v is not None}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
