"""Log latency: seconds from a line printed in a DASF step's runner pod to its arrival
in `logs --follow` (step_logs.follow), beside a bare kr8s follow of the same pod, both
following at once on the fake Kubernetes API with the real Dask operator.

    python benchmarks/bench_step_logs.py [--repeat N] [--json rows.json]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_kubernetes import isolate_home
from common import arguments, report, row

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 1.0
WORKFLOW = "bench-logs"
# each line carries the moment it was printed; the pod runs on this machine's clock
TICKER = """
import time
for number in range(lines):
    print(f"tick {time.time():.6f}", flush=True)
    time.sleep(0.2)
"""


def latencies(received: list[tuple[str, float]]) -> list[float]:
    return [arrived - float(line.split()[1]) for line, arrived in received if line.startswith("tick ")]


def follow_bare(pod_name: str, namespace: str, received: list) -> None:
    """A kr8s follow of the runner pod, once it exists (what step_logs adds is the search)."""
    from kr8s.objects import Pod

    while True:
        try:
            pod = Pod.get(pod_name, namespace=namespace)
            break
        except Exception:  # not created yet
            time.sleep(0.1)
    for line in pod.logs(follow=True, timeout=300):
        received.append((line, time.time()))


def one_round(step, index: int) -> tuple[list[float], list[float]]:
    from kr8s.objects import new_class

    from argodasf_jupyter import step_jobs, step_logs, step_script, workflow

    name = workflow.job_name(f"{WORKFLOW}{index}", step.name)
    labels = {step_jobs.LABEL_WORKFLOW: f"{WORKFLOW}{index}", step_jobs.LABEL_STEP: step.name}
    ours, bare = [], []
    followers = [
        threading.Thread(
            target=step_logs.follow,
            args=(f"{WORKFLOW}{index}", step.name, lambda line: ours.append((line, time.time()))),
        ),
        threading.Thread(target=follow_bare, args=(f"{name}-runner", "default", bare)),
    ]
    for follower in followers:
        follower.start()
    new_class("DaskJob", "kubernetes.dask.org/v1", asyncio=False)(
        workflow.dask_job_manifest(step, name, step_script.parameter_environment(step, None), labels=labels)
    ).create()
    for follower in followers:
        follower.join(timeout=300)
    return latencies(ours), latencies(bare)


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    isolate_home()
    sys.path.insert(0, str(ROOT / "tests"))
    from argodasf_jupyter import promote
    from argodasf_jupyter.spec import parse_spec
    from kube.harness import FakeKubernetes

    scratch = Path(tempfile.mkdtemp(prefix="bench-step-logs-"))
    step = promote.make_step("ticker", TICKER, values={"lines": 25}, cluster=parse_spec({"workers": 1}))
    ours, bare = [], []
    with FakeKubernetes(scratch / "kube"):
        for index in range(args.repeat):
            round_ours, round_bare = one_round(step, index)
            if not round_ours or not round_bare:
                raise RuntimeError(
                    f"round {index}: no tick lines arrived (ours {len(round_ours)}, bare {len(round_bare)})"
                )
            ours += round_ours
            bare += round_bare
    p95 = lambda samples: statistics.quantiles(samples, n=20)[-1]  # noqa: E731
    rows = [
        row(
            "log line latency, median: logs --follow vs a bare kr8s follow",
            statistics.median(ours),
            statistics.median(bare),
            "s",
            f"< {GOAL_SECONDS:g} s",
        ),
        row(
            "log line latency, 95th percentile: logs --follow vs a bare kr8s follow",
            p95(ours),
            p95(bare),
            "s",
            f"< {GOAL_SECONDS:g} s",
        ),
    ]
    report(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
