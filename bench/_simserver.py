"""``python -m bench._simserver``: standalone kubesim plus a read-only request-counters port.

Equivalent to ``python -m kubesim --port 0 --kubeconfig-out FILE`` (the same ``KubeSim`` class
with its defaults, alone on its own event loop in its own process), plus a second tiny HTTP
server whose ``GET /counters`` returns ``kubesim.Counters`` as JSON. Standalone kubesim exposes
no counters to other processes, and the benchmarks must count writes and LISTs on the server
side, not only through the syncer's own metrics. Nothing of kubesim is modified.

Once both ports are bound, ``--info-out`` receives (atomically) ``{"url", "counters_url"}``
and ``--kubeconfig-out`` a kubeconfig for the API server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web

from kubesim import KubeSim


def _counters_app(sim: KubeSim) -> web.Application:
    async def counters(_request: web.Request) -> web.Response:
        requests = [
            {"verb": v, "resource": r, "count": n} for (v, r), n in sim.counters.snapshot().items()
        ]
        responses = [
            {"verb": v, "resource": r, "code": c, "count": n}
            for (v, r, c), n in sim.counters.responses().items()
        ]
        return web.json_response({"requests": requests, "responses": responses})

    app = web.Application()
    app.router.add_get("/counters", counters)
    return app


async def _serve(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with KubeSim(host=args.host, port=args.port) as sim:
        runner = web.AppRunner(_counters_app(sim), access_log=None)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((args.host, 0))
        counters_port = sock.getsockname()[1]
        await web.SockSite(runner, sock).start()
        sim.write_kubeconfig(args.kubeconfig_out)
        info = {"url": sim.url, "counters_url": f"http://{args.host}:{counters_port}/counters"}
        tmp = args.info_out.with_suffix(".tmp")
        tmp.write_text(json.dumps(info), encoding="utf-8")
        os.replace(tmp, args.info_out)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._simserver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--kubeconfig-out", type=Path, required=True)
    parser.add_argument("--info-out", type=Path, required=True)
    args = parser.parse_args(argv)
    return asyncio.run(_serve(args))


if __name__ == "__main__":
    sys.exit(main())
