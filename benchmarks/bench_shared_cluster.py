"""One Dask cluster for a whole workflow (cluster: shared) against a DaskJob per step,
measured through the Argo-semantics controller on the fake Kubernetes API with the
real Dask operator (tests/argo/stack.py).

- Submit to Succeeded of a workflow of 4 trivial DASF steps in a chain, shared and
  per-step alternately (goal: shared <= 0.5x per-step).
- Per-step overhead in shared mode: the time from one step's end (or the shared
  cluster's Running) to the next step's end, as the controller sees it, against a
  bare process running the same step script against the same existing cluster
  (goal <= 1.3x).

    cd benchmarks && python bench_shared_cluster.py --repeat 2 --json shared.json
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import arguments, report, row

ROOT = Path(__file__).resolve().parents[1]
STEPS = 4
TASK = "total = client.submit(sum, range(n)).result()\nprint('step result', total)\n"
FINAL = ("Succeeded", "Failed", "Error")


def draft(directory: Path, mode: str):
    from argodasf_jupyter import promote
    from argodasf_jupyter.draft import Draft
    from argodasf_jupyter.spec import parse_spec

    shape = parse_spec({"workers": 1, "threads_per_worker": 1})
    result = Draft("bench", str(directory / f"{mode}.dasf-workflow.json"))
    for i in range(STEPS):
        result.add(
            promote.make_step(f"step{i}", TASK, values={"n": 10}, cluster=shape, after=[f"step{i - 1}"] if i else [])
        )
    result.set_cluster(mode)
    return result


class NodeClock:
    """When each node of a workflow first reached Succeeded, read from the store."""

    def __init__(self, fk, resource, name):
        self.fk, self.resource, self.name = fk, resource, name
        self.succeeded: dict[str, float] = {}
        self.phase = None
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self):
        while self.phase not in FINAL:
            document = self.fk.store.get(self.resource, self.fk.namespace, self.name)
            status = document.get("status") or {}
            for node in (status.get("nodes") or {}).values():
                if node["phase"] == "Succeeded":
                    self.succeeded.setdefault(node["displayName"], time.perf_counter())
            self.phase = status.get("phase")
            time.sleep(0.02)

    def wait(self, timeout=600):
        self._thread.join(timeout)
        if self.phase != "Succeeded":
            raise RuntimeError(f"workflow {self.name} ended {self.phase}")


def run_workflow(fk, server, directory: Path, mode: str) -> tuple[float, list[float]]:
    """Seconds from submit to Succeeded, and for shared mode each step's time after the one before."""
    from argodasf_jupyter import argo, shared_cluster

    started = time.perf_counter()
    name = argo.submit(draft(directory, mode))["name"]
    clock = NodeClock(fk, server.resource, name)
    clock.wait()
    elapsed = time.perf_counter() - started
    marks = [clock.succeeded.get(shared_cluster.CLUSTER_TEMPLATE)] + [clock.succeeded[f"step{i}"] for i in range(STEPS)]
    steps = [later - earlier for earlier, later in zip(marks, marks[1:], strict=False)] if marks[0] else []
    fk.wait_for(lambda: fk.objects("daskclusters") == [], timeout=120)
    return elapsed, steps


def bare_step(fk, address: str, directory: Path) -> float:
    """The same step script in a plain process against an existing cluster."""
    from argodasf_jupyter import step_script

    step = draft(directory, "per-step").steps["step1"]
    started = time.perf_counter()
    result = step_script.run_script(step, address)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stdout[-1000:])
    return elapsed


def existing_cluster(fk):
    """A DaskCluster of the same shape, Running, as the baseline's existing cluster."""
    from argodasf_jupyter import manifests
    from argodasf_jupyter.spec import parse_spec

    fk.create(manifests.dask_cluster(parse_spec({"workers": 1, "threads_per_worker": 1}), "bare"))
    fk.wait_for(lambda: (fk.get("daskclusters", "bare") or {}).get("status", {}).get("phase") == "Running", timeout=120)
    return f"tcp://bare-scheduler.{fk.namespace}:8786"


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    from bench_kubernetes import isolate_home

    isolate_home()
    sys.path.insert(0, str(ROOT / "tests"))
    from argo.stack import argo_on_kubernetes
    from argo.template_engine import TemplateEngine
    from kube.harness import POD_SITE_DIR

    directory = Path(tempfile.mkdtemp(prefix="bench-shared-"))
    engine = TemplateEngine.start()
    try:
        with argo_on_kubernetes(directory / "kube", engine) as (fk, server):
            run_workflow(fk, server, directory, "shared")  # first imports and first pods are slower
            shared_totals, per_step_totals, shared_steps = [], [], []
            for _ in range(args.repeat):  # alternately, so load affects both alike
                per_step_totals.append(run_workflow(fk, server, directory, "per-step")[0])
                total, steps = run_workflow(fk, server, directory, "shared")
                shared_totals.append(total)
                shared_steps += steps
            # the bare process resolves the cluster's Service names as the pods do
            os.environ.update(PYTHONPATH=str(POD_SITE_DIR), FAKEKUBE_HOSTS=str(fk.root / "hosts.json"))
            address = existing_cluster(fk)
            bare_samples = [bare_step(fk, address, directory) for _ in range(max(3, args.repeat))]
    finally:
        engine.close()
    shared, per_step = statistics.median(shared_totals), statistics.median(per_step_totals)
    rows = [
        row(
            f"submit to Succeeded, {STEPS} trivial DASF steps: shared vs per-step",
            shared,
            per_step,
            "s",
            "ratio <= 0.5",
        ),
        row(
            "seconds per DASF step in shared mode vs bare process on an existing cluster",
            statistics.median(shared_steps),
            statistics.median(bare_samples),
            "s",
            "ratio <= 1.3",
        ),
    ]
    report(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
