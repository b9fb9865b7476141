"""Why a host copy is not written: the closed set of refusals of the host-copy stage.

Every rule that refuses a host object (a failing or widening patch, a copy out of this vCluster's
scope, an unapproved host peer) ends as one :class:`Refusal`: a value with a reason code from
:data:`Kind` and a message naming the object and what is wrong. The stage returns it rather than
raising, so callers cannot forget a case: the controller maps each code, through one table
(``syncer.runtime.errors.REFUSALS``), to its error class, metric label and event reason, and the
offline ``translate`` prints the message. A new refusal is a new code here plus one row there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

Kind = Literal["PatchFailed", "PatchOutOfScope", "PatchWidens", "HostPeerRefused", "OutOfScope"]
"""The reason codes, CamelCase like Kubernetes event reasons:

- ``PatchFailed``: a configured patch operation failed on this object (a ``test`` that does not
  hold, a ``remove`` of a missing member);
- ``PatchOutOfScope``: the patched copy breaks the scoping invariants (SPEC §4);
- ``PatchWidens``: the patched copy may allow traffic the translation does not (SPEC §4);
- ``HostPeerRefused``: the tenant references a host peer the admin did not approve (SPEC §9);
- ``OutOfScope``: the copy breaks the scoping invariants with no patch to blame: input no
  translation rule covers (a policy type the syncer does not know, a name that is not a valid
  host name) or a guardrail bug. Checked on every object, patches and guardrails configured or
  not, so no copy reaches the host unchecked.
"""

KINDS: Final[tuple[Kind, ...]] = get_args(Kind)


@dataclass(frozen=True, slots=True)
class Refusal:
    """One object's host copy refused; permanent for this version of the virtual object."""

    code: Kind
    message: str
    """Names the object (``NetworkPolicy <namespace>/<name>``) and what is wrong, for the
    tenant's Warning event and the offline command's stderr."""

    def __str__(self) -> str:
        return self.message
