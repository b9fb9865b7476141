"""A request body over the API server's limit (3 MiB, kube-apiserver's ``MaxRequestBodyBytes``)
is answered 413 with a ``RequestEntityTooLarge`` Status, as upstream does, not 500."""

from __future__ import annotations

import json

import aiohttp
import pytest

from kubesim import KubeSim
from kubesim.server import MAX_BODY
from kubesim.testing import network_policy

NETPOLS = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"


def _policy_of_size(size: int) -> bytes:
    """A NetworkPolicy whose JSON body is about ``size`` bytes (one ipBlock peer, repeated)."""
    policy = network_policy("big")
    peer = {"ipBlock": {"cidr": "10.0.0.0/8"}}
    count = size // len(json.dumps(peer) + ", ")
    policy["spec"]["ingress"] = [{"from": [peer] * count}]
    return json.dumps(policy).encode()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("POST", NETPOLS, id="create"),
        pytest.param("PUT", f"{NETPOLS}/big", id="update"),
    ],
)
async def test_a_body_over_the_limit_is_413_with_a_status(
    api: KubeSim, method: str, path: str
) -> None:
    """POST or PUT of a 3.1 MiB object: 413, reason RequestEntityTooLarge, the limit named."""
    api.store.create(network_policy("big"))
    body = _policy_of_size(MAX_BODY + 100 * 1024)
    headers = {"Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, api.url + path, data=body, headers=headers) as response,
    ):
        status = await response.json()
    assert response.status == 413
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"Request entity too large: limit is {MAX_BODY}",
        "reason": "RequestEntityTooLarge",
        "code": 413,
    }
    assert api.store.get("networkpolicies", "default", "big")["spec"] == network_policy("big")[
        "spec"
    ] | {"policyTypes": ["Ingress"]}


async def test_a_body_just_under_the_limit_is_served(api: KubeSim) -> None:
    """A create of just under 3 MiB is accepted: the limit is on the body, not lower."""
    body = _policy_of_size(MAX_BODY - 64 * 1024)
    assert len(body) < MAX_BODY
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            api.url + NETPOLS, data=body, headers={"Content-Type": "application/json"}
        ) as response,
    ):
        await response.read()
    assert response.status == 201
