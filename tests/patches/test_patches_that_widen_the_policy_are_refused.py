"""Patches can add, never widen (SPEC §4): a patched spec allows nothing the unpatched one does not.

The translated object of :mod:`tests.patches.objects` selects ``app=web`` pods of ``shop``,
isolates both directions, lets ``app=client`` pods of ``shop`` and every pod of namespaces
labelled ``tier=ingress`` in on TCP 8080, and lets the selected pods out to ``10.0.0.0/8``
except ``10.1.0.0/16`` on every port. Each widening below stays inside the scoping invariants,
so only the widening check can catch it.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import patches
import translate
from tests.patches import objects
from tests.support import kube_schema

MB = "vcluster.loft.sh/managed-by"
NS = "vcluster.loft.sh/namespace"
SCOPED = {MB: objects.VC, NS: "shop"}
"""The matchLabels that keep a same-namespace peer inside this vCluster's scope."""


def _peer(**labels: str) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": {**labels, **SCOPED}}}


WIDENING = [
    pytest.param(
        [{"op": "replace", "path": "/spec/egress/0/to/0/ipBlock", "value": None}],
        "/spec/egress/0/to/0/ipBlock is null",
        id="null-ip-block-is-named-not-read-as-any-peer",
    ),
    pytest.param(
        [{"op": "remove", "path": "/spec/ingress/0/from"}],
        "/spec/ingress/0 allows any source",
        id="remove-sources-allows-everyone",
    ),
    pytest.param(
        [{"op": "replace", "path": "/spec/ingress/0/from", "value": []}],
        "/spec/ingress/0 allows any source",
        id="empty-sources-allows-everyone",
    ),
    pytest.param(
        [{"op": "remove", "path": "/spec/ingress/0/ports"}],
        "/spec/ingress/0 allows /spec/ingress/0/from/0 on any port",
        id="remove-ports-allows-every-port",
    ),
    pytest.param(
        [{"op": "replace", "path": "/spec/ingress/0/ports/0/port", "value": 9090}],
        "on TCP 9090",
        id="other-port",
    ),
    pytest.param(
        [{"op": "add", "path": "/spec/ingress/0/ports/0/endPort", "value": 8090}],
        "on TCP 8080-8090",
        id="port-becomes-a-range",
    ),
    pytest.param(
        [{"op": "replace", "path": "/spec/ingress/0/ports/0/protocol", "value": "UDP"}],
        "on UDP 8080",
        id="other-protocol",
    ),
    pytest.param(
        [
            {"op": "remove", "path": "/spec/ingress/0/ports/0/protocol"},
            {"op": "remove", "path": "/spec/ingress/0/ports/0/port"},
        ],
        "on every TCP port",
        id="port-number-dropped",
    ),
    pytest.param(
        [{"op": "replace", "path": "/spec/ingress/0/ports/0/port", "value": "http"}],
        "on TCP port 'http'",
        id="named-port-for-a-number",
    ),
    pytest.param(
        [{"op": "remove", "path": "/spec/ingress/0/from/0/podSelector/matchLabels/app"}],
        "/spec/ingress/0 allows /spec/ingress/0/from/0",
        id="peer-selector-loses-a-label",
    ),
    pytest.param(
        [
            {
                "op": "replace",
                "path": "/spec/ingress/0/from/0/podSelector/matchLabels/app",
                "value": "db",
            }
        ],
        "/spec/ingress/0 allows /spec/ingress/0/from/0",
        id="peer-selector-other-label-value",
    ),
    pytest.param(
        [{"op": "add", "path": "/spec/ingress/0/from/-", "value": _peer()}],
        "/spec/ingress/0 allows /spec/ingress/0/from/2",
        id="add-a-peer-of-this-vcluster",
    ),
    pytest.param(
        [
            {
                "op": "add",
                "path": "/spec/ingress/-",
                "value": {"from": [_peer(app="client")], "ports": [{"port": 22}]},
            }
        ],
        "/spec/ingress/1 allows",
        id="add-a-rule-on-another-port",
    ),
    pytest.param(
        [
            {
                "op": "add",
                "path": "/spec/egress/0/to/-",
                "value": {"ipBlock": {"cidr": "1.2.3.4/32"}},
            }
        ],
        "/spec/egress/0 allows /spec/egress/0/to/1",
        id="add-an-outside-ipblock",
    ),
    pytest.param(
        [{"op": "replace", "path": "/spec/egress/0/to/0/ipBlock/cidr", "value": "0.0.0.0/0"}],
        "/spec/egress/0 allows /spec/egress/0/to/0",
        id="cidr-widened",
    ),
    pytest.param(
        [{"op": "remove", "path": "/spec/egress/0/to/0/ipBlock/except"}],
        "/spec/egress/0 allows /spec/egress/0/to/0",
        id="except-removed",
    ),
    pytest.param(
        [{"op": "replace", "path": "/spec/egress/0/to/0/ipBlock/except/0", "value": "10.1.0.0/17"}],
        "/spec/egress/0 allows /spec/egress/0/to/0",
        id="except-shrunk",
    ),
    pytest.param(
        [{"op": "add", "path": "/spec/egress/0/to/0/ipBlock/cidr", "value": "10.0.0.0/not-a-mask"}],
        "/spec/egress/0/to/0/ipBlock/cidr",
        id="unreadable-cidr",
    ),
    pytest.param(
        [{"op": "move", "from": "/spec/ingress/0/from/1", "path": "/spec/egress/0/to/-"}],
        "/spec/egress/0 allows /spec/egress/0/to/1",
        id="peer-moved-to-the-other-direction",
    ),
    pytest.param(
        [
            {
                "op": "add",
                "path": "/spec/podSelector/matchExpressions",
                "value": [{"key": "track", "operator": "NotIn", "values": ["canary"]}],
            }
        ],
        "/spec/podSelector must select exactly the pods",
        id="narrower-pod-selector-releases-pods",
    ),
    pytest.param(
        [{"op": "add", "path": "/spec/podSelector/matchLabels/tier", "value": "frontend"}],
        "/spec/podSelector must select exactly the pods",
        id="extra-pod-selector-label",
    ),
    pytest.param(
        [{"op": "remove", "path": "/spec/podSelector/matchLabels/app"}],
        "/spec/podSelector must select exactly the pods",
        id="wider-pod-selector",
    ),
    pytest.param(
        [
            {
                "op": "add",
                "path": "/spec/ingress/0/from/0/podSelector/matchExpressions",
                "value": [{"key": "track", "operator": "Sometimes"}],
            }
        ],
        "/spec/ingress/0/from/0/podSelector/matchExpressions/0",
        id="unknown-operator-is-unprovable",
    ),
    pytest.param(
        [{"op": "add", "path": "/spec/ingress/0/ports/0/hostPort", "value": 1}],
        "/spec/ingress/0/ports/0/hostPort",
        id="unknown-port-field",
    ),
    pytest.param(
        [{"op": "add", "path": "/spec/extra", "value": {"allow": "all"}}],
        "/spec/extra",
        id="unknown-spec-field",
    ),
]


@pytest.mark.parametrize(("entries", "fragment"), WIDENING)
def test_widening_patches_are_refused(entries: list[dict[str, Any]], fragment: str) -> None:
    """A patch list whose result allows more than the translation is refused, naming why."""
    with pytest.raises(patches.PatchRefused) as raised:
        objects.apply(entries)
    refused = raised.value
    assert refused.reason == "patch_widens"
    assert fragment in refused.detail, refused.detail
    assert refused.entry == len(entries) - 1
    assert refused.operation == entries[-1]
    assert str(refused).startswith(
        f"NetworkPolicy shop/web (host {objects.HOST_NAME}): patch entry {len(entries) - 1} ("
    )
    assert "widens the policy" in str(refused)


DEFAULT_TYPES: dict[str, Any] = {
    **objects.VIRTUAL,
    "spec": {k: v for k, v in objects.VIRTUAL["spec"].items() if k != "policyTypes"},
}
"""The same policy without ``policyTypes``: the API defaults them to Ingress and Egress."""

INGRESS_ONLY: dict[str, Any] = {
    **objects.VIRTUAL,
    "spec": {**objects.VIRTUAL["spec"], "policyTypes": ["Ingress"]},
}
"""The same policy isolating ingress only: its egress rules are ignored, so they allow nothing."""


def _apply_to(virtual: dict[str, Any], entries: list[dict[str, Any]]) -> translate.NetworkPolicy:
    host = translate.to_host(copy.deepcopy(virtual), objects.TARGET)  # type: ignore[arg-type]
    return patches.parse(entries).apply(host, vcluster=objects.VC)


@pytest.mark.parametrize(
    ("virtual", "entries", "fragment"),
    [
        pytest.param(
            DEFAULT_TYPES,
            [{"op": "remove", "path": "/spec/egress"}],
            "Egress",
            id="defaulted-egress-dropped-with-its-rules",
        ),
        pytest.param(
            DEFAULT_TYPES,
            [{"op": "add", "path": "/spec/policyTypes", "value": ["Ingress"]}],
            "Egress",
            id="declared-types-drop-a-default",
        ),
        pytest.param(
            DEFAULT_TYPES,
            [{"op": "add", "path": "/spec/policyTypes", "value": ["Egress"]}],
            "Ingress",
            id="declared-types-drop-ingress",
        ),
        pytest.param(
            INGRESS_ONLY,
            [{"op": "add", "path": "/spec/policyTypes/-", "value": "Egress"}],
            "/spec/egress/0 allows",
            id="isolating-a-direction-must-not-bring-its-ignored-rules",
        ),
    ],
)
def test_effective_policy_types_are_kept(
    virtual: dict[str, Any], entries: list[dict[str, Any]], fragment: str
) -> None:
    """Types count as the API server stores them; none may go, and a new one allows nothing new."""
    with pytest.raises(patches.PatchRefused) as raised:
        _apply_to(virtual, entries)
    assert raised.value.reason == "patch_widens"
    assert fragment in raised.value.detail, raised.value.detail


@pytest.mark.parametrize(
    ("virtual", "entries"),
    [
        pytest.param(
            objects.VIRTUAL,
            [{"op": "remove", "path": "/spec/ingress/0/from/1"}],
            id="remove-a-peer",
        ),
        pytest.param(
            objects.VIRTUAL, [{"op": "remove", "path": "/spec/ingress"}], id="deny-all-in"
        ),
        pytest.param(
            objects.VIRTUAL,
            [
                {
                    "op": "add",
                    "path": "/spec/ingress/0/from/0/podSelector/matchExpressions",
                    "value": [{"key": "track", "operator": "NotIn", "values": ["canary"]}],
                }
            ],
            id="narrower-peer-expression",
        ),
        pytest.param(
            objects.VIRTUAL,
            [
                {
                    "op": "add",
                    "path": "/spec/ingress/0/from/1/podSelector/matchLabels/app",
                    "value": "lb",
                }
            ],
            id="narrower-peer-label",
        ),
        pytest.param(
            objects.VIRTUAL,
            [{"op": "add", "path": "/spec/ingress/0/ports/0/endPort", "value": 8080}],
            id="range-of-one-port",
        ),
        pytest.param(
            objects.VIRTUAL,
            [
                {
                    "op": "add",
                    "path": "/spec/egress/0/ports",
                    "value": [{"port": 443}, {"protocol": "UDP", "port": 53}],
                }
            ],
            id="restrict-egress-ports",
        ),
        pytest.param(
            objects.VIRTUAL,
            [
                {
                    "op": "replace",
                    "path": "/spec/egress/0/to/0/ipBlock",
                    "value": {"cidr": "10.2.0.0/16"},
                }
            ],
            id="smaller-cidr-outside-the-except",
        ),
        pytest.param(
            objects.VIRTUAL,
            [
                {
                    "op": "add",
                    "path": "/spec/egress/0/to/-",
                    "value": {"ipBlock": {"cidr": "10.2.3.4/32"}},
                }
            ],
            id="ipblock-inside-the-cidr",
        ),
        pytest.param(
            objects.VIRTUAL,
            [
                {
                    "op": "add",
                    "path": "/spec/egress/0/to/-",
                    "value": {
                        "ipBlock": {
                            "cidr": "10.0.0.0/15",
                            "except": ["10.1.0.0/17", "10.1.128.0/17"],
                        }
                    },
                }
            ],
            id="except-covered-by-two-smaller-excepts",
        ),
        pytest.param(
            objects.VIRTUAL,
            [{"op": "add", "path": "/spec/egress/0/to/0/ipBlock/except/-", "value": "10.9.0.0/16"}],
            id="larger-except",
        ),
        pytest.param(
            objects.VIRTUAL,
            [
                {
                    "op": "add",
                    "path": "/spec/podSelector/matchExpressions",
                    "value": [{"key": "app", "operator": "In", "values": ["web"]}],
                }
            ],
            id="pod-selector-restated",
        ),
        pytest.param(
            objects.VIRTUAL,
            [
                {"op": "copy", "from": "/spec/ingress/0", "path": "/spec/ingress/-"},
                {"op": "remove", "path": "/spec/ingress/0/from/1"},
                {"op": "remove", "path": "/spec/ingress/1/from/0"},
            ],
            id="rule-split-in-two",
        ),
        pytest.param(
            INGRESS_ONLY,
            [
                {"op": "add", "path": "/spec/policyTypes/-", "value": "Egress"},
                {"op": "remove", "path": "/spec/egress"},
            ],
            id="isolate-egress-with-no-rules",
        ),
        pytest.param(
            DEFAULT_TYPES,
            [{"op": "add", "path": "/spec/policyTypes", "value": ["Egress", "Ingress"]}],
            id="defaults-declared",
        ),
    ],
)
def test_narrowing_patches_are_accepted(
    virtual: dict[str, Any], entries: list[dict[str, Any]]
) -> None:
    """Fewer peers, ports or addresses, more isolation or a restated selector are all allowed."""
    kube_schema.assert_valid(_apply_to(virtual, entries))


@pytest.mark.parametrize(
    ("entries", "blame"),
    [
        pytest.param(
            [
                {"op": "add", "path": "/metadata/labels/team", "value": "a"},
                {"op": "remove", "path": "/spec/ingress/0/from"},
                {"op": "add", "path": "/metadata/labels/tier", "value": "b"},
            ],
            1,
            id="middle-entry",
        ),
        pytest.param(
            [
                {"op": "remove", "path": "/spec/ingress/0/ports"},
                {"op": "add", "path": "/spec/ingress/0/ports", "value": [{"port": 8080}]},
                {"op": "replace", "path": "/spec/egress/0/to/0/ipBlock/cidr", "value": "0.0.0.0/0"},
            ],
            2,
            id="earlier-widening-was-undone",
        ),
        pytest.param(
            [
                {"op": "remove", "path": "/spec/ingress/0/ports"},
                {
                    "op": "add",
                    "path": "/spec/ingress/0/from/0/podSelector/matchLabels/x",
                    "value": "y",
                },
            ],
            0,
            id="first-entry-stays-wider",
        ),
    ],
)
def test_the_entry_that_left_the_policy_wider_is_blamed(
    entries: list[dict[str, Any]], blame: int
) -> None:
    """The refusal names the entry from which the result stayed wider until the end."""
    with pytest.raises(patches.PatchRefused) as raised:
        objects.apply(entries)
    assert raised.value.reason == "patch_widens"
    assert raised.value.entry == blame
    assert raised.value.operation == entries[blame]


def test_metadata_patches_are_free() -> None:
    """Labels and annotations may be added, changed and removed (scoping keys aside)."""
    result = objects.apply(
        [
            {"op": "add", "path": "/metadata/labels/team", "value": "payments"},
            {"op": "remove", "path": "/metadata/labels/app"},
            {"op": "replace", "path": "/metadata/annotations/owner", "value": "platform"},
        ]
    )
    assert result["spec"] == objects.translated()["spec"]
