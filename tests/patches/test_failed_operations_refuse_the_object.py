"""An operation that does not fit one object refuses that object, naming entry, object, reason."""

from __future__ import annotations

from typing import Any

import pytest

import patches
import translate
from tests.patches import objects

ADD_TEAM = {"op": "add", "path": "/metadata/labels/team", "value": "payments"}


@pytest.mark.parametrize(
    ("entries", "entry", "detail"),
    [
        pytest.param(
            [{"op": "test", "path": "/metadata/labels/app", "value": "api"}],
            0,
            "test failed: /metadata/labels/app is 'web', not 'api'",
            id="test-other-value",
        ),
        pytest.param(
            [{"op": "test", "path": "/metadata/labels/tier", "value": "frontend"}],
            0,
            "test failed: /metadata/labels/tier does not exist",
            id="test-missing-member",
        ),
        pytest.param(
            [{"op": "test", "path": "/spec/ingress/0/ports/0/port", "value": "8080"}],
            0,
            "test failed: /spec/ingress/0/ports/0/port is 8080, not '8080'",
            id="test-compares-json-types",
        ),
        pytest.param(
            [ADD_TEAM, {"op": "remove", "path": "/metadata/labels/tier"}],
            1,
            "/metadata/labels/tier does not exist",
            id="remove-missing-key",
        ),
        pytest.param(
            [{"op": "remove", "path": "/spec/egress/3"}],
            0,
            "/spec/egress/3 does not exist (the list has 1 items)",
            id="remove-past-end",
        ),
        pytest.param(
            [{"op": "replace", "path": "/metadata/labels/tier", "value": "x"}],
            0,
            "/metadata/labels/tier does not exist",
            id="replace-missing-key",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/nothing/here", "value": "x"}],
            0,
            "/spec/nothing does not exist",
            id="add-under-missing-parent",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/ingress/5", "value": {}}],
            0,
            "/spec/ingress/5 is not an index within /spec/ingress (1 items)",
            id="add-past-end",
        ),
        pytest.param(
            [{"op": "add", "path": "/metadata/name/x", "value": "y"}],
            0,
            f"/metadata/name is '{objects.HOST_NAME}', not an object or list",
            id="add-into-string",
        ),
        pytest.param(
            [{"op": "move", "from": "/metadata/labels/tier", "path": "/metadata/labels/t"}],
            0,
            "from /metadata/labels/tier does not exist",
            id="move-missing-source",
        ),
        pytest.param(
            [ADD_TEAM, ADD_TEAM, {"op": "copy", "from": "/spec/x", "path": "/metadata/labels/t"}],
            2,
            "from /spec/x does not exist",
            id="copy-missing-source",
        ),
    ],
)
def test_failing_operations_are_refused_with_entry_and_reason(
    entries: list[dict[str, Any]], entry: int, detail: str
) -> None:
    """The refusal names the failing entry, the virtual and host object, and what went wrong."""
    with pytest.raises(patches.PatchRefused) as raised:
        objects.apply(entries)
    refused = raised.value
    assert refused.reason == "patch_failed"
    assert refused.entry == entry
    assert refused.operation == entries[entry]
    assert refused.virtual == translate.ObjectKey(namespace="shop", name="web")
    assert refused.host_name == objects.HOST_NAME
    assert refused.detail == detail
    message = str(refused)
    assert message.startswith(f"NetworkPolicy shop/web (host {objects.HOST_NAME}): ")
    assert (
        f"patch entry {entry} ({patches.describe(refused.operation)}) failed: {detail}" in message
    )


def test_messages_never_dump_the_whole_object() -> None:
    """Library messages that embed the document are replaced, keeping events short."""
    with pytest.raises(patches.PatchRefused) as raised:
        objects.apply([{"op": "add", "path": "/spec/a/b/c", "value": "x"}])
    assert "podSelector" not in str(raised.value)
    assert len(str(raised.value)) < 300


def test_a_failure_on_one_object_leaves_other_objects_alone() -> None:
    """A guard that fails for one object still lets the same list patch another."""
    patch_list = patches.parse(
        [
            {"op": "test", "path": "/metadata/labels/app", "value": "web"},
            ADD_TEAM,
        ]
    )
    other = dict(objects.VIRTUAL, metadata={**objects.VIRTUAL["metadata"], "labels": {}})
    with pytest.raises(patches.PatchRefused):
        patch_list.apply(translate.to_host(other, objects.TARGET), vcluster=objects.VC)  # type: ignore[arg-type]
    result = patch_list.apply(objects.translated(), vcluster=objects.VC)
    assert result["metadata"]["labels"]["team"] == "payments"
