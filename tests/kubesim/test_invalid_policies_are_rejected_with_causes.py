"""NetworkPolicy validation answers 422 Invalid with upstream's per-field causes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim import ApiError, KubeSim
from kubesim.testing import network_policy

LONG = "x" * 64


def _policy(**spec: Any) -> dict[str, Any]:
    body = network_policy("np")
    body["spec"].update(spec)
    return body


def _port(**port: Any) -> dict[str, Any]:
    return _policy(ingress=[{"ports": [port]}])


def _peer(**peer: Any) -> dict[str, Any]:
    return _policy(ingress=[{"from": [peer]}])


INVALID = [
    pytest.param(
        _peer(ipBlock={"cidr": "10.0.0.1/8"}),
        "spec.ingress[0].from[0].ipBlock.cidr",
        "FieldValueInvalid",
        "must not have bits set beyond the prefix length",
        id="cidr-host-bits-set",
    ),
    pytest.param(
        _peer(ipBlock={"cidr": "10.0.0.0/8", "except": ["010.1.0.0/16"]}),
        "spec.ingress[0].from[0].ipBlock.except[0]",
        "FieldValueInvalid",
        "must not have leading 0s in IP or prefix length",
        id="cidr-leading-zeros",
    ),
    pytest.param(
        network_policy("Bad_Name"),
        "metadata.name",
        "FieldValueInvalid",
        "a lowercase RFC 1123 subdomain",
        id="name-not-dns-subdomain",
    ),
    pytest.param(
        network_policy("np", labels={"bad key!": "v"}),
        "metadata.labels",
        "FieldValueInvalid",
        "name part must consist of alphanumeric characters",
        id="label-key-syntax",
    ),
    pytest.param(
        network_policy("np", labels={"k": LONG}),
        "metadata.labels",
        "FieldValueInvalid",
        "must be no more than 63 characters",
        id="label-value-length",
    ),
    pytest.param(
        network_policy("np", annotations={"a": "x" * (256 * 1024)}),
        "metadata.annotations",
        "FieldValueTooLong",
        "may not be more than 262144 bytes",
        id="annotations-total-size",
    ),
    pytest.param(
        _policy(podSelector={"matchExpressions": [{"key": "a", "operator": "In"}]}),
        "spec.podSelector.matchExpressions[0].values",
        "FieldValueRequired",
        "must be specified when `operator` is 'In' or 'NotIn'",
        id="in-without-values",
    ),
    pytest.param(
        _policy(
            podSelector={"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}
        ),
        "spec.podSelector.matchExpressions[0].values",
        "FieldValueForbidden",
        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        id="exists-with-values",
    ),
    pytest.param(
        _policy(podSelector={"matchExpressions": [{"key": "a", "operator": "Near"}]}),
        "spec.podSelector.matchExpressions[0].operator",
        "FieldValueInvalid",
        "not a valid selector operator",
        id="unknown-operator",
    ),
    pytest.param(
        _peer(ipBlock={"cidr": "10.0.0.0/33"}),
        "spec.ingress[0].from[0].ipBlock.cidr",
        "FieldValueInvalid",
        "must be a valid CIDR value",
        id="cidr-syntax",
    ),
    pytest.param(
        _peer(ipBlock={"cidr": ""}),
        "spec.ingress[0].from[0].ipBlock.cidr",
        "FieldValueRequired",
        "Required value",
        id="cidr-required",
    ),
    pytest.param(
        _peer(ipBlock={"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}),
        "spec.ingress[0].from[0].ipBlock.except[0]",
        "FieldValueInvalid",
        "must be a strict subset of `cidr`",
        id="except-outside-cidr",
    ),
    pytest.param(
        _peer(ipBlock={"cidr": "10.0.0.0/16", "except": ["10.0.0.0/16"]}),
        "spec.ingress[0].from[0].ipBlock.except[0]",
        "FieldValueInvalid",
        "must be a strict subset of `cidr`",
        id="except-equal-to-cidr",
    ),
    pytest.param(
        _peer(ipBlock={"cidr": "10.0.0.0/8", "except": ["fd00::/64"]}),
        "spec.ingress[0].from[0].ipBlock.except[0]",
        "FieldValueInvalid",
        "must be a strict subset of `cidr`",
        id="except-other-family",
    ),
    pytest.param(
        _peer(ipBlock={"cidr": "10.0.0.0/8"}, podSelector={}),
        "spec.ingress[0].from[0]",
        "FieldValueForbidden",
        "may not specify both ipBlock and another peer",
        id="ipblock-with-selector",
    ),
    pytest.param(
        _peer(),
        "spec.ingress[0].from[0]",
        "FieldValueRequired",
        "must specify a peer",
        id="empty-peer",
    ),
    pytest.param(
        _port(port=0),
        "spec.ingress[0].ports[0].port",
        "FieldValueInvalid",
        "must be between 1 and 65535, inclusive",
        id="port-zero",
    ),
    pytest.param(
        _port(port=65536),
        "spec.ingress[0].ports[0].port",
        "FieldValueInvalid",
        "must be between 1 and 65535, inclusive",
        id="port-too-large",
    ),
    pytest.param(
        _port(port="Http"),
        "spec.ingress[0].ports[0].port",
        "FieldValueInvalid",
        "must contain only alpha-numeric characters",
        id="named-port-syntax",
    ),
    pytest.param(
        _port(port="a-very-long-port-name"),
        "spec.ingress[0].ports[0].port",
        "FieldValueInvalid",
        "must be no more than 15 characters",
        id="named-port-length",
    ),
    pytest.param(
        _port(port=100, endPort=90),
        "spec.ingress[0].ports[0].endPort",
        "FieldValueInvalid",
        "must be greater than or equal to `port`",
        id="end-port-below-port",
    ),
    pytest.param(
        _port(port="http", endPort=90),
        "spec.ingress[0].ports[0].endPort",
        "FieldValueInvalid",
        "may not be specified when `port` is non-numeric",
        id="end-port-with-named-port",
    ),
    pytest.param(
        _port(endPort=90),
        "spec.ingress[0].ports[0].endPort",
        "FieldValueInvalid",
        "may not be specified when `port` is not specified",
        id="end-port-without-port",
    ),
    pytest.param(
        _port(port=80, protocol="ICMP"),
        "spec.ingress[0].ports[0].protocol",
        "FieldValueNotSupported",
        'supported values: "TCP", "UDP", "SCTP"',
        id="protocol-enum",
    ),
    pytest.param(
        _policy(policyTypes=["Ingress", "Sideways"]),
        "spec.policyTypes[1]",
        "FieldValueNotSupported",
        'supported values: "Ingress", "Egress"',
        id="policy-type-enum",
    ),
    pytest.param(
        _policy(policyTypes=["Ingress", "Egress", "Ingress"]),
        "spec.policyTypes",
        "FieldValueInvalid",
        "may not specify more than two policyTypes",
        id="too-many-policy-types",
    ),
]


@pytest.mark.parametrize(("body", "field", "reason", "text"), INVALID)
async def test_invalid_policy_is_422_with_the_field_cause(
    net: client.NetworkingV1Api, body: dict[str, Any], field: str, reason: str, text: str
) -> None:
    """The real client gets 422 Invalid and a cause naming the field, reason and message."""
    with pytest.raises(ApiException) as caught:
        await net.create_namespaced_network_policy("default", body)
    assert caught.value.status == 422
    status = json.loads(caught.value.body)
    assert status["reason"] == "Invalid"
    assert status["details"]["kind"] == "NetworkPolicy"
    assert status["details"]["group"] == "networking.k8s.io"
    causes = [c for c in status["details"]["causes"] if c["field"] == field]
    assert causes, status["details"]["causes"]
    assert causes[0]["reason"] == reason
    assert text in causes[0]["message"]
    assert field in status["message"]


VALID = [
    pytest.param(_port(port="http"), id="named-port"),
    pytest.param(_port(port=1000, endPort=2000), id="port-range"),
    pytest.param(_port(protocol="SCTP"), id="protocol-without-port"),
    pytest.param(_peer(ipBlock={"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}), id="except"),
    pytest.param(_peer(ipBlock={"cidr": "fd00::/8", "except": ["fd00:1::/32"]}), id="ipv6"),
    pytest.param(_peer(podSelector={}, namespaceSelector={}), id="pod-and-namespace"),
    pytest.param(_policy(policyTypes=["Egress"]), id="egress-only"),
    pytest.param(network_policy("a.b-c", labels={"example.com/team": "blue_1.x"}), id="labels"),
]


@pytest.mark.parametrize("body", VALID)
async def test_valid_policies_are_accepted(
    net: client.NetworkingV1Api, body: dict[str, Any]
) -> None:
    """Policies that upstream accepts are stored."""
    created = await net.create_namespaced_network_policy("default", body)
    assert created.metadata.uid


async def test_direct_store_raises_the_same_invalid_error(api: KubeSim) -> None:
    """Seeding through ``api.store`` applies the same validation as HTTP."""
    with pytest.raises(ApiError) as caught:
        api.store.create(_port(port=0))
    assert caught.value.code == 422
    assert caught.value.causes[0]["field"] == "spec.ingress[0].ports[0].port"


async def test_updates_are_validated_too(api: KubeSim, net: client.NetworkingV1Api) -> None:
    """An update that breaks a rule is rejected and leaves the stored object unchanged."""
    api.store.create(network_policy("np"))
    with pytest.raises(ApiException) as caught:
        await net.patch_namespaced_network_policy(
            "np",
            "default",
            {"spec": {"policyTypes": ["Nope"]}},
            _content_type="application/merge-patch+json",
        )
    assert caught.value.status == 422
    assert api.store.get("networkpolicies", "default", "np")["spec"]["policyTypes"] == ["Ingress"]
