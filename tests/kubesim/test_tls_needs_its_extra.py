"""``python -m kubesim --tls`` without the ``[tls]`` extra fails at once with the fix to apply."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
sys.modules["trustme"] = None  # as in an install without the [tls] extra
from kubesim.__main__ import main
sys.exit(main(["--port", "0", "--tls"]))
"""


def test_tls_without_trustme_names_the_extra() -> None:
    """Exit code 2 and the pip command, no traceback and no server started."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "pip install 'netpol-syncer[tls]'" in done.stderr
    assert "Traceback" not in done.stderr
