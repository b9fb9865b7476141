"""``python -m kubesim``: run a standalone server until SIGINT/SIGTERM.

    python -m kubesim --port 6443 --kubeconfig-out /tmp/kubesim.yaml [--tls] [--host 127.0.0.1]
    kubectl --kubeconfig /tmp/kubesim.yaml get networkpolicies -A

The kubeconfig is written atomically once the port is bound (with ``--port 0`` it contains the
port the OS chose), so scripts can wait for the file to appear. The URL is printed on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import signal
import sys
from pathlib import Path

import yaml

from kubesim.server import DEFAULT_BOOKMARK_INTERVAL, KubeSim


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kubesim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=6443, help="port to bind; 0 picks a free one")
    parser.add_argument(
        "--kubeconfig-out", type=Path, help="write a kubeconfig for this server here"
    )
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA")
    parser.add_argument("--token", help="bearer token to put in the kubeconfig")
    parser.add_argument(
        "--rbac",
        type=Path,
        help="YAML/JSON file mapping bearer tokens to RBAC rules (turns authorization on)",
    )
    parser.add_argument(
        "--bookmark-interval",
        type=float,
        default=DEFAULT_BOOKMARK_INTERVAL,
        help="seconds between watch bookmarks",
    )
    parser.add_argument(
        "--register",
        action="append",
        default=[],
        metavar="APIVERSION/KIND",
        help="serve a custom kind, e.g. monitoring.coreos.com/v1/ServiceMonitor (repeatable)",
    )
    return parser


async def _serve(args: argparse.Namespace) -> int:
    rbac = yaml.safe_load(args.rbac.read_text()) if args.rbac else None
    sim = KubeSim(
        host=args.host,
        port=args.port,
        tls=args.tls,
        rbac=rbac,
        bookmark_interval=args.bookmark_interval,
    )
    for spec in args.register:
        api_version, _, kind = spec.rpartition("/")
        sim.register(api_version, kind)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if rbac is not None and not args.tls:
        print(
            "warning: kubectl and client-go do not send bearer tokens over plain HTTP; "
            "use --tls together with --rbac",
            file=sys.stderr,
        )
    async with sim:
        if args.kubeconfig_out:
            sim.write_kubeconfig(args.kubeconfig_out, token=args.token)
        print(f"kubesim listening on {sim.url}", flush=True)
        await stop.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve until a termination signal."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.tls and importlib.util.find_spec("trustme") is None:
        # trustme (and the cryptography package it brings) is the [tls] extra, not a core
        # dependency: say so instead of failing with a traceback after start-up.
        parser.error("--tls needs the 'trustme' package: pip install 'netpol-syncer[tls]'")
    return asyncio.run(_serve(args))


if __name__ == "__main__":
    sys.exit(main())
