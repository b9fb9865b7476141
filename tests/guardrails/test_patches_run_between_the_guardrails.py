"""The host-copy stage (``guardrails.host_copy``, what ``run`` and ``translate`` use): host
peers and DNS before the patches, whose checks accept exactly the sanctioned peers; the
blocked-CIDR envelope after them, so no patch can re-open a blocked range."""

from __future__ import annotations

from typing import Any

import guardrails
import patches
import translate
from tests.translate.tables import TARGET, policy

RAILS = guardrails.parse(
    {
        "blockedCIDRs": ["169.254.169.254/32"],
        "hostPeers": {
            "ingress-nginx": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}
            }
        },
    }
)
EVERYWHERE = {"egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}
FROM_INGRESS = {
    "ingress": [
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {guardrails.HOST_PEER_LABEL: "ingress-nginx"}
                    }
                }
            ]
        }
    ]
}


def run(virtual: dict[str, Any], *operations: dict[str, Any]) -> guardrails.Narrowed:
    result = refusal_or_copy(virtual, *operations)
    assert isinstance(result, guardrails.Narrowed), result
    return result


def refusal_or_copy(
    virtual: dict[str, Any], *operations: dict[str, Any]
) -> guardrails.Narrowed | guardrails.Refusal:
    return guardrails.host_copy(
        virtual,  # type: ignore[arg-type]
        target=TARGET,
        patch_list=patches.parse(list(operations)),
        rails=RAILS,
        context=guardrails.Context(),
    )


def test_a_narrowing_patch_cannot_drop_the_envelope() -> None:
    """The patch replaces the whole ipBlock (narrower than 0.0.0.0/0, so the patch checks accept
    it); the envelope runs afterwards and still excepts the blocked address inside it."""
    result = run(
        policy(EVERYWHERE),
        {
            "op": "replace",
            "path": "/spec/egress/0/to/0/ipBlock",
            "value": {"cidr": "169.254.0.0/16"},
        },
    )
    block = result.policy["spec"]["egress"][0]["to"][0]["ipBlock"]  # type: ignore[index]
    assert block == {"cidr": "169.254.0.0/16", "except": ["169.254.169.254/32"]}
    assert result.notes == (
        "egress[0].to[0]: ipBlock 169.254.0.0/16 now excepts 169.254.169.254/32",
    )


def test_patches_work_on_copies_with_a_sanctioned_host_peer() -> None:
    """The scoping check inside the patches accepts the admin's host peer, and the copy keeps it."""
    result = run(
        policy(FROM_INGRESS),
        {"op": "add", "path": "/metadata/labels/team", "value": "shop"},
    )
    assert result.policy["metadata"]["labels"]["team"] == "shop"
    assert result.policy["spec"]["ingress"][0]["from"] == [  # type: ignore[index]
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}
    ]


def test_a_patch_cannot_forge_a_namespace_selector() -> None:
    """Only the sanctioned peers pass: a patch that writes any other namespaceSelector is
    refused as out of scope."""
    refused = refusal_or_copy(
        policy(FROM_INGRESS),
        {
            "op": "replace",
            "path": "/spec/ingress/0/from/0/namespaceSelector",
            "value": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        },
    )
    assert isinstance(refused, guardrails.Refusal)
    assert refused.code in ("PatchOutOfScope", "PatchWidens")


def test_without_guardrails_the_result_is_the_plain_pipeline() -> None:
    virtual = policy(EVERYWHERE)
    plain = guardrails.host_copy(
        virtual,  # type: ignore[arg-type]
        target=TARGET,
        patch_list=patches.PatchList(),
        rails=guardrails.Guardrails(),
        context=guardrails.Context(),
    )
    assert plain == guardrails.Narrowed(translate.to_host(virtual, TARGET))  # type: ignore[arg-type]
