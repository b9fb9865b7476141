"""Server-side defaults applied on every write, before validation, as upstream does.

A controller that writes a NetworkPolicy without ``protocol`` or ``policyTypes`` reads back
``protocol: TCP`` and ``policyTypes: [Ingress]``; if it compared its desired object with the
stored one naively it would update forever. Reproducing the defaults is what lets kubesim catch
that class of bug. Each function mutates the freshly decoded object it is given (never a stored
one) and keeps Go struct key order so the JSON reads like the real server's.
"""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]


def _default_port(port: JsonObject) -> JsonObject:
    if "protocol" in port:
        return port
    return {"protocol": "TCP", **port}


def default_network_policy(obj: JsonObject) -> None:
    """``protocol`` defaults to TCP; empty ``policyTypes`` becomes Ingress (+ Egress if rules)."""
    spec = obj.setdefault("spec", {"podSelector": {}})
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            if "ports" in rule:
                rule["ports"] = [_default_port(p) for p in rule["ports"]]
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types


def default_namespace(obj: JsonObject) -> None:
    """The immutable ``kubernetes.io/metadata.name`` label and the ``Active`` phase.

    The ``kubernetes`` finalizer is not a default but a create-time strategy (see
    :func:`prepare_namespace_create`), because updates may not change it.
    """
    meta = obj["metadata"]
    name = meta.get("name") or ""
    if name:
        labels = dict(meta.get("labels") or {})
        labels["kubernetes.io/metadata.name"] = name
        meta["labels"] = labels
    status = obj.setdefault("status", {})
    if not status.get("phase"):
        status["phase"] = "Active"


def prepare_namespace_create(obj: JsonObject) -> None:
    """A new namespace always carries the ``kubernetes`` finalizer and starts ``Active``."""
    obj["spec"] = {"finalizers": ["kubernetes"]}
    obj["status"] = {"phase": "Active"}


def prepare_namespace_update(new: JsonObject, old: JsonObject) -> None:
    """``spec.finalizers`` and ``status`` only change through the namespace lifecycle."""
    new["spec"] = old.get("spec", {})
    new["status"] = old.get("status", {})


def default_secret(obj: JsonObject) -> None:
    """Secrets without a ``type`` are ``Opaque``."""
    if not obj.get("type"):
        obj["type"] = "Opaque"


def default_service(obj: JsonObject) -> None:
    """Services default to ``ClusterIP`` with TCP ports (enough for chart rendering tests)."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    spec["ports"] = [
        {"protocol": "TCP", **p} if "protocol" not in p else p for p in spec.get("ports") or []
    ]
    if not spec["ports"]:
        del spec["ports"]
