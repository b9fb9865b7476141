"""The scoping check runs on every host copy, so common peers take a quick path
(``scoping._plain_peer``); it may only ever accept what the full check accepts."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from translate import markers, scoping

VC = "vc"
KEYS = st.sampled_from(
    [
        "app",
        markers.MANAGED_BY,
        markers.NAMESPACE,
        markers.RELEASE,
        markers.CONTROLLED_BY,
        "vcluster.loft.sh/label-vc-x-0123456789",
    ]
)
VALUES = st.sampled_from([VC, "other", ""])
LABELS = st.dictionaries(KEYS, VALUES, max_size=4)
SELECTORS = st.one_of(
    st.fixed_dictionaries({}, optional={"matchLabels": LABELS}),
    st.fixed_dictionaries(
        {
            "matchExpressions": st.lists(
                st.fixed_dictionaries({"key": KEYS, "operator": st.just("Exists")}), max_size=2
            )
        },
        optional={"matchLabels": LABELS},
    ),
    st.sampled_from([None, [], "x"]),
)
PEERS = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "podSelector": SELECTORS,
            "ipBlock": st.just({"cidr": "10.0.0.0/8"}),
            "namespaceSelector": SELECTORS,
        },
    ),
    st.sampled_from([None, [], "peer"]),
)


@settings(max_examples=300, deadline=None)
@given(PEERS)
def test_a_peer_the_quick_path_accepts_has_no_violation(peer: Any) -> None:
    """Whatever the shape, the quick path accepts a peer only if the full check finds
    nothing wrong with it."""
    if scoping._plain_peer(peer, VC):
        assert list(scoping._peer(peer, "/p", VC)) == []


def test_translated_peers_take_the_quick_path() -> None:
    """The shapes translation writes are the ones accepted without building messages."""
    scoped = {"podSelector": {"matchLabels": {"app": "web", markers.MANAGED_BY: VC}}}
    assert scoping._plain_peer(scoped, VC)
    assert scoping._plain_peer({"ipBlock": {"cidr": "10.0.0.0/8"}}, VC)
    assert not scoping._plain_peer({"podSelector": {"matchLabels": {markers.RELEASE: "x"}}}, VC)
