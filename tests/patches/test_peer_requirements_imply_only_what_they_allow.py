"""A patched peer requirement is accepted only when it selects no label value the original
``NotIn`` requirement excluded (SPEC §4: patches can narrow, never widen).

The virtual policy lets ``app=client`` pods whose ``tier`` is not ``db`` in; each patch below
rewrites that one ``tier`` requirement of the host copy's peer.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import patches
import translate
from tests.patches import objects

EXCLUDES_DB = {"key": "tier", "operator": "NotIn", "values": ["db"]}


def _translated() -> tuple[translate.NetworkPolicy, str]:
    """The host copy, and the JSON pointer of its ``tier NotIn [db]`` requirement."""
    virtual: dict[str, Any] = copy.deepcopy(objects.VIRTUAL)
    peer = virtual["spec"]["ingress"][0]["from"][0]["podSelector"]
    peer["matchExpressions"] = [dict(EXCLUDES_DB)]
    host = translate.to_host(virtual, objects.TARGET)  # type: ignore[arg-type]
    expressions = host["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"]
    index = next(i for i, e in enumerate(expressions) if e == EXCLUDES_DB)
    return host, f"/spec/ingress/0/from/0/podSelector/matchExpressions/{index}"


def _apply(requirement: dict[str, Any]) -> translate.NetworkPolicy:
    host, pointer = _translated()
    entries = [{"op": "replace", "path": pointer, "value": requirement}]
    return patches.parse(entries).apply(host, vcluster=objects.VC)


@pytest.mark.parametrize(
    "requirement",
    [
        pytest.param({"key": "tier", "operator": "NotIn", "values": ["cache"]}, id="notin-other"),
        pytest.param({"key": "tier", "operator": "Exists"}, id="exists"),
        pytest.param({"key": "tier", "operator": "In", "values": ["db"]}, id="in-the-excluded"),
    ],
)
def test_requirements_admitting_the_excluded_value_are_refused(requirement: dict[str, Any]) -> None:
    """A requirement a ``tier=db`` pod satisfies would let it in: the patch is refused."""
    with pytest.raises(patches.PatchRefused) as raised:
        _apply(requirement)
    assert raised.value.reason == "patch_widens"
    assert "/spec/ingress/0 allows /spec/ingress/0/from/0" in raised.value.detail


@pytest.mark.parametrize(
    "requirement",
    [
        pytest.param(
            {"key": "tier", "operator": "NotIn", "values": ["db", "cache"]}, id="notin-more"
        ),
        pytest.param({"key": "tier", "operator": "In", "values": ["web"]}, id="in-another"),
        pytest.param({"key": "tier", "operator": "DoesNotExist"}, id="does-not-exist"),
    ],
)
def test_requirements_that_exclude_it_too_are_accepted(requirement: dict[str, Any]) -> None:
    """A requirement no ``tier=db`` pod satisfies only narrows the peer: the patch applies."""
    host = _apply(requirement)
    expressions = host["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"]
    assert requirement in expressions
