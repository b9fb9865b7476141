"""Two kubesim servers per test (``clusters``); each test starts the syncer it needs."""

from __future__ import annotations

from tests.support.harness import clusters_fixture, quiet_logs_fixture

clusters = clusters_fixture()
quiet_logs = quiet_logs_fixture()
