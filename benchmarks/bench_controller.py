"""Controller overhead: submit-to-Succeeded of a one-step trivial DASF workflow
through the fake Argo Server and the test-side Argo controller, beside creating the
same DaskJob directly on the fake Kubernetes API (both with the real Dask operator).

    python benchmarks/bench_controller.py [--repeat N] [--json rows.json]
"""

from __future__ import annotations

import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_kubernetes import isolate_home
from common import arguments, report, row

ROOT = Path(__file__).resolve().parents[1]
GOAL_RATIO = 1.10
TRIVIAL = "print(client.submit(sum, [1, 2]).result())\n"


def time_through_argo(draft) -> float:
    from argodasf_jupyter import argo

    started = time.perf_counter()
    name = argo.submit(draft)["name"]
    summary = argo.watch(name, lambda _: None, interval=0.1, timeout=300)
    if summary["phase"] != "Succeeded":
        raise RuntimeError(f"workflow {name} ended {summary['phase']}: {summary}")
    return time.perf_counter() - started


def time_direct(fk, step, name: str) -> float:
    from kr8s.objects import new_class

    from argodasf_jupyter import step_script, workflow

    job = new_class("DaskJob", "kubernetes.dask.org/v1", asyncio=False)
    started = time.perf_counter()
    job(workflow.dask_job_manifest(step, name, step_script.parameter_environment(step, None))).create()
    while (fk.get("daskjobs", name) or {}).get("status", {}).get("jobStatus") != "Successful":
        if (fk.get("daskjobs", name) or {}).get("status", {}).get("jobStatus") == "Failed":
            raise RuntimeError(f"DaskJob {name} failed")
        time.sleep(0.1)
    return time.perf_counter() - started


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    isolate_home()
    sys.path.insert(0, str(ROOT / "tests"))
    from argo.stack import argo_on_kubernetes
    from argo.template_engine import TemplateEngine
    from argodasf_jupyter import promote
    from argodasf_jupyter.draft import Draft
    from argodasf_jupyter.spec import parse_spec

    scratch = Path(tempfile.mkdtemp(prefix="bench-controller-"))
    step = promote.make_step("trivial", TRIVIAL, cluster=parse_spec({"workers": 1}))
    draft = Draft("bench", str(scratch / "bench.dasf-workflow.json"), [step])
    names = itertools.count()
    engine = TemplateEngine.start()
    try:
        with argo_on_kubernetes(scratch / "kube", engine) as (fk, _server):
            time_direct(fk, step, "warmup")  # first imports and first pods are slower
            ours_samples, direct_samples = [], []
            for _ in range(args.repeat):  # alternately, so load affects both alike
                direct_samples.append(time_direct(fk, step, f"direct-{next(names)}"))
                ours_samples.append(time_through_argo(draft))
    finally:
        engine.close()
    ours, direct = statistics.median(ours_samples), statistics.median(direct_samples)
    rows = [
        row(
            "seconds submit-to-Succeeded, one trivial DASF step: through Argo vs the DaskJob alone",
            ours,
            direct,
            "s",
            f"ratio <= {GOAL_RATIO}",
        )
    ]
    report(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
