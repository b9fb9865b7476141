"""``netpol-syncer demo``: the real syncer against two embedded API servers, no cluster needed.

Starts two kubesim servers (a "virtual" cluster and a "host" cluster), seeds the virtual one
with the example tenant policies and the example vcluster.yaml patches, runs exactly what
``netpol-syncer run`` runs until the host matches, then edits and deletes a policy to show the
copies following. Prints what it synced and a metrics summary; exits 0 only if every step
converged. ``--keep-running`` leaves both servers up with kubeconfigs for kubectl.

This is the only production module allowed to import kubesim (an import-linter contract).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import importlib.resources
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, cast

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

import guardrails
import translate
from kubesim import KubeSim
from syncer.commands import running
from syncer.configuration import config, settings
from syncer.runtime import logs
from translate import markers

VCLUSTER = "demo"
HOST_NAMESPACE = "vcluster-demo"
TIMEOUT = 30.0
DEMO_GUARDRAILS = """
# Added by `netpol-syncer demo` (docs/security.md): the platform's envelope around tenants.
guardrails:
  # "allow DNS on 53" also allows CoreDNS on its real port behind the kube-dns Service.
  dns: auto
  # Cloud metadata, and one host in the card processor's range the platform team blocks.
  blockedCIDRs: [169.254.169.254/32, 203.0.113.7/32]
  # The syncer owns workload isolation (vCluster's policies.networkPolicy off): baselines
  # give every pod no tenant policy selects the envelope, so tenant denies still hold.
  isolation: managed
"""
"""Seeded after the example vcluster.yaml, so the demo shows a narrowed policy and DNS."""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="netpol-syncer demo",
        description="Run the syncer against two embedded API servers and show what it does.",
    )
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="leave both API servers and the syncer running (Ctrl-C to stop) for kubectl",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help="syncer log level on stderr (default: warning, so the summary stays readable)",
    )
    args = parser.parse_args(argv)
    logs.configure(log_format="console", level=args.log_level)
    try:
        return asyncio.run(_demo(keep_running=args.keep_running, out=sys.stdout))
    except KeyboardInterrupt:
        return 0


async def _demo(*, keep_running: bool, out: TextIO) -> int:
    with contextlib.ExitStack() as stack:
        # The shipped examples (a wheel's syncer/examples, or examples/ in a checkout).
        examples = stack.enter_context(
            importlib.resources.as_file(importlib.resources.files("syncer.examples"))
        )
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="netpol-demo-")))
        async with KubeSim() as virtual, KubeSim(namespaces=["default", HOST_NAMESPACE]) as host:
            policies = _seed(virtual, examples / "policies")
            virtual.store.create(copy.deepcopy(dict(guardrails.dns.DEFAULT_SERVICE)))
            config_path = workdir / "vcluster.yaml"
            example = (examples / "vcluster.yaml").read_text(encoding="utf-8")
            config_path.write_text(example + DEMO_GUARDRAILS, encoding="utf-8")
            options = settings.Settings(
                name=VCLUSTER,
                host_namespace=HOST_NAMESPACE,
                virtual_kubeconfig=str(virtual.write_kubeconfig(workdir / "virtual.kubeconfig")),
                host_kubeconfig=str(host.write_kubeconfig(workdir / "host.kubeconfig")),
                config_path=str(config_path),
                sync=config.load(config_path),
                metrics_address="127.0.0.1:0",
                workers=4,
                virtual_qps=1000.0,
                virtual_burst=1000,
                host_qps=1000.0,
                host_burst=1000,
            )
            syncer = running.Syncer(options)
            stop = asyncio.Event()
            task = asyncio.create_task(syncer.run(stop))
            try:
                ok = await _show(syncer, virtual, host, policies, out)
                if keep_running and ok:
                    _print_hints(workdir, virtual, host, syncer, out)
                    await asyncio.Event().wait()
            finally:
                stop.set()
                code = await task
            return code if ok else 1
    return 1


def _seed(virtual: KubeSim, folder: Path) -> list[dict[str, Any]]:
    created: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not doc:
                continue
            namespace = doc.setdefault("metadata", {}).setdefault("namespace", "default")
            if virtual.store.find("namespaces", None, namespace) is None:
                virtual.store.create(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
                )
            created.append(virtual.store.create(doc))
    return created


async def _show(
    syncer: running.Syncer,
    virtual: KubeSim,
    host: KubeSim,
    policies: list[dict[str, Any]],
    out: TextIO,
) -> bool:
    started = time.perf_counter()
    ok = await _wait(lambda: len(_host_copies(host)) == len(policies))
    print(
        f"synced {len(_host_copies(host))}/{len(policies)} example policies "
        f"in {time.perf_counter() - started:.2f}s\n",
        file=out,
    )
    _print_table(host, out)
    if not ok:
        print("\nthe host did not converge; see the log above", file=out)
        return False
    ok = await _print_guardrails(virtual, host, out)
    ok = ok and await _print_baselines(syncer, virtual, host, out)

    edited = copy.deepcopy(virtual.store.get("networkpolicies", *_key(policies[0])))
    edited["metadata"].setdefault("labels", {})["demo/edited"] = "true"
    virtual.store.update(edited)
    ok = await _wait(lambda: _host_label(host, edited, "demo/edited") == "true")
    print(f"\nlabelled {_ref(edited)} in the virtual cluster: host copy updated: {ok}", file=out)

    doomed = policies[-1]
    virtual.store.delete("networkpolicies", *_key(doomed))
    ok = ok and await _wait(lambda: len(_host_copies(host)) == len(policies) - 1)
    print(f"deleted {_ref(doomed)} in the virtual cluster: host copy deleted: {ok}", file=out)

    assert syncer.server is not None
    await _print_metrics(syncer.server.url, out)
    return ok


async def _print_guardrails(virtual: KubeSim, host: KubeSim, out: TextIO) -> bool:
    """The Normal events telling tenants what the guardrails changed, and the DNS rule."""

    def narrowed() -> list[dict[str, Any]]:
        return [e for e in virtual.store.list("events") if e.get("reason") == "PolicyNarrowed"]

    ok = await _wait(lambda: len(narrowed()) >= 2)
    print("\nguardrails (Normal events on the virtual policies):", file=out)
    for event in sorted(narrowed(), key=lambda e: e["involvedObject"]["name"]):
        involved = event["involvedObject"]
        print(f"  {involved['namespace']}/{involved['name']}: {event['message']}", file=out)
    for obj in _host_copies(host):
        for rule in obj["spec"].get("egress", []):
            ports = [f"{p['port']}/{p['protocol']}" for p in rule.get("ports", [])]
            if "1053/UDP" in ports:
                name = obj["metadata"]["name"]
                print(f"  DNS rule on the host: {name} allows {', '.join(ports)}", file=out)
    return ok


async def _print_baselines(
    syncer: running.Syncer, virtual: KubeSim, host: KubeSim, out: TextIO
) -> bool:
    """``isolation: managed``: the baselines, once settled, and the pods each one selects."""
    target = translate.Target(vcluster=VCLUSTER, host_namespace=HOST_NAMESPACE)
    rails = syncer.config.sync.guardrails

    def settled() -> bool:
        copies = {}
        for obj in _host_copies(host):
            key = translate.virtual_key_of(obj, target)
            if key is not None:
                copies[(key.namespace, key.name)] = cast(translate.NetworkPolicy, obj)
        tenants = cast(list[translate.NetworkPolicy], virtual.store.list("networkpolicies"))
        planned = guardrails.plan(tenants, copies, rails, target).policies
        want = {p["metadata"]["name"]: p["spec"] for p in planned}
        return bool(want) and want == {p["metadata"]["name"]: p["spec"] for p in _baselines(host)}

    ok = await _wait(settled)
    print("\nisolation baselines (pods no tenant policy selects get the envelope):", file=out)
    for obj in _baselines(host):
        selector = obj["spec"]["podSelector"]
        labels = selector.get("matchLabels", {})
        namespace = labels.get(markers.NAMESPACE)
        direction = obj["metadata"]["annotations"][guardrails.BASELINE_ANNOTATION]
        terms = [
            f"{e['key']} {e['operator']} {','.join(e.get('values', []))}".rstrip()
            for e in selector.get("matchExpressions", [])
        ]
        where = f"namespace {namespace}"
        if not namespace:  # the others baseline: its one term names the excluded namespaces
            excluded = [v for e in selector.get("matchExpressions", []) for v in e["values"]]
            where = "every namespace" + (f" except {', '.join(excluded)}" if excluded else "")
            terms = []
        print(
            f"  {obj['metadata']['name']}: {direction} of the pods in {where}"
            + (f" where {' and '.join(terms)}" if terms else ""),
            file=out,
        )
    return ok


async def _wait(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


def _host_copies(host: KubeSim) -> list[dict[str, Any]]:
    return [p for p in _ours(host) if guardrails.BASELINE_LABEL not in p["metadata"]["labels"]]


def _baselines(host: KubeSim) -> list[dict[str, Any]]:
    return [p for p in _ours(host) if guardrails.BASELINE_LABEL in p["metadata"]["labels"]]


def _ours(host: KubeSim) -> list[dict[str, Any]]:
    return host.store.list(
        "networkpolicies", HOST_NAMESPACE, label_selector=f"{markers.MANAGED_BY}={VCLUSTER}"
    )


def _host_label(host: KubeSim, virtual_obj: dict[str, Any], label: str) -> str | None:
    for obj in _host_copies(host):
        annotations = obj["metadata"].get("annotations", {})
        if annotations.get(markers.OBJECT_NAME) == virtual_obj["metadata"]["name"]:
            return str(obj["metadata"].get("labels", {}).get(label, "")) or None
    return None


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["metadata"]["namespace"], obj["metadata"]["name"]


def _ref(obj: dict[str, Any]) -> str:
    return "{}/{}".format(*_key(obj))


def _print_table(host: KubeSim, out: TextIO) -> None:
    rows = [("VIRTUAL", "HOST (namespace " + HOST_NAMESPACE + ")", "POD SELECTOR ON HOST")]
    for obj in _host_copies(host):
        annotations = obj["metadata"]["annotations"]
        selector = obj["spec"]["podSelector"].get("matchLabels", {})
        rows.append(
            (
                f"{annotations[markers.OBJECT_NAMESPACE]}/{annotations[markers.OBJECT_NAME]}",
                obj["metadata"]["name"],
                ",".join(f"{k}={v}" for k, v in selector.items()),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    for row in rows:
        print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}", file=out)


async def _print_metrics(url: str, out: TextIO) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        text = await response.text()
    wanted = {
        "netpol_syncer_reconcile": "reconciles",
        "netpol_syncer_api_requests": "API requests",
        "netpol_syncer_synced_policies": "policies in sync",
        "netpol_syncer_errors": "sync errors",
    }
    print("\nmetrics (from /metrics):", file=out)
    for family in text_string_to_metric_families(text):
        title = wanted.get(family.name)
        if title is None:
            continue
        parts = []
        for sample in family.samples:
            if sample.name.endswith("_created") or not sample.value:
                continue
            label = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            parts.append(f"{label or 'value'}: {sample.value:g}")
        print(f"  {title:<17} {'; '.join(parts) or '0'}", file=out)


def _print_hints(
    workdir: Path, virtual: KubeSim, host: KubeSim, syncer: running.Syncer, out: TextIO
) -> None:
    assert syncer.server is not None
    print(
        "\nstill running (Ctrl-C to stop):\n"
        f"  kubectl --kubeconfig {workdir / 'virtual.kubeconfig'} get networkpolicies -A\n"
        f"  kubectl --kubeconfig {workdir / 'host.kubeconfig'} -n {HOST_NAMESPACE} "
        "get networkpolicies\n"
        f"  curl {syncer.server.url}/metrics",
        file=out,
        flush=True,
    )
