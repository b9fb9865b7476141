"""Reading rendered chart objects: containers, arguments, rules, the sidecar block."""

from __future__ import annotations

from typing import Any

import yaml

from tests.chart.helm import Release

JsonObject = dict[str, Any]

HARDENED_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""The container securityContext every netpol-syncer container must carry, exactly."""

MINIMAL_RULES_WITHOUT_LEASE_NAME = [
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["networkpolicies"],
        "verbs": ["get", "list", "watch", "create", "update", "delete"],
    },
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
]


def minimal_rules(lease: str, vcluster: str = "shop") -> list[JsonObject]:
    """The whole Role: what the syncer does on the host, nothing more."""
    return [
        *MINIMAL_RULES_WITHOUT_LEASE_NAME,
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [lease],
            "verbs": ["get", "update"],
        },
        {
            "apiGroups": [""],
            "resources": ["services"],
            "resourceNames": [vcluster],
            "verbs": ["list", "watch"],
        },
    ]


def sidecar_block(release: Release) -> JsonObject:
    """The vCluster chart values rendered into ConfigMap <fullname>-sidecar, parsed."""
    configmaps = [c for c in release.all("ConfigMap") if c["metadata"]["name"].endswith("-sidecar")]
    assert len(configmaps) == 1, f"expected one sidecar ConfigMap, found {len(configmaps)}"
    block = yaml.safe_load(configmaps[0]["data"]["vcluster-values.yaml"])
    assert isinstance(block, dict)
    return block


def containers(release: Release) -> list[tuple[str, JsonObject]]:
    """Every netpol-syncer container the release defines: (where, container)."""
    found: list[tuple[str, JsonObject]] = []
    for deployment in release.all("Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            found.append((f"Deployment/{deployment['metadata']['name']}", container))
    if any(c["metadata"]["name"].endswith("-sidecar") for c in release.all("ConfigMap")):
        block = sidecar_block(release)
        for container in block["controlPlane"]["statefulSet"]["sidecarContainers"]:
            found.append(("vCluster sidecar block", container))
    return found


def the_container(release: Release) -> JsonObject:
    found = containers(release)
    assert len(found) == 1, f"expected one netpol-syncer container, found {len(found)}"
    return found[0][1]


def flags(container: JsonObject) -> dict[str, str]:
    """``--flag=value`` arguments after ``run``, as a mapping (bare flags map to "")."""
    args = container["args"]
    assert args[0] == "run", f"the container must run `netpol-syncer run`, args are {args}"
    parsed: dict[str, str] = {}
    for arg in args[1:]:
        name, _, value = arg.partition("=")
        assert name not in parsed, f"{name} given twice"
        parsed[name] = value
    return parsed


def volumes(release: Release) -> list[JsonObject]:
    """The pod volumes the container mounts (Deployment, or the sidecar block's addVolumes)."""
    deployments = release.all("Deployment")
    if deployments:
        return list(deployments[0]["spec"]["template"]["spec"]["volumes"])
    block = sidecar_block(release)
    return list(block["controlPlane"]["statefulSet"]["persistence"]["addVolumes"])
