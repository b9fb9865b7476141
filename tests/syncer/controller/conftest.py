"""Two API servers (``clusters``, per backend) for the controller tests that need them."""

from __future__ import annotations

from tests.support.harness import clusters_fixture, quiet_logs_fixture

clusters = clusters_fixture()
quiet_logs = quiet_logs_fixture()
