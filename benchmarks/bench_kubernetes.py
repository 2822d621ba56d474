"""Kubernetes backend overhead, measured side by side on the fake Kubernetes API
with the real Dask operator (tests/kube/harness.py).

For each round, in alternating order: the time until a 2-worker cluster is ready
through ``backends.kubernetes.start`` versus a bare ``KubeCluster`` given the same
DaskCluster and then waiting for 2 workers; closing is not timed. Also the API
requests per create, scale and close through the backend. Prints a table;
--json writes the rows for run_all.py.

    cd benchmarks && python bench_kubernetes.py --repeat 3 --json kubernetes.json
"""

from __future__ import annotations

import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import arguments, report, row

GOAL_RATIO = 1.10
ROOT = Path(__file__).resolve().parents[1]


def isolate_home() -> None:
    """Importing dask_kubernetes writes into ~/.config/dask: use a private HOME."""
    home = tempfile.mkdtemp(prefix="bench-home-")
    os.environ["HOME"] = home
    os.environ["DASK_CONFIG"] = os.path.join(home, ".config", "dask")
    import dask.config

    dask.config.PATH = os.environ["DASK_CONFIG"]


def spec_for(name: str):
    from argodasf_jupyter.spec import parse_spec

    return parse_spec(
        {
            "name": name,
            "backend": "kubernetes",
            "workers": 2,
            "image": "example.org/dask:1",
            "scheduler_service_type": "LoadBalancer",
        }
    )


def time_backend(name: str) -> float:
    from argodasf_jupyter.backends import kubernetes

    started = time.perf_counter()
    cluster = kubernetes.start(spec_for(name), lambda phase: None)
    elapsed = time.perf_counter() - started
    cluster.close()
    return elapsed


def time_bare(name: str, namespace: str) -> float:
    from dask_kubernetes.operator import KubeCluster

    from argodasf_jupyter import manifests

    body = manifests.dask_cluster(spec_for(name), name, namespace)
    started = time.perf_counter()
    cluster = KubeCluster(custom_cluster_spec=body, namespace=namespace, quiet=True)
    cluster.wait_for_workers(2)
    elapsed = time.perf_counter() - started
    cluster.close()
    return elapsed


def requests_per_operation(fk) -> dict:
    """API requests served during create, scale (2 -> 3) and close, all clients."""
    from distributed import Client

    from argodasf_jupyter.backends import kubernetes

    counts = {}
    fk.reset_request_counts()
    cluster = kubernetes.start(spec_for("counted"), lambda phase: None)
    counts["create"] = sum(fk.request_counts().values())
    fk.reset_request_counts()
    with Client(cluster) as client:
        cluster.scale(3)
        client.wait_for_workers(3, timeout=120)
    counts["scale"] = sum(fk.request_counts().values())
    fk.reset_request_counts()
    cluster.close()
    counts["close"] = sum(fk.request_counts().values())
    return counts


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    isolate_home()
    sys.path.insert(0, str(ROOT / "tests"))
    from kube.harness import FakeKubernetes

    names = itertools.count()
    with FakeKubernetes(tempfile.mkdtemp(prefix="bench-kube-")) as fk:
        time_bare("warmup", fk.namespace)  # first imports and first pods are slower
        ours_samples, bare_samples = [], []
        for _ in range(args.repeat):  # alternately, so load affects both alike
            bare_samples.append(time_bare(f"k{next(names)}", fk.namespace))
            ours_samples.append(time_backend(f"b{next(names)}"))
        ours, bare = statistics.median(ours_samples), statistics.median(bare_samples)
        requests = requests_per_operation(fk)

    rows = [
        row(
            "seconds to a ready 2-worker cluster: backend vs bare KubeCluster",
            ours,
            bare,
            "s",
            f"ratio <= {GOAL_RATIO}",
        )
    ]
    rows += [
        row(f"API requests per {operation} (backend)", count, None, "requests", "informational")
        for operation, count in requests.items()
    ]
    report(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
