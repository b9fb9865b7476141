"""Benchmark kubesim itself: create throughput and LIST latency.

``python -m bench kubesim --json [--policies N] [--concurrency C] [--repeat R] [--server MODE]``

kubesim must never be the bottleneck of controller benchmarks, so this measures what those
benchmarks lean on: sequential creates (one client, keep-alive), concurrent creates (``C``
clients in flight), and the time to LIST ``N`` NetworkPolicies (HTTP round trip plus
``json.loads``; median of ``R`` runs). Targets: >= 2,000 creates/s concurrently and a
10,000-item LIST under 1 s.

``--server inprocess`` (default) runs kubesim on the benchmark's own event loop, as the
controller tests do, so client and server share one core; ``--server subprocess`` runs
``python -m kubesim`` in a child process to measure the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from kubesim import KubeSim

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = "bench"
COLLECTION = f"/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/networkpolicies"


def _policy(i: int) -> bytes:
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": f"np-{i:06d}",
            "namespace": NAMESPACE,
            "labels": {"app": f"app-{i % 50}", "vcluster.loft.sh/managed-by": "bench"},
        },
        "spec": {
            "podSelector": {"matchLabels": {"app": f"app-{i % 50}"}},
            "ingress": [
                {
                    "from": [
                        {"podSelector": {"matchLabels": {"role": "frontend"}}},
                        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                    ],
                    "ports": [{"port": 8080}, {"port": "http", "protocol": "TCP"}],
                }
            ],
            "egress": [
                {"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]}
            ],
        },
    }
    return json.dumps(body).encode()


@contextlib.asynccontextmanager
async def _server(mode: str) -> AsyncIterator[str]:
    """Yield the base URL of a fresh server with the benchmark namespace."""
    if mode == "inprocess":
        async with KubeSim() as sim:
            sim.store.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
            )
            yield sim.url
        return
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "kubeconfig"
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kubesim",
            "--port",
            "0",
            "--kubeconfig-out",
            str(config),
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while not config.exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("kubesim subprocess did not start")
                await asyncio.sleep(0.02)
            url = yaml.safe_load(config.read_text())["clusters"][0]["cluster"]["server"]
            async with aiohttp.ClientSession() as session:
                ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
                async with session.post(f"{url}/api/v1/namespaces", json=ns) as resp:
                    resp.raise_for_status()
            yield url
        finally:
            proc.terminate()
            await proc.wait()


class RawClient:
    """A minimal keep-alive HTTP/1.1 client: one connection, one request at a time.

    aiohttp's client costs about as much CPU per request as kubesim's whole write path, so
    with it the benchmark would mostly measure the client. This one only frames requests and
    reads ``Content-Length`` responses, which is all the create benchmark needs.
    """

    def __init__(self, url: str) -> None:
        self.host, self.port = _host_port(url)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


def _host_port(url: str) -> tuple[str, int]:
    """(host, port) of an ``http://host:port`` URL."""
    hostport = url.split("://", 1)[1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    return host, int(port)


async def _create_all(url: str, bodies: list[bytes], client: str) -> None:
    """Create every body in order over one connection."""
    if client == "aiohttp":
        async with aiohttp.ClientSession() as session:
            for body in bodies:
                async with session.post(
                    url + COLLECTION, data=body, headers={"Content-Type": "application/json"}
                ) as resp:
                    if resp.status != 201:
                        raise RuntimeError(f"create failed: {resp.status} {await resp.text()}")
                    await resp.read()
        return
    raw = RawClient(url)
    try:
        for body in bodies:
            status, answer = await raw.request("POST", COLLECTION, body)
            if status != 201:
                raise RuntimeError(f"create failed: {status} {answer[:300]!r}")
    finally:
        await raw.close()


async def _measure(
    mode: str, client: str, policies: int, sequential: int, concurrency: int, repeat: int
) -> dict[str, Any]:
    bodies = [_policy(i) for i in range(policies)]
    async with _server(mode) as url:
        started = time.perf_counter()
        await _create_all(url, bodies[:sequential], client)
        seq_elapsed = time.perf_counter() - started

        remaining = policies - sequential
        chunks = [bodies[sequential + w :: concurrency] for w in range(concurrency)]
        started = time.perf_counter()
        await asyncio.gather(*(_create_all(url, chunk, client) for chunk in chunks))
        conc_elapsed = time.perf_counter() - started

        async with aiohttp.ClientSession() as session:
            list_times: list[float] = []
            parse_times: list[float] = []
            count = 0
            for _ in range(repeat):
                started = time.perf_counter()
                async with session.get(url + COLLECTION) as resp:
                    body = await resp.read()
                fetched = time.perf_counter()
                count = len(json.loads(body)["items"])
                list_times.append(fetched - started)
                parse_times.append(time.perf_counter() - started)
            if count != policies:
                raise RuntimeError(f"listed {count} policies, expected {policies}")
            selector_times: list[float] = []
            for _ in range(repeat):
                started = time.perf_counter()
                async with session.get(
                    url + COLLECTION, params={"labelSelector": "app=app-7"}
                ) as resp:
                    await resp.read()
                selector_times.append(time.perf_counter() - started)
    return {
        "sequential_creates_per_s": round(sequential / seq_elapsed, 1),
        "concurrent_creates_per_s": round(remaining / conc_elapsed, 1) if remaining else None,
        "list_seconds_median": round(statistics.median(list_times), 4),
        "list_with_parse_seconds_median": round(statistics.median(parse_times), 4),
        "list_label_selector_seconds_median": round(statistics.median(selector_times), 4),
        "list_bytes": len(body),
    }


def main(argv: list[str]) -> int:
    """Run the benchmark and print the results (JSON with ``--json``)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench kubesim", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--policies", type=int, default=10_000, help="policies to create and list")
    parser.add_argument(
        "--sequential", type=int, default=1_000, help="how many of them one at a time"
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="concurrent clients for the rest"
    )
    parser.add_argument("--repeat", type=int, default=5, help="LIST repetitions (median reported)")
    parser.add_argument("--server", choices=["inprocess", "subprocess"], default="inprocess")
    parser.add_argument(
        "--client",
        choices=["raw", "aiohttp"],
        default="raw",
        help="create clients: a minimal HTTP/1.1 client (default) or aiohttp's",
    )
    args = parser.parse_args(argv)
    sequential = min(args.sequential, max(1, args.policies // 2))
    results = asyncio.run(
        _measure(args.server, args.client, args.policies, sequential, args.concurrency, args.repeat)
    )
    report = {
        "benchmark": "kubesim",
        "parameters": {
            "policies": args.policies,
            "sequential": sequential,
            "concurrency": args.concurrency,
            "repeat": args.repeat,
            "server": args.server,
            "client": args.client,
            "load_average": os.getloadavg()[0],
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
        },
        "results": results,
        "targets": {"concurrent_creates_per_s": 2000, "list_10k_seconds": 1.0},
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in results.items():
            print(f"{key:40} {value}")
    return 0
