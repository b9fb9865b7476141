"""Lease timings for :mod:`syncer.runtime.electing`: their defaults and the one check they obey.

Kept apart from the elector, with no imports of the API client, because the configuration layer
reads these defaults (``--leader-elect-*``) and checks the timings before ``run`` loads the
asyncio stack: a bad flag is reported at once, and the default lives only here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

JITTER_FACTOR: Final = 1.2
"""client-go's leader-election jitter: the renew deadline must exceed the retry period times
this, so a leader gets more than one renewal attempt before it stops writing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaseSettings:
    name: str
    """Lease name; one per virtual cluster (``<vcluster>-netpol-syncer`` by default)."""
    namespace: str
    """Lease namespace; the host namespace, where the syncer already has RBAC."""
    identity: str
    """This replica's holder identity: the pod name plus a random suffix, so a restarted pod
    with the same name does not mistake the previous incarnation's lease for its own."""
    lease_duration: float = 15.0
    """How long a standby waits, after it last saw the lease change, before taking over;
    client-go's default."""
    renew_deadline: float = 10.0
    """How long the leader keeps trying to renew before it stops writing; client-go's default."""
    retry_period: float = 2.0
    """Seconds between attempts to acquire or renew; client-go's default."""

    def __post_init__(self) -> None:
        problems = timing_problems(
            lease_duration=self.lease_duration,
            renew_deadline=self.renew_deadline,
            retry_period=self.retry_period,
        )
        if problems:
            raise ValueError("; ".join(problems))


def timing_problems(
    *,
    lease_duration: float,
    renew_deadline: float,
    retry_period: float,
    names: tuple[str, str, str] = ("lease_duration", "renew_deadline", "retry_period"),
) -> list[str]:
    """What is wrong with these timings, as client-go checks them; ``names`` name the three
    values in the messages (the CLI passes its flags)."""
    duration_name, deadline_name, retry_name = names
    problems = []
    if retry_period <= 0:
        problems.append(f"{retry_name} ({retry_period:g}s) must be longer than zero")
    if lease_duration <= renew_deadline:
        problems.append(
            f"{duration_name} ({lease_duration:g}s) must be longer than"
            f" {deadline_name} ({renew_deadline:g}s)"
        )
    if renew_deadline <= JITTER_FACTOR * retry_period:
        problems.append(
            f"{deadline_name} ({renew_deadline:g}s) must be longer than"
            f" {JITTER_FACTOR:g} x {retry_name} ({retry_period:g}s)"
        )
    return problems
