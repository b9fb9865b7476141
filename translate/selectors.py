"""Label selector rewriting: tenant keys to the keys host pods actually carry."""

from __future__ import annotations

from collections.abc import Callable

from translate.types import LabelSelector, LabelSelectorRequirement

KeyMap = Callable[[str, str], str]
"""``(key, vcluster) -> host key``: one of the two key translations in :mod:`translate.naming`."""


def rewrite_selector(selector: LabelSelector, vcluster: str, key_map: KeyMap) -> LabelSelector:
    """Copy of ``selector`` with every key passed through ``key_map``.

    Values, operators and order are kept. Empty ``matchLabels``/``matchExpressions`` are dropped
    because they mean the same as absent ones.
    """
    out: LabelSelector = {}
    labels = selector.get("matchLabels")
    if labels:
        out["matchLabels"] = {key_map(k, vcluster): v for k, v in labels.items()}
    expressions = selector.get("matchExpressions")
    if expressions:
        out["matchExpressions"] = [_rewrite_requirement(r, vcluster, key_map) for r in expressions]
    return out


def _rewrite_requirement(
    requirement: LabelSelectorRequirement, vcluster: str, key_map: KeyMap
) -> LabelSelectorRequirement:
    out: LabelSelectorRequirement = {
        "key": key_map(requirement["key"], vcluster),
        "operator": requirement["operator"],
    }
    if requirement.get("values") is not None:
        out["values"] = list(requirement["values"])
    return out


def merge_selectors(first: LabelSelector, second: LabelSelector) -> LabelSelector:
    """AND of two selectors: matchLabels merged (``second`` wins a shared key), expressions
    concatenated with ``first``'s before ``second``'s."""
    out: LabelSelector = {}
    labels = {**(first.get("matchLabels") or {}), **(second.get("matchLabels") or {})}
    if labels:
        out["matchLabels"] = labels
    expressions = [
        *(first.get("matchExpressions") or []),
        *(second.get("matchExpressions") or []),
    ]
    if expressions:
        out["matchExpressions"] = expressions
    return out
