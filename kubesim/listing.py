"""LIST: snapshots at a resourceVersion, namespace ranges, selectors and paging.

Upstream serves lists from etcd (or its watch cache) at a revision; kubesim rebuilds the state
at an older version by undoing newer events from the resource's history, so ``Exact`` reads
and continue tokens see a consistent snapshot exactly as long as the history reaches back.
Keys are ordered like etcd keys (namespace, then name), which fixes the page boundaries.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from dataclasses import dataclass

from kubesim import errors
from kubesim.selectors import EVERYTHING, NOTHING, FieldSelector, LabelSelector
from kubesim.versions import Bucket, Entry, ObjectKey, parse_rv


@dataclass(slots=True)
class ListResult:
    """A page of a LIST: entries, the list's resourceVersion and paging state."""

    entries: list[Entry]
    rv: int
    continue_token: str = ""
    remaining: int | None = None


def list_bucket(
    bucket: Bucket,
    current_rv: int,
    *,
    namespace: str | None = None,
    label_selector: LabelSelector = EVERYTHING,
    field_selector: FieldSelector = NOTHING,
    limit: int = 0,
    continue_token: str | None = None,
    resource_version: str | None = None,
    resource_version_match: str | None = None,
) -> ListResult:
    """LIST with upstream's resourceVersion semantics.

    * unset or ``"0"``: the current state;
    * ``N`` with ``NotOlderThan`` (the legacy default without ``limit``): the current state,
      or 504 "Too large resource version" when ``N`` is in the future;
    * ``N`` with ``Exact`` (the legacy default with ``limit``): the state at ``N``, rebuilt
      from the event history, or 410 when the history no longer reaches back to ``N``;
    * a continue token pages through the snapshot of the first page, consistently.
    """
    rtype = bucket.rtype
    start: ObjectKey | None = None
    if continue_token:
        if resource_version not in (None, "", "0"):
            raise errors.bad_request(
                "specifying resource version is not allowed when using continue"
            )
        snapshot_rv, start = decode_continue(continue_token, rtype.namespaced)
        if snapshot_rv < bucket.compacted_rv:
            raise errors.expired(
                "The provided continue parameter is too old to display a consistent list "
                "result. You can start a new list without the continue parameter, or use "
                "the continue value from the response to resume."
            )
    else:
        requested = parse_rv(resource_version)
        match = resource_version_match or ""
        if match and requested is None:
            raise errors.invalid_object(
                "ListOptions",
                "meta.k8s.io",
                "",
                [
                    errors.forbidden(
                        "resourceVersionMatch",
                        "resourceVersionMatch is forbidden unless resourceVersion is provided",
                    )
                ],
            )
        if match and match not in ("Exact", "NotOlderThan"):
            raise errors.invalid_object(
                "ListOptions",
                "meta.k8s.io",
                "",
                [
                    errors.not_supported(
                        "resourceVersionMatch", match, ["Exact", "NotOlderThan", ""]
                    )
                ],
            )
        if requested is not None and requested > current_rv:
            raise errors.too_large_resource_version(requested, current_rv)
        exact = match == "Exact" or (not match and limit > 0 and requested not in (None, 0))
        if requested is not None and requested != 0 and exact:
            if requested < bucket.compacted_rv:
                raise errors.expired(
                    f"too old resource version: {requested} ({bucket.compacted_rv})"
                )
            snapshot_rv = requested
        else:
            snapshot_rv = current_rv
    objects = snapshot(bucket, current_rv, snapshot_rv)
    keys = bucket.sorted_keys() if objects is bucket.objects else sorted(objects)
    lo, hi = 0, len(keys)
    if rtype.namespaced and namespace:
        lo = bisect.bisect_left(keys, (namespace, ""))
        hi = bisect.bisect_left(keys, (namespace + "\x00", ""))
    if start is not None:
        lo = max(lo, bisect.bisect_right(keys, start))
    plain = label_selector.empty and field_selector.empty
    name_only = field_selector.exact_value("metadata.name")
    out: list[Entry] = []
    token = ""
    remaining: int | None = None
    for i in range(lo, hi):
        key = keys[i]
        if name_only is not None and key[1] != name_only:
            continue
        entry = objects[key]
        if not plain and not (
            label_selector.matches(entry.labels) and field_selector.matches(entry.field)
        ):
            continue
        if limit and len(out) == limit:
            token = encode_continue(snapshot_rv, out[-1].key)
            remaining = (hi - i) if plain else None
            break
        out.append(entry)
    return ListResult(out, snapshot_rv, token, remaining)


def snapshot(bucket: Bucket, current_rv: int, rv: int) -> dict[ObjectKey, Entry]:
    """The objects as they were at ``rv`` (undoing newer events from the history)."""
    if rv >= current_rv or not bucket.history or bucket.history[-1].rv <= rv:
        return bucket.objects
    state = dict(bucket.objects)
    for event in reversed(bucket.history):
        if event.rv <= rv:
            break
        key = event.entry.key
        if event.type == "ADDED":
            state.pop(key, None)
        elif event.prev is not None:
            state[key] = event.prev
    return state


# --- writes -------------------------------------------------------------------------------


def encode_continue(rv: int, key: ObjectKey) -> str:
    """A continue token shaped like upstream's (base64 JSON with ``rv`` and ``start``)."""
    start = f"{key[0]}/{key[1]}\x00" if key[0] else f"{key[1]}\x00"
    payload = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_continue(token: str, namespaced: bool) -> tuple[int, ObjectKey]:
    """Parse a continue token, raising 400 like upstream for a malformed one."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        rv = int(data["rv"])
        start = str(data["start"]).rstrip("\x00")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise errors.bad_request(f"continue key is not valid: {exc}") from exc
    if data.get("v") != "meta.k8s.io/v1":
        raise errors.bad_request("continue key is not valid: unsupported encoding version")
    if namespaced and "/" in start:
        ns, _, name = start.partition("/")
        return rv, (ns, name)
    return rv, ("", start)
