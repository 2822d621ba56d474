"""The logs of a promoted DASF step, read where they are: in the Kubernetes pods
the Dask operator made for the step's DaskJob.

Argo shows only the log of its own resource pod for a resource template; the
user's output is in the DaskJob's runner pod (``<job>-runner``), and the Dask
logs in its scheduler and worker pods. A step's DaskJobs carry the labels
``argodasf.io/workflow`` and ``argodasf.io/step`` (one job per attempt), and the
operator labels each pod with its cluster's name and its component.
"""

from __future__ import annotations

import re
import time
from typing import Callable, Iterator, Optional

from .errors import ArgodasfError

LABEL_WORKFLOW = "argodasf.io/workflow"
LABEL_STEP = "argodasf.io/step"
COMPONENTS = {"runner": "job-runner", "scheduler": "scheduler", "worker": "worker"}
TRACEBACK_START = "Traceback (most recent call last):"


def _component(component: str) -> str:
    if component not in COMPONENTS:
        raise ArgodasfError(f"unknown log component '{component}'; use one of: {', '.join(COMPONENTS)}")
    return COMPONENTS[component]


def step_jobs(workflow: str, step: Optional[str] = None, namespace: Optional[str] = None) -> list:
    """The DaskJobs of a workflow (of one step), oldest attempt first."""
    import kr8s

    selector = {LABEL_WORKFLOW: workflow, **({LABEL_STEP: step} if step else {})}
    jobs = kr8s.get("daskjobs.kubernetes.dask.org", namespace=namespace, label_selector=selector)
    return sorted(jobs, key=lambda job: job.metadata.get("creationTimestamp") or "")


def step_pods(workflow: str, step: Optional[str] = None, component: str = "runner",
              namespace: Optional[str] = None) -> list:
    """The pods of a component of a step's DaskJobs, oldest attempt first."""
    import kr8s

    role = _component(component)
    pods = []
    for job in step_jobs(workflow, step, namespace):
        pods += kr8s.get("pods", namespace=job.namespace,
                         label_selector={"dask.org/cluster-name": job.name, "dask.org/component": role})
    return pods


def read(workflow: str, step: Optional[str] = None, component: str = "runner", tail: int = 200,
         namespace: Optional[str] = None) -> str:
    """The last ``tail`` lines of each pod, each pod's lines under a header."""
    parts = []
    for pod in step_pods(workflow, step, component, namespace):
        lines = list(pod.logs(tail_lines=tail))
        parts.append(f"==> {pod.name} <==\n" + "\n".join(lines))
    if not parts:
        where = f"step '{step}' of workflow '{workflow}'" if step else f"workflow '{workflow}'"
        raise ArgodasfError(f"no {component} pod for {where} yet; its DaskJob may not have started")
    return "\n".join(parts)


def follow(workflow: str, step: str, on_line: Callable[[str], None], component: str = "runner",
           namespace: Optional[str] = None, wait: float = 120.0, poll: float = 0.5) -> None:
    """Stream the newest attempt's log to ``on_line`` until its pod ends; wait up to
    ``wait`` seconds for the pod to appear."""
    deadline = time.monotonic() + wait
    while not (pods := step_pods(workflow, step, component, namespace)):
        if time.monotonic() > deadline:
            raise ArgodasfError(f"no {component} pod for step '{step}' of workflow '{workflow}' after {wait:g} s")
        time.sleep(poll)
    for line in _stream(pods[-1]):
        on_line(line)


def _stream(pod) -> Iterator[str]:
    # the API server ends a followed log when the container ends
    yield from pod.logs(follow=True)


def failure_summary(log: str, lines: int = 6) -> str:
    """The end of the last Python traceback in a runner log, or its last lines."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", log).rstrip()
    start = text.rfind(TRACEBACK_START)
    chosen = text[start:].splitlines() if start >= 0 else text.splitlines()
    return "\n".join(chosen[-lines:])
