"""The host-copy stage (``guardrails.host_copy``) is the one place a host copy is refused: it
checks the scoping invariants on every object, patches and guardrails configured or not, and
returns each refusal as a value with a reason code and a message naming what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

import guardrails
import patches
import translate
from tests.support import strategies
from tests.translate.tables import TARGET, policy

NO_PATCHES = patches.PatchList()
RAILS = guardrails.parse(
    {
        "blockedCIDRs": ["169.254.169.254/32"],
        "hostPeers": {"ingress-nginx": {"namespaceSelector": {"matchLabels": {"team": "ingress"}}}},
    }
)
UNKNOWN_TYPE = {"podSelector": {}, "policyTypes": ["Ingress", "Sideways"]}
"""A policy type no translation rule covers (a newer or a lax virtual API server)."""


def stage(
    virtual: dict[str, Any],
    *operations: dict[str, Any],
    rails: guardrails.Guardrails | None = None,
) -> guardrails.Narrowed | guardrails.Refusal:
    return guardrails.host_copy(
        virtual,  # type: ignore[arg-type]
        target=TARGET,
        patch_list=patches.parse(list(operations)) if operations else NO_PATCHES,
        rails=rails or guardrails.Guardrails(),
    )


@pytest.mark.parametrize(
    "rails",
    [
        pytest.param(None, id="no-guardrails"),
        pytest.param(RAILS, id="guardrails"),
    ],
)
@pytest.mark.parametrize(
    ("virtual", "pointer"),
    [
        pytest.param(policy(UNKNOWN_TYPE), "/spec/policyTypes/1", id="unknown-policy-type"),
        pytest.param(policy(name="Web_Policy"), "/metadata/name", id="invalid-host-name"),
    ],
)
def test_an_out_of_scope_translation_is_refused_without_patches(
    virtual: dict[str, Any], pointer: str, rails: guardrails.Guardrails | None
) -> None:
    """With no patch configured, a copy that breaks the scoping invariants is refused as
    OutOfScope, and the message names the object and the offending field."""
    result = stage(virtual, rails=rails)
    assert isinstance(result, guardrails.Refusal), result
    assert result.code == "OutOfScope"
    assert "NetworkPolicy default/" in result.message
    assert pointer in result.message
    assert str(result) == result.message


@pytest.mark.parametrize(
    ("virtual", "operations", "code", "words"),
    [
        pytest.param(
            policy(),
            [{"op": "test", "path": "/metadata/labels/team", "value": "shop"}],
            "PatchFailed",
            "patch entry 0",
            id="failed-operation",
        ),
        pytest.param(
            policy(),
            [{"op": "remove", "path": "/spec/podSelector/matchLabels"}],
            "PatchOutOfScope",
            "breaks the scoping invariants",
            id="out-of-scope-patch",
        ),
        pytest.param(
            policy({"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}),
            [{"op": "replace", "path": "/spec/ingress/0/ports/0/port", "value": 81}],
            "PatchWidens",
            "widens the policy",
            id="widening-patch",
        ),
    ],
)
def test_each_patch_refusal_has_its_own_code(
    virtual: dict[str, Any], operations: list[dict[str, Any]], code: str, words: str
) -> None:
    """A failing, out-of-scope or widening patch is refused with its own code and the
    patch check's message (object, entry, reason)."""
    result = stage(virtual, *operations)
    assert isinstance(result, guardrails.Refusal), result
    assert result.code == code
    assert "NetworkPolicy default/web" in result.message
    assert words in result.message


def test_an_unknown_host_peer_is_refused_with_its_code() -> None:
    """A reference to a host peer the admin did not approve is a HostPeerRefused refusal."""
    virtual = policy(
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {guardrails.HOST_PEER_LABEL: "x"}}}
                    ]
                }
            ],
        }
    )
    result = stage(virtual, rails=RAILS)
    assert isinstance(result, guardrails.Refusal), result
    assert result.code == "HostPeerRefused"
    assert "NetworkPolicy default/web" in result.message
    assert "spec.ingress[0].from[0]: unknown host peer 'x'" in result.message


def test_every_code_is_produced_by_some_input() -> None:
    """The closed set of codes is exactly what the stage can return (no dead code)."""
    assert set(guardrails.KINDS) == {
        "PatchFailed",
        "PatchOutOfScope",
        "PatchWidens",
        "HostPeerRefused",
        "OutOfScope",
    }


@settings(max_examples=150, deadline=None)
@given(strategies.network_policies(hostile_for=TARGET.vcluster))
def test_valid_policies_pass_the_stage_unchanged(virtual: dict[str, Any]) -> None:
    """Every upstream-valid policy passes the always-on scoping check: without patches or
    guardrails the stage returns exactly the translation."""
    result = stage(virtual)
    assert isinstance(result, guardrails.Narrowed), result
    assert result == guardrails.Narrowed(translate.to_host(virtual, TARGET))  # type: ignore[arg-type]
