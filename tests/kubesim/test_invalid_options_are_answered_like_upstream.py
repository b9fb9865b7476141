"""Bad query options get kube-apiserver's status: 422 on the options kind, or 400 as upstream.

Each expectation was read from a real kube-apiserver 1.37 (tests/conformance).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from kubesim import KubeSim

NP = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"
BODY = {"metadata": {"name": "web"}, "spec": {"podSelector": {}}}


async def _send(api: KubeSim, method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
    body = BODY if method in {"POST", "PUT"} else None
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, api.url + path, params=query, json=body) as resp,
    ):
        return resp.status, await resp.json()


OPTIONS_422 = [
    pytest.param(
        "POST",
        NP,
        {"dryRun": "Bogus"},
        "CreateOptions",
        "dryRun",
        'Unsupported value: ["Bogus"]: supported values: "All"',
        id="create-dry-run",
    ),
    pytest.param(
        "DELETE",
        f"{NP}/web",
        {"dryRun": "Bogus"},
        "DeleteOptions",
        "dryRun",
        'Unsupported value: ["Bogus"]: supported values: "All"',
        id="delete-dry-run",
    ),
    pytest.param(
        "POST",
        NP,
        {"fieldValidation": "Bogus"},
        "CreateOptions",
        "fieldValidation",
        'Unsupported value: "Bogus": supported values: "", "Ignore", "Strict", "Warn"',
        id="field-validation",
    ),
    pytest.param(
        "GET",
        NP,
        {"resourceVersion": "1", "resourceVersionMatch": "Bogus"},
        "ListOptions",
        "resourceVersionMatch",
        'Unsupported value: "Bogus": supported values: "Exact", "NotOlderThan", ""',
        id="resource-version-match",
    ),
    pytest.param(
        "GET",
        NP,
        {"resourceVersionMatch": "NotOlderThan"},
        "ListOptions",
        "resourceVersionMatch",
        "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        id="match-without-version",
    ),
    pytest.param(
        "GET",
        NP,
        {"watch": "true", "sendInitialEvents": "true"},
        "ListOptions",
        "resourceVersionMatch",
        "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        id="initial-events-without-match",
    ),
]


@pytest.mark.parametrize(("method", "path", "query", "kind", "field", "message"), OPTIONS_422)
async def test_invalid_options_are_422_on_the_options_kind(
    api: KubeSim, method: str, path: str, query: dict[str, str], kind: str, field: str, message: str
) -> None:
    """The Status names ``<Kind>Options.meta.k8s.io`` and carries one cause."""
    api.store.create({**BODY, "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy"})
    status, answer = await _send(api, method, path, query)
    assert status == 422
    assert answer["reason"] == "Invalid"
    assert answer["message"] == f'{kind}.meta.k8s.io "" is invalid: {field}: {message}'
    assert answer["details"] == {
        "group": "meta.k8s.io",
        "kind": kind,
        "causes": [
            {"reason": answer["details"]["causes"][0]["reason"], "message": message, "field": field}
        ],
    }


async def test_a_negative_limit_means_no_limit(api: KubeSim) -> None:
    """``limit=-1`` lists everything (200), as upstream."""
    status, answer = await _send(api, "GET", NP, {"limit": "-1"})
    assert status == 200
    assert answer["kind"] == "NetworkPolicyList"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "abc"}, 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ({"timeoutSeconds": "abc"}, 'strconv.ParseInt: parsing "abc": invalid syntax'),
        (
            {"resourceVersion": "abc"},
            'invalid resource version: resourceVersion: Invalid value: "abc": '
            'strconv.ParseUint: parsing "abc": invalid syntax',
        ),
        (
            {"fieldSelector": "spec.podSelector=x"},
            '"spec.podSelector" is not a known field selector: only "metadata.name", '
            '"metadata.namespace"',
        ),
    ],
    ids=["limit", "timeout", "resource-version", "field-selector"],
)
async def test_unparsable_list_options_are_400(
    api: KubeSim, query: dict[str, str], message: str
) -> None:
    """Garbage in a list option is a 400 with Go's parser wording."""
    status, answer = await _send(api, "GET", NP, query)
    assert (status, answer["message"]) == (400, message)


async def test_a_watch_from_an_unparsable_version_is_500(api: KubeSim) -> None:
    """kube-apiserver fails such a watch before streaming, with a bare 500."""
    status, answer = await _send(api, "GET", NP, {"watch": "true", "resourceVersion": "abc"})
    assert status == 500
    assert "reason" not in answer
