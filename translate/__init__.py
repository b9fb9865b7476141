"""Pure translation of virtual NetworkPolicies into host NetworkPolicies (SPEC §3).

No I/O and no asyncio: every function maps JSON-shaped dicts to new dicts and never mutates its
input. The controller (``syncer``) and the offline ``netpol-syncer translate`` command both call
:func:`to_host`, so what the command prints is what the controller writes.
"""

from translate import markers
from translate.naming import (
    host_label_key,
    host_name,
    host_namespace_label_key,
    safe_concat,
    sha256_hex,
)
from translate.owner import is_service_owner_reference, service_owner_reference, with_owner
from translate.ownership import is_owned, virtual_key_of
from translate.policy import key_of, to_host
from translate.scoping import violations
from translate.selectors import merge_selectors, rewrite_selector
from translate.spec import host_peer, host_pod_selector, host_spec
from translate.types import NetworkPolicy, ObjectKey, Target

__all__ = [
    "NetworkPolicy",
    "ObjectKey",
    "Target",
    "host_label_key",
    "host_name",
    "host_namespace_label_key",
    "host_peer",
    "host_pod_selector",
    "host_spec",
    "is_owned",
    "is_service_owner_reference",
    "key_of",
    "markers",
    "merge_selectors",
    "rewrite_selector",
    "safe_concat",
    "service_owner_reference",
    "sha256_hex",
    "to_host",
    "violations",
    "virtual_key_of",
    "with_owner",
]
