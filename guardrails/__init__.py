"""Admin guardrails around tenant policies (SPEC §9): pure, opt-in, all off by default.

The controller parses the ``guardrails:`` block once (:func:`parse`), then runs every virtual
policy through :func:`host_copy`, the one stage that translates, applies the guardrails and the
patches and decides every :class:`Refusal` (guardrails configured or not); under
``isolation: managed`` it also writes baseline policies (:func:`plan`). Nothing here does I/O;
facts about the running vCluster (its DNS) arrive as values in a :class:`Context`.
"""

from guardrails.applying import Context, apply, before_patches, enclose, sanctioned_peers
from guardrails.config import (
    HOST_PEER_LABEL,
    SUGGESTED_BLOCKED_CIDRS,
    Guardrails,
    GuardrailsError,
    HostPeer,
    from_config,
    parse,
)
from guardrails.dns import DnsFacts, facts_from_service
from guardrails.envelope import ALL_PODS_PEER, Narrowed, any_peer, narrow, narrow_block
from guardrails.host_peers import HostPeerRefused
from guardrails.isolation import (
    BASELINE_ANNOTATION,
    BASELINE_LABEL,
    Baseline,
    baseline,
    complement_of_union,
    covered_by_others,
    exemptions,
    namespace_baselines,
    others_baselines,
    plan,
)
from guardrails.refusals import KINDS, Kind, Refusal
from guardrails.stage import host_copy

__all__ = [
    "ALL_PODS_PEER",
    "BASELINE_ANNOTATION",
    "BASELINE_LABEL",
    "HOST_PEER_LABEL",
    "KINDS",
    "SUGGESTED_BLOCKED_CIDRS",
    "Baseline",
    "Context",
    "DnsFacts",
    "Guardrails",
    "GuardrailsError",
    "HostPeer",
    "HostPeerRefused",
    "Kind",
    "Narrowed",
    "Refusal",
    "any_peer",
    "apply",
    "baseline",
    "before_patches",
    "complement_of_union",
    "covered_by_others",
    "enclose",
    "exemptions",
    "facts_from_service",
    "from_config",
    "host_copy",
    "namespace_baselines",
    "narrow",
    "narrow_block",
    "others_baselines",
    "parse",
    "plan",
    "sanctioned_peers",
]
