"""Run a :class:`~tests.conformance.sequences.Sequence` against one server and record it."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conformance import client
from tests.conformance.normalize import Normalizer, normalize_answer
from tests.conformance.sequences import NAMESPACE, Sequence, Step

Json = Any
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+)*)\}")


def _resolve(text: str, saved: dict[str, Json]) -> str:
    def one(match: re.Match[str]) -> str:
        name, dotted = match.group(1), match.group(2)
        if name == "ns" and not dotted:
            return NAMESPACE
        node = saved[name]
        for part in dotted.split(".")[1:]:
            node = node.get(part, "") if isinstance(node, dict) else ""
        return str(node)

    return _PLACEHOLDER.sub(one, text)


def _fill(node: Json, saved: dict[str, Json]) -> Json:
    if isinstance(node, str):
        return _resolve(node, saved)
    if isinstance(node, dict):
        return {key: _fill(value, saved) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, saved) for value in node]
    return node


def _encode(step: Step, saved: dict[str, Json]) -> bytes | None:
    if step.body is None:
        return None
    if isinstance(step.body, str):
        return _resolve(step.body, saved).encode()
    return json.dumps(_fill(step.body, saved)).encode()


async def run(target: client.Target, sequence: Sequence) -> list[Json]:
    """Every step's answer, normalized, in order."""
    saved: dict[str, Json] = {}
    normalizer = Normalizer()
    out: list[Json] = []
    async with target.session() as session:
        for step in sequence.steps:
            path = _resolve(step.path, saved)
            query = [(key, _resolve(value, saved)) for key, value in step.query]
            if step.watch:
                answer = await client.watch(
                    session, target, path, query=query, events=step.watch, seconds=step.seconds
                )
            else:
                headers = {"Content-Type": step.content_type}
                if step.accept:
                    headers["Accept"] = step.accept
                answer = await client.send(
                    session,
                    target,
                    step.method,
                    path,
                    query=query,
                    headers=headers,
                    data=_encode(step, saved),
                )
            if step.name:
                saved[step.name] = answer.body
            out.append(normalize_answer(normalizer, answer.recorded(), is_list=False))
    return out
