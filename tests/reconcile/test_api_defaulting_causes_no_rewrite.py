"""What the host API server does to a written copy (defaulting, dropping empty lists) never
looks like a difference, or every resync and restart would rewrite every policy.

The API server here is kubesim's storage (a dry-run create), which applies upstream's
defaults; the comparison under test is :func:`translate.diff.owned_equal`.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import translate
from tests.support import strategies
from tests.support.harness import TARGET, VCLUSTER, as_stored
from translate import diff

POLICIES = strategies.network_policies(hostile_for=VCLUSTER)
FOREIGN_LABELS = st.dictionaries(
    st.sampled_from(["backup.example.com/include", "team", "app"]), st.sampled_from(["a", "b"])
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _desired(policy: dict[str, Any]) -> translate.NetworkPolicy:
    return translate.to_host(policy, TARGET)  # type: ignore[arg-type]


@SETTINGS
@given(policy=POLICIES)
def test_a_stored_copy_equals_what_was_written(policy: dict[str, Any]) -> None:
    """The server's version of a freshly written copy compares equal to the desired object."""
    desired = _desired(policy)
    assert diff.owned_equal(desired, as_stored(desired), VCLUSTER)


@SETTINGS
@given(policy=POLICIES, foreign=FOREIGN_LABELS)
def test_additions_by_other_tools_are_not_a_difference(
    policy: dict[str, Any], foreign: dict[str, str]
) -> None:
    """Labels and annotations another tool adds (not ones the copy owns) change nothing."""
    desired = _desired(policy)
    stored = as_stored(desired)
    labels = stored["metadata"].setdefault("labels", {})
    for key, value in foreign.items():
        labels.setdefault(key, value)
    stored["metadata"].setdefault("annotations", {})["monitoring.example.com/scraped"] = "yes"
    assert diff.owned_equal(desired, stored, VCLUSTER)


@SETTINGS
@given(before=POLICIES, after=POLICIES)
def test_one_update_converges(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Writing ``merged(desired, stored)`` gives a copy that then compares equal: an update
    never needs a second one."""
    after = {**after, "metadata": {**after["metadata"], **_identity(before)}}
    stored = as_stored(_desired(before))
    desired = _desired(after)
    rewritten = as_stored(diff.merged(desired, stored, VCLUSTER))
    assert diff.owned_equal(desired, rewritten, VCLUSTER)


def _identity(policy: dict[str, Any]) -> dict[str, Any]:
    meta = policy["metadata"]
    return {k: meta[k] for k in ("name", "namespace", "uid")}
