"""``--backend kubesim|real|both``: which API servers the backend-parametrized suites use
(the same as ``NETPOL_TEST_BACKEND``; see :mod:`tests.support.backends`)."""

from __future__ import annotations

import os

import pytest

from tests.support.backends import VARIABLE, mark_kubesim_only, select


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("kubesim", "real", "both"),
        default=None,
        help=f"API server backend for integration-level tests (default: ${VARIABLE} or both)",
    )


def pytest_configure(config: pytest.Config) -> None:
    backend = config.getoption("--backend")
    if backend:
        os.environ[VARIABLE] = backend


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    select(config, items)
    mark_kubesim_only(items)
