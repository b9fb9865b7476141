"""The ``guardrails:`` block: defaults off, typed values, every error naming its path."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

import guardrails


class TestDefaults:
    def test_absent_block_turns_everything_off(self) -> None:
        """No block, or an empty one, changes nothing."""
        for raw in (None, {}):
            config = guardrails.parse(raw)
            assert config == guardrails.Guardrails()
            assert not config.enabled
            assert config.dns == "off"
            assert config.isolation == "off"

    def test_config_file_without_the_block_is_all_off(self) -> None:
        """A vcluster.yaml-shaped file with no top-level guardrails block changes nothing."""
        document = {"sync": {"toHost": {"networkPolicies": {"enabled": True}}}}
        assert guardrails.from_config(document) == guardrails.Guardrails()
        assert guardrails.from_config(None) == guardrails.Guardrails()

    def test_yaml_false_reads_as_off(self) -> None:
        """YAML 1.1 turns a bare ``off`` into false; it still means off."""
        assert guardrails.parse({"dns": False, "isolation": False}) == guardrails.Guardrails()


class TestValues:
    def test_full_block_is_typed(self) -> None:
        """Every setting parses into its typed field; blocked ranges are collapsed."""
        config = guardrails.parse(
            {
                "dns": "auto",
                "blockedCIDRs": [
                    "169.254.169.254/32",
                    "10.0.0.0/8",
                    "10.1.0.0/16",
                    "fd00:ec2::254/128",
                ],
                "hostPeers": {
                    "ingress-nginx": {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                        },
                        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
                    }
                },
                "isolation": "managed",
            }
        )
        assert config.dns == "auto"
        assert config.isolation == "managed"
        assert config.blocked_cidrs == (
            ipaddress.ip_network("10.0.0.0/8"),
            ipaddress.ip_network("169.254.169.254/32"),
            ipaddress.ip_network("fd00:ec2::254/128"),
        )
        assert config.host_peers["ingress-nginx"].as_peer() == {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
        }

    def test_public_egress_is_taken_from_vcluster_yaml(self) -> None:
        """``publicEgressFrom: vcluster`` blocks vCluster's excepts and everything outside cidr."""
        vcluster_yaml = {
            "policies": {
                "networkPolicy": {
                    "workload": {
                        "publicEgress": {
                            "enabled": True,
                            "cidr": "0.0.0.0/0",
                            "except": ["100.64.0.0/10", "127.0.0.0/8", "10.0.0.0/8"],
                        }
                    }
                }
            }
        }
        config = guardrails.from_config(
            {**vcluster_yaml, "guardrails": {"publicEgressFrom": "vcluster"}}
        )
        assert [str(n) for n in config.blocked_cidrs] == [
            "10.0.0.0/8",
            "100.64.0.0/10",
            "127.0.0.0/8",
        ]

    def test_public_egress_cidr_narrower_than_everything_blocks_the_rest(self) -> None:
        """A publicEgress cidr of 128.0.0.0/1 blocks 0.0.0.0/1."""
        vcluster_yaml = {
            "policies": {"networkPolicy": {"workload": {"publicEgress": {"cidr": "128.0.0.0/1"}}}}
        }
        config = guardrails.parse({"publicEgressFrom": "vcluster"}, vcluster_yaml)
        assert [str(n) for n in config.blocked_cidrs] == ["0.0.0.0/1"]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        pytest.param(
            {"blockedCIDRs": ["10.0.0.0/8", "1.2.3.4/32", "10.0.0.0/33"]},
            "guardrails.blockedCIDRs[2]: '10.0.0.0/33' is not a CIDR",
            id="cidr-prefix-too-long",
        ),
        pytest.param(
            {"blockedCIDRs": ["10.0.0.1"]},
            "guardrails.blockedCIDRs[0]: '10.0.0.1' is not a CIDR",
            id="address-without-prefix",
        ),
        pytest.param(
            {"blockedCIDRs": "10.0.0.0/8"},
            "guardrails.blockedCIDRs: must be a list of CIDRs, not str",
            id="cidrs-not-a-list",
        ),
        pytest.param({"dns": "on"}, "guardrails.dns: 'on' is not one of off, auto", id="dns"),
        pytest.param(
            {"isolation": "strict"},
            "guardrails.isolation: 'strict' is not one of off, managed",
            id="isolation",
        ),
        pytest.param(
            {"publicEgressFrom": "host"},
            "guardrails.publicEgressFrom: 'host' is not 'vcluster'",
            id="public-egress-source",
        ),
        pytest.param(
            {"publicEgressFrom": "vcluster"},
            "guardrails.publicEgressFrom: vcluster config has no "
            "policies.networkPolicy.workload.publicEgress",
            id="public-egress-missing",
        ),
        pytest.param(
            {"hostPeers": {"mon": {}}},
            "guardrails.hostPeers.mon: needs a namespaceSelector or a podSelector",
            id="host-peer-empty",
        ),
        pytest.param(
            {"hostPeers": {"mon": {"namespaceSelector": {"matchLabels": {"a": "b c"}}}}},
            "guardrails.hostPeers.mon.namespaceSelector.matchLabels: must map label keys to "
            "label values",
            id="host-peer-bad-label-value",
        ),
        pytest.param(
            {
                "hostPeers": {
                    "mon": {"podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}
                }
            },
            "guardrails.hostPeers.mon.podSelector.matchExpressions[0].values: In needs a "
            "non-empty list",
            id="host-peer-expression-without-values",
        ),
        pytest.param(
            {"hostPeers": {"bad name!": {"podSelector": {}}}},
            "guardrails.hostPeers.bad name!: name must be a non-empty label value",
            id="host-peer-name",
        ),
        pytest.param(
            {"hostPeers": {"mon": {"ipBlock": {"cidr": "1.2.3.0/24"}, "podSelector": {}}}},
            "guardrails.hostPeers.mon.ipBlock: unknown field (namespaceSelector, podSelector)",
            id="host-peer-ipblock",
        ),
        pytest.param(
            {"blockedCidrs": []},
            "guardrails.blockedCidrs: unknown setting (known: dns, blockedCIDRs, "
            "publicEgressFrom, hostPeers, isolation)",
            id="misspelt-key",
        ),
    ],
)
def test_each_error_names_its_path(raw: dict[str, Any], problem: str) -> None:
    """The error lists the problem with the config path of the offending value."""
    with pytest.raises(guardrails.GuardrailsError) as caught:
        guardrails.parse(raw)
    assert problem in caught.value.problems


def test_all_problems_are_reported_at_once() -> None:
    """check-config can print every mistake in one run."""
    with pytest.raises(guardrails.GuardrailsError) as caught:
        guardrails.parse({"dns": "yes", "blockedCIDRs": ["x", "1.2.3.0/24", "y"]})
    assert len(caught.value.problems) == 3


def test_block_must_be_a_mapping() -> None:
    """A list where the block belongs is refused with the block's own path."""
    with pytest.raises(guardrails.GuardrailsError, match=r"^guardrails: must be a mapping"):
        guardrails.parse(["dns"])
