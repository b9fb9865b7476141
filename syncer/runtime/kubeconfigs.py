"""Loading client configuration from a kubeconfig (path or dict) or the pod's service account.

Apart from :mod:`syncer.runtime.clients` because waiting for and following kubeconfig files
(:mod:`syncer.runtime.reloading`) needs only this: a missing or broken file is a
:class:`KubeconfigError` to wait out, never a crash.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import config as k8s_config


class KubeconfigError(Exception):
    """A kubeconfig that cannot be used (yet): missing, unreadable or invalid."""


async def load_configuration(
    kubeconfig: str | Mapping[str, Any] | None, *, context: str | None = None
) -> k8s.Configuration:
    """Client configuration from a kubeconfig path, a kubeconfig dict, or (``None``) the pod's
    service account. Raises :class:`KubeconfigError` naming the problem."""
    configuration = k8s.Configuration()
    source = "in-cluster service account" if kubeconfig is None else "kubeconfig"
    try:
        if kubeconfig is None:
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        elif isinstance(kubeconfig, str):
            source = kubeconfig
            if _missing(kubeconfig):
                raise KubeconfigError(f"{kubeconfig}: no such file (yet)")
            await k8s_config.load_kube_config(
                config_file=kubeconfig,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
        else:
            await k8s_config.load_kube_config_from_dict(
                dict(kubeconfig), context=context, client_configuration=configuration
            )
    except KubeconfigError:
        raise
    except Exception as exc:  # the loaders raise ConfigException, OSError, YAML and key errors
        raise KubeconfigError(f"{source}: {type(exc).__name__}: {exc}") from exc
    return configuration


def _missing(path: str) -> bool:
    """One stat of a local file (the loader then reads it synchronously too)."""
    return not os.path.isfile(path)
