"""``netpol-syncer check-config``: validate a vcluster.yaml as ``run`` would, and explain it.

It shares ``run``'s loader (:mod:`syncer.configuration.config`), so it accepts the files ``run``
accepts, except settings ``run`` starts under but cannot serve (multi-namespace mode), which
``run`` only logs. The patches are also tried on a sample policy, so an entry that would refuse
every object is flagged before it is deployed. Exit codes as :mod:`syncer.commands.offline`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, TextIO

import patches
import translate
from syncer.commands import offline
from syncer.configuration import config

_SAMPLE_POLICY: Final[translate.NetworkPolicy] = {
    "apiVersion": translate.types.API_VERSION,
    "kind": translate.types.KIND,
    "metadata": {
        "name": "sample",
        "namespace": "sample",
        "uid": "00000000-0000-0000-0000-000000000000",
        "labels": {"app": "sample"},
        "annotations": {"owner": "sample"},
    },
    "spec": {
        "podSelector": {"matchLabels": {"app": "sample"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}],
        "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}],
    },
}
"""A typical policy to try the patches on, so patches that can never pass are flagged early."""


def check_config_command(*, path: str, explicit: bool, stdout: TextIO, stderr: TextIO) -> int:
    """``netpol-syncer check-config``: 0 and a one-line summary, or 2 and every problem.

    ``explicit`` is whether the path was given (flag or environment); like ``run``, a missing
    file at the default path means the defaults and is not an error. A whole vcluster.yaml is
    explained as well: each block the syncer ignores is a ``note`` on standard output, each
    vCluster-syntax patch entry a problem that names its RFC 6902 equivalent, and settings the
    syncer cannot serve (multi-namespace mode) are problems here although ``run`` only logs
    them, since it would start and enforce nothing.
    """
    try:
        sync = config.load(path, missing_ok=not explicit)
    except config.ConfigError as exc:
        _print_notes(exc.ignored, exc.source, stdout)
        offline.print_problems(exc.source, [*exc.problems, *exc.unsupported], stderr)
        return offline.UNUSABLE
    source = sync.source or path
    _print_notes(sync.ignored, source, stdout)
    unsupported = {str(u) for u in sync.unsupported}
    for warning in sync.warnings:
        if warning not in unsupported:
            print(f"warning: {path}: {warning}", file=stderr)
    for warning in sample_warnings(sync.patches):
        print(f"warning: {path}: {warning}", file=stderr)
    if sync.unsupported:
        offline.print_problems(source, sync.unsupported, stderr)
        return offline.UNUSABLE
    if sync.source is None:
        print(f"ok: no file at {path}, so the defaults apply: {sync.summary()}", file=stdout)
    else:
        print(f"ok: {sync.summary()}", file=stdout)
    return offline.OK


def sample_warnings(patch_list: patches.PatchList) -> list[str]:
    """Patches that break the scoping invariants of a typical policy, or widen it (and so most)."""
    target = translate.Target(vcluster="sample", host_namespace="sample-host")
    try:
        patch_list.apply(translate.to_host(_SAMPLE_POLICY, target), vcluster=target.vcluster)
    except patches.PatchRefused as exc:
        if exc.reason != "patch_failed":
            entry = "the patches" if exc.entry is None else f"patch entry {exc.entry}"
            verb = (
                "widens the policy"
                if exc.reason == "patch_widens"
                else "breaks the scoping invariants"
            )
            return [
                f"on a sample policy, {entry} {verb} ({exc.detail}); the syncer would refuse"
                " every object where it does the same"
            ]
    return []


def _print_notes(notes: Sequence[config.ConfigProblem], source: str, stdout: TextIO) -> None:
    for note in notes:
        print(f"note: {note.format(source)}", file=stdout)
