"""Run the installed ``netpol-syncer`` console script as a user would, hermetically.

The environment is the parent's minus every variable the CLI reads, so a developer's
``VCLUSTER_NAME`` or ``NETPOL_SYNCER_*`` cannot change a test's outcome; tests pass their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXECUTABLE = str(Path(sys.executable).with_name("netpol-syncer"))
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
EXAMPLE_CONFIG = EXAMPLES / "vcluster.yaml"
EXAMPLE_POLICIES = sorted((EXAMPLES / "policies").glob("*.yaml"))

_READ_BY_THE_CLI = ("VCLUSTER_NAME", "POD_NAMESPACE")


def netpol_syncer(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``netpol-syncer ARGS`` and capture its exit code, stdout and stderr."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NETPOL_SYNCER_") and k not in _READ_BY_THE_CLI
    }
    environ.update(env or {})
    return subprocess.run(
        [EXECUTABLE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd or REPO,
        timeout=60,
        check=False,
    )
