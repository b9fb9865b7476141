"""Host names and translated label keys: the hashing rules vCluster's pod syncer also uses."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Final

from translate import markers

MAX_NAME_LENGTH = 63

DNS_LABEL_PATTERN: Final = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
"""RFC 1123 label (namespaces, vCluster names, label-key prefixes' parts), unanchored so
larger patterns can embed it; length limits are checked separately."""
DNS_SUBDOMAIN_PATTERN: Final = rf"{DNS_LABEL_PATTERN}(\.{DNS_LABEL_PATTERN})*"
"""RFC 1123 subdomain (object names, label-key prefixes), unanchored."""
DNS_LABEL: Final = re.compile(rf"^{DNS_LABEL_PATTERN}$")
DNS_SUBDOMAIN: Final = re.compile(rf"^{DNS_SUBDOMAIN_PATTERN}$")
_KEEP = 52
_HASH_DIGITS = 10


def sha256_hex(text: str) -> str:
    """Hex SHA-256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode()).hexdigest()


def safe_concat(*parts: str) -> str:
    """Join ``parts`` with ``-``, shortened to 63 characters by a hash suffix when too long.

    Too long: keep the first 52 characters, append ``-`` and 10 hex digits of the SHA-256 of the
    whole joined string, then replace ``.-`` with ``-`` (a ``.`` may not precede ``-`` in a DNS
    label). Short results are returned unchanged, so callers must not assume they are valid.
    """
    joined = "-".join(parts)
    if len(joined) <= MAX_NAME_LENGTH:
        return joined
    return (joined[:_KEEP] + "-" + sha256_hex(joined)[:_HASH_DIGITS]).replace(".-", "-")


def host_name(name: str, virtual_namespace: str, vcluster: str) -> str:
    """Name of the host copy of virtual object ``virtual_namespace/name``."""
    return safe_concat(name, "x", virtual_namespace, "x", vcluster)


@lru_cache(maxsize=4096)
def host_label_key(key: str, vcluster: str) -> str:
    """Host key for a tenant label key: reserved keys are hashed, all others kept.

    Cached because the same few keys recur across thousands of policies.
    """
    if key in markers.RESERVED_LABEL_KEYS:
        return safe_concat(markers.LABEL_PREFIX, vcluster, "x", sha256_hex(key)[:_HASH_DIGITS])
    return key


@lru_cache(maxsize=4096)
def host_namespace_label_key(key: str, vcluster: str) -> str:
    """Host pod label key under which the pod syncer copies virtual namespace label ``key``."""
    return safe_concat(
        markers.NAMESPACE_LABEL_PREFIX, vcluster, "x", sha256_hex(key)[:_HASH_DIGITS]
    )


@lru_cache(maxsize=256)
def translated_reserved_keys(vcluster: str) -> frozenset[str]:
    """The host forms of the reserved keys; a tenant label already in this form is dropped."""
    return frozenset(host_label_key(k, vcluster) for k in markers.RESERVED_LABEL_KEYS)
