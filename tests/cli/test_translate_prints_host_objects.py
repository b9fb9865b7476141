"""``netpol-syncer translate`` prints what the controller would write, in input order."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.invoke import EXAMPLE_CONFIG, EXAMPLE_POLICIES, netpol_syncer
from tests.support import kube_schema

TARGET = ("--name", "shop", "--host-namespace", "vc-shop")


def _policy(name: str, namespace: str | None = "shop", **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": {"podSelector": {"matchLabels": {"app": name}}, "policyTypes": ["Ingress"]},
        **extra,
    }


def _docs(*objs: Any) -> str:
    return yaml.safe_dump_all(objs, sort_keys=False)


def _names(stdout: str) -> list[str]:
    return [d["metadata"]["name"] for d in yaml.safe_load_all(stdout) if d]


def test_example_policies_translate_with_the_example_patches() -> None:
    """Every example policy becomes a valid, patched host object, in the order of the input."""
    text = "---\n".join(path.read_text() for path in EXAMPLE_POLICIES)
    done = netpol_syncer(
        "translate", *TARGET, "--config", str(EXAMPLE_CONFIG), "-f", "-", stdin=text
    )
    assert (done.returncode, done.stderr) == (0, "")
    hosts = [d for d in yaml.safe_load_all(done.stdout) if d]
    expected = [yaml.safe_load(p.read_text())["metadata"]["name"] for p in EXAMPLE_POLICIES]
    assert [h["metadata"]["annotations"]["vcluster.loft.sh/object-name"] for h in hosts] == expected
    for host in hosts:
        kube_schema.assert_valid(host)
        assert host["metadata"]["namespace"] == "vc-shop"
        assert host["metadata"]["labels"]["team"] == "shop"
        assert host["metadata"]["labels"]["cost-center"] == "cc-4711"
        assert host["metadata"]["annotations"]["platform.example.com/owner"] == (
            "shop-oncall@example.com"
        )


def test_a_file_and_stdin_give_the_same_output(tmp_path: Path) -> None:
    """``-f FILE`` and ``-f -`` read the same documents and print the same objects."""
    text = _docs(_policy("a"), _policy("b"))
    path = tmp_path / "in.yaml"
    path.write_text(text)
    from_file = netpol_syncer("translate", *TARGET, "-f", str(path))
    from_stdin = netpol_syncer("translate", *TARGET, "-f", "-", stdin=text)
    assert from_file.returncode == from_stdin.returncode == 0
    assert from_file.stdout == from_stdin.stdout
    assert _names(from_file.stdout) == ["a-x-shop-x-shop", "b-x-shop-x-shop"]
    assert from_file.stdout.startswith("---\n")


def test_json_output_is_one_v1_list_in_input_order() -> None:
    """``-o json`` prints exactly {"apiVersion": "v1", "kind": "List", "items": [...]}."""
    done = netpol_syncer(
        "translate", *TARGET, "-o", "json", "-f", "-", stdin=_docs(_policy("b"), _policy("a"))
    )
    assert done.returncode == 0
    body = json.loads(done.stdout)
    assert list(body) == ["apiVersion", "kind", "items"]
    assert (body["apiVersion"], body["kind"]) == ("v1", "List")
    assert [i["metadata"]["name"] for i in body["items"]] == ["b-x-shop-x-shop", "a-x-shop-x-shop"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(json.dumps(_policy("a")), id="json-object"),
        pytest.param(
            json.dumps({"apiVersion": "v1", "kind": "List", "items": [_policy("a")]}),
            id="json-v1-list",
        ),
        pytest.param(
            _docs(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicyList",
                    "metadata": {"resourceVersion": "7"},
                    "items": [_policy("a")],
                }
            ),
            id="yaml-typed-list",
        ),
        pytest.param("---\n" + _docs(_policy("a")) + "---\n", id="yaml-with-empty-documents"),
    ],
)
def test_json_and_list_inputs_are_accepted(text: str) -> None:
    """A JSON object, a v1 List or a typed list are read like YAML documents."""
    done = netpol_syncer("translate", *TARGET, "-f", "-", stdin=text)
    assert (done.returncode, done.stderr) == (0, "")
    assert _names(done.stdout) == ["a-x-shop-x-shop"]


def test_objects_without_a_namespace_get_the_default_one() -> None:
    """``-n`` names the virtual namespace of objects without one; it defaults to ``default``."""
    text = _docs(_policy("a", namespace=None), _policy("b", namespace="shop"))
    default = netpol_syncer("translate", *TARGET, "-f", "-", stdin=text)
    chosen = netpol_syncer("translate", *TARGET, "-n", "billing", "-f", "-", stdin=text)
    assert _names(default.stdout) == ["a-x-default-x-shop", "b-x-shop-x-shop"]
    assert _names(chosen.stdout) == ["a-x-billing-x-shop", "b-x-shop-x-shop"]


def test_objects_that_are_not_network_policies_are_reported_and_skipped() -> None:
    """Other kinds are named on stderr with their document; the valid ones are still printed."""
    text = _docs(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "x"}},
        _policy("a"),
        {**_policy("old"), "apiVersion": "extensions/v1beta1"},
        {"apiVersion": "v1", "kind": "List", "items": [_policy("b"), "oops"]},
        _policy(""),
    )
    done = netpol_syncer("translate", *TARGET, "-f", "-", stdin=text)
    assert done.returncode == 1
    assert _names(done.stdout) == ["a-x-shop-x-shop", "b-x-shop-x-shop"]
    assert done.stderr.splitlines() == [
        "error: document 1: ConfigMap x/cfg is not a NetworkPolicy; skipped",
        "error: document 3: NetworkPolicy shop/old has apiVersion 'extensions/v1beta1'; only"
        " networking.k8s.io/v1 is supported; skipped",
        "error: document 4, items[1]: expected a Kubernetes object, got the string 'oops'; skipped",
        "error: document 5: NetworkPolicy shop/ has no metadata.name; skipped",
        "error: 4 object(s) not translated; 2 printed",
    ]


def test_objects_a_patch_refuses_are_reported_and_skipped(tmp_path: Path) -> None:
    """A patch failing on one object names it and the entry; the other objects are printed."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text(
        textwrap.dedent(
            """\
            sync:
              toHost:
                networkPolicies:
                  patches:
                    - {op: test, path: /spec/podSelector/matchLabels/app, value: web}
                    - {op: add, path: /metadata/labels/tier, value: frontend}
            """
        )
    )
    text = _docs(_policy("web"), _policy("api"))
    done = netpol_syncer("translate", *TARGET, "--config", str(cfg), "-f", "-", stdin=text)
    assert done.returncode == 1
    assert _names(done.stdout) == ["web-x-shop-x-shop"]
    assert done.stderr.splitlines() == [
        "error: document 2: NetworkPolicy shop/api (host api-x-shop-x-shop): patch entry 0"
        " (test /spec/podSelector/matchLabels/app) failed: test failed:"
        " /spec/podSelector/matchLabels/app is 'api', not 'web'",
        "error: 1 object(s) not translated; 1 printed",
    ]


def test_scope_breaking_patches_are_reported_per_object(tmp_path: Path) -> None:
    """A patch that would widen a host copy refuses it, and says which invariant it breaks."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text(
        "sync: {toHost: {networkPolicies: {patches: [{op: remove,"
        " path: /spec/podSelector/matchLabels/vcluster.loft.sh~1managed-by}]}}}\n"
    )
    done = netpol_syncer(
        "translate", *TARGET, "--config", str(cfg), "-f", "-", stdin=_docs(_policy("a"))
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert (
        "patch entry 0 (remove /spec/podSelector/matchLabels/vcluster.loft.sh~1managed-by)"
        " breaks the scoping invariants" in done.stderr
    )


VALID = _docs(_policy("a")) + "---\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            VALID + "kind: NetworkPolicy\nmetadata: [\n",
            r"error: standard input: not valid YAML: line 1\d, column \d+: ",
            id="yaml-after-a-valid-document",
        ),
        pytest.param(
            '{"kind": "NetworkPolicy",',
            r"error: standard input: not valid JSON: line 1, column 26: ",
            id="json",
        ),
        pytest.param(
            VALID + "a: b\n\tc: d\n",
            r"error: standard input: not valid YAML: line 1\d, column \d+: ",
            id="tab",
        ),
    ],
)
def test_unparseable_input_exits_2_and_prints_nothing(text: str, message: str) -> None:
    """Input that does not parse as a whole is an error with its position; nothing is printed."""
    done = netpol_syncer("translate", *TARGET, "-f", "-", stdin=text)
    assert done.returncode == 2
    assert done.stdout == ""
    assert re.match(message, done.stderr), done.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        pytest.param(
            ("--host-namespace", "h", "-f", "-"),
            {},
            "error: --name is required (or set NETPOL_SYNCER_NAME)",
            id="no-name",
        ),
        pytest.param(
            ("--name", "vc", "-f", "-"),
            {"POD_NAMESPACE": "ignored"},
            "error: --host-namespace is required (or set NETPOL_SYNCER_HOST_NAMESPACE)",
            id="no-host-namespace",
        ),
        pytest.param(
            (*TARGET, "-f", "/does/not/exist.yaml"),
            {},
            "error: /does/not/exist.yaml: no such file",
            id="missing-file",
        ),
        pytest.param(
            ("--name", "Bad_Name", "--host-namespace", "h", "-f", "-"),
            {},
            "error: --name: 'Bad_Name' is not a DNS-1123 label",
            id="bad-name",
        ),
        pytest.param(
            (*TARGET, "--config", "/does/not/exist.yaml", "-f", "-"),
            {},
            "error: /does/not/exist.yaml: no such file",
            id="missing-config",
        ),
    ],
)
def test_unusable_arguments_exit_2(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    """Missing or invalid arguments are named on stderr and nothing is translated."""
    done = netpol_syncer("translate", *args, stdin=_docs(_policy("a")), env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(message)


def test_name_and_host_namespace_can_come_from_the_environment() -> None:
    """NETPOL_SYNCER_NAME (or VCLUSTER_NAME) and NETPOL_SYNCER_HOST_NAMESPACE stand in for flags."""
    done = netpol_syncer(
        "translate",
        "-f",
        "-",
        stdin=_docs(_policy("a")),
        env={"VCLUSTER_NAME": "vc9", "NETPOL_SYNCER_HOST_NAMESPACE": "hns"},
    )
    assert done.returncode == 0
    (host,) = yaml.safe_load_all(done.stdout)
    assert (host["metadata"]["name"], host["metadata"]["namespace"]) == ("a-x-shop-x-vc9", "hns")


def test_an_invalid_config_exits_2_with_its_problems(tmp_path: Path) -> None:
    """A config with errors is reported like check-config does, before any input is read."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text("sync: {toHost: {networkPolicies: {patches: [{op: ad, path: /x}]}}}\n")
    done = netpol_syncer(
        "translate", *TARGET, "--config", str(cfg), "-f", "-", stdin=_docs(_policy("a"))
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines()[0] == (
        f"error: {cfg}:1: sync.toHost.networkPolicies.patches[0].op: unknown op 'ad'; expected"
        " one of add, remove, replace, move, copy, test"
    )


def test_a_disabled_config_still_translates_with_a_note(tmp_path: Path) -> None:
    """With enabled: false the objects are still shown, with a note that run would not sync."""
    cfg = tmp_path / "vcluster.yaml"
    cfg.write_text("sync: {toHost: {networkPolicies: {enabled: false}}}\n")
    done = netpol_syncer(
        "translate", *TARGET, "--config", str(cfg), "-f", "-", stdin=_docs(_policy("a"))
    )
    assert done.returncode == 0
    assert _names(done.stdout) == ["a-x-shop-x-shop"]
    assert "enabled is false" in done.stderr


def test_empty_input_prints_nothing_or_an_empty_list() -> None:
    """No documents is not an error: YAML output is empty, JSON output an empty List."""
    as_yaml = netpol_syncer("translate", *TARGET, "-f", "-", stdin="")
    as_json = netpol_syncer("translate", *TARGET, "-o", "json", "-f", "-", stdin="---\n")
    assert (as_yaml.returncode, as_yaml.stdout) == (0, "")
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout) == {"apiVersion": "v1", "kind": "List", "items": []}


def test_an_out_of_scope_copy_is_refused_without_patches() -> None:
    """No config at all: a policy whose copy breaks the scoping invariants (a name that is no
    valid host name, a policy type nothing translates) is reported, not printed; the valid
    ones still are."""
    odd = _policy("api")
    odd["spec"]["policyTypes"] = ["Ingress", "Sideways"]
    text = _docs(_policy("Web_Policy"), odd, _policy("web"))
    done = netpol_syncer("translate", *TARGET, "-f", "-", stdin=text)
    assert done.returncode == 1
    assert _names(done.stdout) == ["web-x-shop-x-shop"]
    errors = done.stderr.splitlines()
    assert errors[0].startswith(
        "error: document 1: NetworkPolicy shop/Web_Policy: its translation is out of scope"
    ), errors
    assert "/metadata/name 'Web_Policy-x-shop-x-shop' is not a valid name" in errors[0]
    assert errors[1].startswith("error: document 2: NetworkPolicy shop/api: its translation is")
    assert "/spec/policyTypes/1 must be Ingress or Egress" in errors[1]
    assert errors[2] == "error: 2 object(s) not translated; 1 printed"
