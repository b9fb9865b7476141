"""Throughput of translate + patch: the CPU work the controller does per reconciled policy.

``python -m bench translate --json`` translates a typical two-rule policy and applies the example
config's patches (examples/vcluster.yaml) in a loop on one core, and prints the median of
several rounds in policies/second, with translate-only and patch-only figures so a regression
can be located. Target: at least 20,000 policies/second.

Rates are per second of the process's CPU time, so a busy machine (CI runners, tests running
beside) does not halve the figure; the wall-clock median is reported next to it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import patches
import translate
from syncer.configuration import config

TARGET_PER_SECOND = 20_000
EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "examples" / "vcluster.yaml"

POLICY: translate.NetworkPolicy = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {
        "name": "storefront",
        "namespace": "shop",
        "uid": "6f1c1d36-9d7c-4c43-9b39-1f3b6f0b5a11",
        "resourceVersion": "48213",
        "generation": 3,
        "labels": {"app.kubernetes.io/name": "storefront", "release": "shop"},
        "annotations": {
            "description": "storefront: ingress from the ingress tier, egress to the payment API",
            "kubectl.kubernetes.io/last-applied-configuration": '{"apiVersion":"..."}',
        },
    },
    "spec": {
        "podSelector": {"matchLabels": {"app": "storefront"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"network.example.com/tier": "ingress"}
                        },
                        "podSelector": {"matchLabels": {"app": "ingress-nginx"}},
                    }
                ],
                "ports": [{"protocol": "TCP", "port": 8080}],
            }
        ],
        "egress": [
            {
                "to": [{"ipBlock": {"cidr": "203.0.113.0/24", "except": ["203.0.113.128/25"]}}],
                "ports": [{"protocol": "TCP", "port": 443}],
            }
        ],
    },
}
"""A typical tenant policy: one ingress and one egress rule, labels, annotations."""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench translate", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported")
    parser.add_argument("--seconds", type=float, default=1.0, help="approximate length of a round")
    parser.add_argument("--config", type=Path, default=EXAMPLE_CONFIG, help="vcluster.yaml")
    args = parser.parse_args(argv)

    pinned = _pin_to_one_core()
    patch_list = config.load(args.config).patches
    target = translate.Target(vcluster="shop", host_namespace="vc-shop")
    translated = translate.to_host(POLICY, target)

    def both() -> object:
        return patch_list.apply(translate.to_host(POLICY, target), vcluster=target.vcluster)

    def translate_only() -> object:
        return translate.to_host(POLICY, target)

    def patch_only() -> object:
        return patch_list.apply(translated, vcluster=target.vcluster)

    both()  # fail fast if the example patches are refused
    iterations = _calibrate(both, args.seconds)
    cpu = time.process_time
    rounds = [_rate(both, iterations, cpu) for _ in range(args.rounds)]
    wall = [_rate(both, iterations, time.perf_counter) for _ in range(args.rounds)]
    median = statistics.median(rounds)
    result: dict[str, Any] = {
        "benchmark": "translate",
        "policies_per_second": round(median),
        "rounds_per_second": [round(r) for r in rounds],
        "wall_clock_policies_per_second": round(statistics.median(wall)),
        "translate_only_per_second": round(
            statistics.median(_rate(translate_only, iterations, cpu) for _ in range(args.rounds))
        ),
        "patch_only_per_second": round(
            statistics.median(_rate(patch_only, iterations, cpu) for _ in range(args.rounds))
        ),
        "target_per_second": TARGET_PER_SECOND,
        "meets_target": median >= TARGET_PER_SECOND,
        "parameters": {
            "policy": "two rules: ingress from namespace+pod selector, egress to ipBlock+except",
            "config": str(args.config),
            "patches": [patches.describe(op) for op in patch_list.operations],
            "rounds": args.rounds,
            "iterations_per_round": iterations,
            "cpu": pinned,
            "clock": "process CPU time (wall clock reported separately)",
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"translate+patch: {result['policies_per_second']:,} policies/s (median of"
            f" {args.rounds}; target {TARGET_PER_SECOND:,}); translate only:"
            f" {result['translate_only_per_second']:,}/s; patch only:"
            f" {result['patch_only_per_second']:,}/s"
        )
    return 0


def _pin_to_one_core() -> int | None:
    """Run on a single CPU so the figure is per core, whatever the machine."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def _calibrate(work: Callable[[], object], seconds: float) -> int:
    """Iterations that take about ``seconds``."""
    n = 100
    while True:
        start = time.perf_counter()
        for _ in range(n):
            work()
        elapsed = time.perf_counter() - start
        if elapsed >= 0.2:
            return max(1, int(n * seconds / elapsed))
        n *= 2


def _rate(work: Callable[[], object], iterations: int, clock: Callable[[], float]) -> float:
    gc.collect()
    start = clock()
    for _ in range(iterations):
        work()
    return iterations / (clock() - start)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
