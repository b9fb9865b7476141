"""SPEC §3 safe_concat and host names: short results unchanged, long ones 52 chars + hash."""

from __future__ import annotations

import pytest

import translate
from tests.translate.tables import HNS, policy, sha10, to_host


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        pytest.param(("a", "b"), "a-b", id="joined-with-dash"),
        pytest.param(("solo",), "solo", id="single-part"),
        pytest.param(("a.", "b"), "a.-b", id="short-result-keeps-dot-dash"),
        pytest.param(("a" * 61, "b"), "a" * 61 + "-b", id="exactly-63-unchanged"),
        pytest.param(
            ("a" * 62, "b"),
            "a" * 52 + "-" + sha10("a" * 62 + "-b"),
            id="64-chars-hashed",
        ),
        pytest.param(
            ("a" * 51 + "." + "b" * 20,),
            "a" * 51 + "-" + sha10("a" * 51 + "." + "b" * 20),
            id="dot-at-cut-becomes-dash",
        ),
        pytest.param(
            ("a.", "b" * 70),
            "a-" + "b" * 49 + "-" + sha10("a.-" + "b" * 70),
            id="dot-dash-inside-prefix-replaced-hash-of-original",
        ),
        pytest.param(
            ("x" * 100, "y" * 100),
            "x" * 52 + "-" + sha10("x" * 100 + "-" + "y" * 100),
            id="very-long",
        ),
    ],
)
def test_safe_concat(parts: tuple[str, ...], expected: str) -> None:
    """safe_concat joins with '-' and, over 63 characters, keeps 52 plus '-' and 10 hash digits."""
    assert translate.safe_concat(*parts) == expected


@pytest.mark.parametrize(
    ("name", "namespace", "vcluster", "expected"),
    [
        pytest.param("web", "default", "vc1", "web-x-default-x-vc1", id="short"),
        pytest.param(
            "allow.dns.v2", "kube-system", "vc1", "allow.dns.v2-x-kube-system-x-vc1", id="dotted"
        ),
        pytest.param("n" * 53, "ns", "vc", "n" * 53 + "-x-ns-x-vc", id="exactly-63"),
        pytest.param(
            "n" * 54, "ns", "vc", "n" * 52 + "-" + sha10("n" * 54 + "-x-ns-x-vc"), id="64-hashed"
        ),
        pytest.param(
            "a" * 51 + ".b" * 10,
            "default",
            "vc1",
            "a" * 51 + "-" + sha10("a" * 51 + ".b" * 10 + "-x-default-x-vc1"),
            id="dotted-cut-after-dot",
        ),
        pytest.param(
            "web",
            "default",
            "v" * 63,
            "web-x-default-x-" + "v" * 36 + "-" + sha10("web-x-default-x-" + "v" * 63),
            id="very-long-vcluster-name",
        ),
        pytest.param(
            "web",
            "n" * 63,
            "vc1",
            "web-x-" + "n" * 46 + "-" + sha10("web-x-" + "n" * 63 + "-x-vc1"),
            id="longest-namespace",
        ),
    ],
)
def test_host_name(name: str, namespace: str, vcluster: str, expected: str) -> None:
    """The host name is safe_concat(name, "x", virtual namespace, "x", VC)."""
    assert translate.host_name(name, namespace, vcluster) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("web", "web-x-default-x-vc1", id="short"),
        pytest.param("p" * 60, "p" * 52 + "-" + sha10("p" * 60 + "-x-default-x-vc1"), id="long"),
        pytest.param(
            "a" * 51 + "." + "b" * 30,
            "a" * 51 + "-" + sha10("a" * 51 + "." + "b" * 30 + "-x-default-x-vc1"),
            id="long-dotted",
        ),
    ],
)
def test_host_object_is_named_and_placed_by_the_rules(name: str, expected: str) -> None:
    """to_host names the copy host_name(...) and puts it in the host namespace."""
    host = to_host(policy(name=name))
    assert host["metadata"]["name"] == expected
    assert host["metadata"]["namespace"] == HNS
    assert host["metadata"]["annotations"]["vcluster.loft.sh/object-host-name"] == expected


def test_long_vcluster_names_still_give_valid_host_objects() -> None:
    """A 63-character VC (the label-value limit) still yields a valid, schema-clean host object."""
    vcluster = "v" * 63
    host = to_host(
        policy(name=".".join(["a" * 63] * 4)[:253], namespace="b" * 63, labels={"release": "r"}),
        translate.Target(vcluster=vcluster, host_namespace=HNS),
    )
    assert len(host["metadata"]["name"]) <= 63
    assert host["metadata"]["labels"]["vcluster.loft.sh/managed-by"] == vcluster
