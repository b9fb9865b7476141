"""Kubeconfig documents pointing at a kubesim server, and the TLS material behind them.

A kubeconfig is how every real client (kubectl, kubernetes-asyncio, Helm) is told where the
server is and whom to trust, so tests use exactly that path instead of hand-built client
configurations. With TLS, a throwaway CA made by ``trustme`` signs a server certificate for
``127.0.0.1``, ``localhost`` and the bind host, and the CA goes into
``certificate-authority-data``.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class TlsMaterial:
    """The CA clients must trust and the server-side SSL context."""

    ca_pem: bytes
    context: ssl.SSLContext


def make_tls(host: str) -> TlsMaterial:
    """Create a CA and a server certificate valid for ``host``, 127.0.0.1 and localhost."""
    try:
        import trustme
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "TLS needs the 'trustme' package (pip install netpol-syncer[tls])"
        ) from exc
    ca = trustme.CA()
    names = list(dict.fromkeys(["127.0.0.1", "localhost", "::1", host]))
    cert = ca.issue_cert(*names)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.set_alpn_protocols(["http/1.1"])
    cert.configure_cert(context)
    return TlsMaterial(ca_pem=ca.cert_pem.bytes(), context=context)


def build(
    server: str,
    *,
    token: str | None = None,
    ca_pem: bytes | None = None,
    name: str = "kubesim",
    namespace: str | None = None,
) -> JsonObject:
    """A single-context kubeconfig for ``server``."""
    cluster: JsonObject = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    user: JsonObject = {"token": token} if token else {}
    context: JsonObject = {"cluster": name, "user": name}
    if namespace:
        context["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": context}],
        "current-context": name,
    }


def write(config: JsonObject, path: str | os.PathLike[str]) -> Path:
    """Write atomically (readers polling for the file never see half of it), mode 0600."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(config, handle, sort_keys=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
