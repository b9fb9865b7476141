"""The chart's ``guardrails`` value reaches the syncer's config file as its top-level block
(SPEC §9), validated by the schema, ``isolation: managed`` included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from syncer.configuration import config
from tests.chart.conftest import Render
from tests.chart.helm import Helm, HelmError
from tests.chart.test_config_map_carries_the_patches import config_text

GUARDRAILS: dict[str, Any] = {
    "dns": "auto",
    "blockedCIDRs": ["169.254.169.254/32", "fd00:ec2::254/128"],
    "hostPeers": {
        "ingress-nginx": {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
        }
    },
    "isolation": "managed",
}


def test_no_guardrails_by_default(render: Render) -> None:
    document = yaml.safe_load(config_text(render()))
    assert set(document) == {"sync"}


def test_guardrails_are_carried_verbatim_and_read_by_the_syncer(
    render: Render, tmp_path: Path
) -> None:
    text = config_text(render({"guardrails": GUARDRAILS, "vcluster": {"corednsEmbedded": True}}))
    assert yaml.safe_load(text)["guardrails"] == GUARDRAILS
    path = tmp_path / "config.yaml"
    path.write_text(text)
    loaded = config.load(path)
    assert loaded.guardrails.dns == "auto"
    assert sorted(loaded.guardrails.host_peers) == ["ingress-nginx"]
    assert len(loaded.guardrails.blocked_cidrs) == 2
    assert loaded.dns_embedded is True
    assert loaded.guardrails.isolation == "managed"
    assert not loaded.warnings


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param({"guardrails": {"dns": "on"}}, "/guardrails/dns", id="dns-mode"),
        pytest.param({"guardrails": {"blockedCIDR": []}}, "blockedCIDR", id="unknown-key"),
        pytest.param({"guardrails": {"isolation": "on"}}, "/guardrails/isolation", id="isolation"),
    ],
)
def test_bad_guardrails_are_refused(
    helm: Helm, kubeconfig: Path, fresh_namespace: Any, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(HelmError) as refused:
        helm.install(
            "shop", namespace=fresh_namespace("rails"), kubeconfig=kubeconfig, values=values
        )
    assert message in refused.value.message
