"""Validation of objects against the official Kubernetes OpenAPI schema (``kubernetes-validate``).

Tests use the newest Kubernetes version the installed package ships, in strict mode (unknown
fields are errors), and add the upstream server-side rules from
:mod:`tests.support.netpol_validation` that a schema cannot express. :func:`assert_valid` is the
one call tests make.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kubernetes_validate

from tests.support import netpol_validation

KUBERNETES_VERSION = kubernetes_validate.latest_version()
"""The newest schema ``kubernetes-validate`` ships (e.g. ``1.37.0``)."""


def schema_errors(obj: Mapping[str, Any]) -> list[str]:
    """Schema problems of ``obj`` (empty when the strict schema accepts it)."""
    try:
        kubernetes_validate.validate(dict(obj), KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(p) for p in error.path) or "<root>"
        return [f"{where}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"<root>: {error.message}"]
    return []


def assert_valid(obj: Mapping[str, Any]) -> None:
    """Fail unless ``obj`` passes the strict schema and upstream NetworkPolicy validation."""
    problems = schema_errors(obj) + netpol_validation.problems(obj)
    assert not problems, f"invalid against Kubernetes {KUBERNETES_VERSION}: {problems}\n{obj}"
