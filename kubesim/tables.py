"""Server-side printing: ``meta.k8s.io/v1 Table`` responses for ``kubectl get``.

kubectl asks for ``application/json;as=Table;v=v1;g=meta.k8s.io`` whenever it prints columns,
and the real API server answers with rows it formatted itself (NAME, the kind's own columns,
AGE). Serving the same shape keeps kubectl's output identical to a real cluster; other clients
never ask for it, so this module is off the fast path.
"""

from __future__ import annotations

import calendar
import json
import time
from typing import Any

from kubesim.resources import ResourceType
from kubesim.versions import Entry

JsonObject = dict[str, Any]

TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def wants_table(accept: str) -> bool:
    """Whether the client's first acceptable format is a Table."""
    for part in accept.split(","):
        fields = [p.strip() for p in part.split(";")]
        media, params = fields[0].lower(), set(fields[1:])
        if media != "application/json":
            continue
        if "as=Table" in params and "g=meta.k8s.io" in params:
            return bool(params & {"v=v1", "v=v1beta1"})
        if not any(p.startswith("as=") for p in params):
            return False
    return False


def human_duration(seconds: float) -> str:
    """Age as kubectl prints it: ``45s``, ``3m20s``, ``5h10m``, ``12d``, ``2y30d``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years, rest = divmod(days, 365)
    if hours < 24 * 365 * 8:
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{years}y"


def format_label_selector(selector: JsonObject | None) -> str:
    """``metav1.FormatLabelSelector``: ``<none>`` for an empty selector."""
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator", "")
        values = ",".join(sorted(expr.get("values") or []))
        if op == "In":
            parts.append(f"{expr['key']} in ({values})")
        elif op == "NotIn":
            parts.append(f"{expr['key']} notin ({values})")
        elif op == "Exists":
            parts.append(expr["key"])
        elif op == "DoesNotExist":
            parts.append(f"!{expr['key']}")
    return ",".join(parts) or "<none>"


def _cell(obj: JsonObject, path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return "<none>"
        cur = cur.get(part)
    if path.endswith("podSelector"):
        return format_label_selector(cur)
    if cur is None:
        return "<none>"
    return cur if isinstance(cur, str | int | float | bool) else json.dumps(cur)


def _age(obj: JsonObject) -> str:
    stamp = obj["metadata"].get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    return human_duration(time.time() - created)


def _columns(rtype: ResourceType) -> list[JsonObject]:
    cols = [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": "Name must be unique within a namespace.",
            "priority": 0,
        }
    ]
    cols += [
        {"name": header, "type": "string", "format": "", "description": header, "priority": 0}
        for header, _ in rtype.printer_columns
    ]
    cols.append(
        {
            "name": "Age",
            "type": "string",
            "format": "",
            "description": "CreationTimestamp is a timestamp representing the server time when "
            "this object was created.",
            "priority": 0,
        }
    )
    return cols


def _row(obj: JsonObject, rtype: ResourceType, include: str | None) -> JsonObject:
    cells = [obj["metadata"].get("name", "")]
    cells += [_cell(obj, path) for _, path in rtype.printer_columns]
    cells.append(_age(obj))
    row: JsonObject = {"cells": cells}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"],
        }
    return row


def table(
    entries: list[Entry],
    rtype: ResourceType,
    resource_version: str,
    *,
    include: str | None = None,
    continue_token: str = "",
    remaining: int | None = None,
) -> bytes:
    """A Table with one row per object."""
    meta: JsonObject = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    body = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": _columns(rtype),
        "rows": [_row(e.copy(), rtype, include) for e in entries],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def watch_lines_as_table(data: bytes, rtype: ResourceType) -> bytes:
    """Re-frame watch lines so each object is a one-row Table, as upstream does for kubectl."""
    out: list[bytes] = []
    for line in data.splitlines():
        if not line:
            continue
        event = json.loads(line)
        obj = event.get("object") or {}
        if event.get("type") in {"ADDED", "MODIFIED", "DELETED"}:
            rows = [_row(obj, rtype, None)]
            event["object"] = {
                "kind": "Table",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                "columnDefinitions": _columns(rtype),
                "rows": rows,
            }
        out.append(json.dumps(event, separators=(",", ":")).encode() + b"\n")
    return b"".join(out)
