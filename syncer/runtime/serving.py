"""The HTTP side of the syncer: ``/metrics``, ``/healthz`` and ``/readyz`` on ``--metrics-address``.

Neighbours: ``metrics`` renders the exposition and the controller answers the two probes. This
module imports neither: they meet at the :class:`Exposition` protocol and the :data:`Probe`
callable type, so the server is tested without a controller and the CLI wires them together.

The probes mean different things to Kubernetes, so they ask different questions:

- ``/healthz`` (liveness) fails only for what a restart fixes, e.g. a watch that stopped making
  progress. That the event loop runs needs no check: a blocked loop cannot answer at all.
- ``/readyz`` (readiness) fails until both informers finished their initial list, so a rollout
  waits for a new replica to know the world before the old one goes away.

A probe returns ``(ok, detail)``: ``detail`` maps each check's name to what it found. A value
``False``, or a mapping with ``"ok": False``, marks that check as failing; anything else is
information. The response is 200 when ``ok`` holds and no check fails, else 503, with a JSON body
listing the failing checks by name and every check's detail (``?verbose`` gives kube-apiserver's
plain-text ``[+]name ok`` listing instead, for humans with ``curl``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final, Protocol, Self

import structlog
from aiohttp import hdrs, web

_log = structlog.get_logger("syncer.runtime.serving")

# In-flight requests are all probes and scrapes answered from memory; waiting longer than this on
# shutdown would only eat into the pod's termination grace period.
SHUTDOWN_TIMEOUT_SECONDS: Final = 2.0

_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")


# A probe, evaluated on every request, so it must be cheap and non-blocking: whether it passes, and
# per-check detail (JSON-serialisable; see the module docstring for how failing checks are
# named). A probe that raises fails, with a check named "probe".
Probe = Callable[[], tuple[bool, Mapping[str, Any]]]


class Exposition(Protocol):
    """What ``/metrics`` needs: ``metrics.Metrics`` is one."""

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition for a request's ``Accept`` header: payload and content type."""


@dataclasses.dataclass(frozen=True, slots=True)
class Address:
    """Where to listen. ``host`` None means every interface (IPv4 and IPv6)."""

    host: str | None
    port: int

    def __str__(self) -> str:
        if self.host is None:
            return f":{self.port}"
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


def parse_address(text: str) -> Address:
    """Parse ``--metrics-address``: ``:8080``, ``0.0.0.0:8080``, ``[::]:8080``, ``host:0``.

    Port 0 asks the kernel for a free port (tests read it back from ``Server.port``). Raises
    ``ValueError`` with the accepted forms when ``text`` is none of them.
    """
    forms = "expected HOST:PORT, :PORT or [IPV6]:PORT"
    if "/" in text:
        raise ValueError(f"metrics address {text!r}: {forms}, not a URL or path")
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"metrics address {text!r}: {forms}")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"metrics address {text!r}: {host!r} is not an IPv6 address") from None
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError(f"metrics address {text!r}: {forms}")
        if ":" in host:
            raise ValueError(f"metrics address {text!r}: put IPv6 addresses in brackets: [::]:8080")
        if host and not _HOSTNAME.fullmatch(host):
            raise ValueError(f"metrics address {text!r}: {host!r} is not a host name or address")
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
        raise ValueError(f"metrics address {text!r}: port must be a number from 0 to 65535")
    return Address(host or None, int(port_text))


class Server:
    """The metrics and probe server, as an async context manager::

        async with serving.Server(":8080", metrics=m, health=c.health, ready=c.ready) as srv:
            ...  # srv.port is the bound port (useful with port 0)

    Leaving the block stops listening and waits up to ``shutdown_timeout`` for requests in
    flight.
    """

    def __init__(
        self,
        address: str | Address,
        *,
        metrics: Exposition,
        health: Probe,
        ready: Probe,
        shutdown_timeout: float = SHUTDOWN_TIMEOUT_SECONDS,
    ) -> None:
        self.address = address if isinstance(address, Address) else parse_address(address)
        self._metrics = metrics
        self._probes: dict[str, Probe] = {"healthz": health, "readyz": ready}
        # The last outcome of each probe, so a change is logged once rather than every request.
        self._last_ok: dict[str, bool] = {}
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Bind and start serving. Raises ``OSError`` naming the address if it cannot bind."""
        if self._runner is not None:
            raise RuntimeError("server already started")
        app = web.Application()
        app.router.add_get("/metrics", self._serve_metrics)
        app.router.add_get("/healthz", self._serve_healthz)
        app.router.add_get("/readyz", self._serve_readyz)
        # No access log: the kubelet probes every few seconds and Prometheus scrapes; logging
        # each would bury the controller's own lines.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=self._shutdown_timeout)
        await runner.setup()
        site = web.TCPSite(runner, self.address.host, self.address.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(exc.errno, f"cannot serve on {self.address}: {exc.strerror}") from exc
        self._runner = runner
        _log.info("serving metrics and probes", addresses=[_format(a) for a in self.addresses])

    async def stop(self) -> None:
        """Stop listening and finish requests in flight. Idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The bound (host, port) pairs: one per socket (``:PORT`` binds IPv4 and IPv6)."""
        if self._runner is None:
            raise RuntimeError("server not started")
        return [(str(name[0]), int(name[1])) for name in self._runner.addresses]

    @property
    def port(self) -> int:
        """The bound port. With ``:0``, IPv4 and IPv6 may get different ports; this is the
        IPv4 one when there is one."""
        addresses = self.addresses
        ipv4 = [port for host, port in addresses if ":" not in host]
        return (ipv4 or [port for _, port in addresses])[0]

    @property
    def url(self) -> str:
        """A base URL that reaches the server from this host, e.g. ``http://127.0.0.1:8080``."""
        host, port = next(((h, p) for h, p in self.addresses if ":" not in h), self.addresses[0])
        wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1"}
        return f"http://{_format((wildcard.get(host, host), port))}"

    # -- handlers ---------------------------------------------------------------------------------

    async def _serve_metrics(self, request: web.Request) -> web.Response:
        body, content_type = self._metrics.render(request.headers.get(hdrs.ACCEPT))
        return web.Response(body=body, headers={hdrs.CONTENT_TYPE: content_type})

    async def _serve_healthz(self, request: web.Request) -> web.Response:
        return self._serve_probe("healthz", request)

    async def _serve_readyz(self, request: web.Request) -> web.Response:
        return self._serve_probe("readyz", request)

    def _serve_probe(self, name: str, request: web.Request) -> web.Response:
        ok, detail = self._evaluate(name)
        failed = sorted(check for check, value in detail.items() if _fails(value))
        status = 200 if ok else 503
        if "verbose" in request.query:
            lines = [
                f"[{'-' if check in failed else '+'}]{check} {_describe(value)}"
                for check, value in sorted(detail.items())
            ]
            lines.append(f"{name} check {'passed' if ok else 'failed'}")
            return web.Response(text="\n".join(lines) + "\n", status=status)
        body = {"status": "ok" if ok else "failed", "failed": failed, "checks": detail}
        return web.json_response(body, status=status, dumps=_dumps)

    def _evaluate(self, name: str) -> tuple[bool, dict[str, Any]]:
        """Run one probe; a probe that raises is a failed probe, never a 500."""
        try:
            reported, found = self._probes[name]()
            detail = dict(found)
        except Exception as exc:
            _log.exception("probe raised", probe=name)
            error = f"{type(exc).__name__}: {exc}"
            reported, detail = False, {"probe": {"ok": False, "error": error}}
        ok = reported and not any(_fails(value) for value in detail.values())
        if self._last_ok.get(name, True) != ok:
            if ok:
                _log.info("probe passes", probe=name)
            else:
                # Not-ready at start is normal; a failing liveness probe is about to restart us.
                report = _log.info if name == "readyz" else _log.warning
                report("probe fails", probe=name, detail=detail)
        self._last_ok[name] = ok
        return ok, detail


def _fails(value: object) -> bool:
    """Whether a check's detail marks it as failing: ``False`` or ``{"ok": False, ...}``."""
    if isinstance(value, Mapping):
        return value.get("ok", True) is False
    return value is False


def _describe(value: object) -> str:
    """One check in ``?verbose`` output: ``ok``/``failed``, then any detail beyond that."""
    word = "failed" if _fails(value) else "ok"
    if isinstance(value, bool):
        return word
    if isinstance(value, Mapping):
        rest = {k: v for k, v in value.items() if k != "ok"}
        return f"{word}: {_dumps(rest)}" if rest else word
    return f"{word}: {_dumps(value)}"


def _dumps(value: object) -> str:
    """JSON that never fails on a detail value it does not know (those become strings)."""
    return json.dumps(value, default=str)


def _format(address: tuple[str, int]) -> str:
    """``host:port``, with brackets around an IPv6 host (the only kind that contains a colon)."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
