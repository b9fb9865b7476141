"""kubesim: an in-process Kubernetes API server emulator for tests, benchmarks and the demo.

Faithful where netpol-syncer depends on the API's semantics: resourceVersions, watch
resumption and 410 Gone, optimistic concurrency, selectors, NetworkPolicy validation and
defaulting, Status errors, RBAC. See docs/kubesim.md for the full list and the deviations.

Public surface::

    from kubesim import KubeSim, ApiError
    async with KubeSim() as api: ...

Production code never imports this package (an import-linter contract enforces it); only
tests, benchmarks and ``netpol-syncer demo`` do.
"""

from kubesim.counters import Counters
from kubesim.direct import DirectStore
from kubesim.errors import ApiError, FieldError
from kubesim.faults import Fault, Faults
from kubesim.rbac import Denial
from kubesim.resources import ResourceType, custom
from kubesim.server import DEFAULT_NAMESPACES, KubeSim

__all__ = [
    "DEFAULT_NAMESPACES",
    "ApiError",
    "Counters",
    "Denial",
    "DirectStore",
    "Fault",
    "Faults",
    "FieldError",
    "KubeSim",
    "ResourceType",
    "custom",
]
