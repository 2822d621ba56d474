"""The logs of a promoted DASF step, read where they are: in the Kubernetes pods
the Dask operator made for the step's DaskJob.

Argo shows only the log of its own resource pod for a resource template; the
user's output is in the DaskJob's runner pod (``<job>-runner``), and the Dask
logs in its scheduler and worker pods. A step's DaskJobs carry the labels
``argodasf.io/workflow`` and ``argodasf.io/step`` (one job per attempt), and the
operator labels each pod with its cluster's name and its component.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Callable, Optional

from . import step_jobs
from .errors import ArgodasfError

COMPONENTS = {"runner": "job-runner", "scheduler": "scheduler", "worker": "worker"}
TRACEBACK_START = "Traceback (most recent call last):"


def _component(component: str) -> str:
    if component not in COMPONENTS:
        raise ArgodasfError(f"unknown log component '{component}'; use one of: {', '.join(COMPONENTS)}")
    return COMPONENTS[component]


async def _pods(api, workflow: str, step: Optional[str], component: str, namespace: Optional[str]) -> list:
    role = _component(component)
    pods = []
    for job in await step_jobs.labelled(api, step_jobs.JOBS, workflow, step, namespace):
        pods += [
            pod
            async for pod in api.get(
                "pods",
                namespace=job.namespace,
                label_selector={"dask.org/cluster-name": job.name, "dask.org/component": role},
            )
        ]
    return pods


def _kubernetes(function, *args, bound: Optional[float] = None):
    return step_jobs.call("read step logs", function, *args, bound=bound)


def read(
    workflow: str,
    step: Optional[str] = None,
    component: str = "runner",
    tail: int = 200,
    namespace: Optional[str] = None,
) -> str:
    """The last ``tail`` lines of each pod, each pod's lines under a header."""

    async def collect(api):
        parts = []
        for pod in await _pods(api, workflow, step, component, namespace):
            if waiting := _waiting_reason(pod):
                parts.append(f"==> {pod.name} <==\n(waiting to start: {waiting})")
                continue
            lines = [line async for line in pod.logs(tail_lines=tail)]
            parts.append(f"==> {pod.name} <==\n" + "\n".join(lines))
        return parts

    _component(component)
    parts = _kubernetes(collect)
    if not parts:
        where = f"step '{step}' of workflow '{workflow}'" if step else f"workflow '{workflow}'"
        raise ArgodasfError(f"no {component} pod for {where} yet; its DaskJob may not have started")
    return "\n".join(parts)


def follow(
    workflow: str,
    step: str,
    on_line: Callable[[str], None],
    component: str = "runner",
    namespace: Optional[str] = None,
    wait: float = 120.0,
    poll: float = 0.5,
    longest: float = 86400.0,
) -> None:
    """Stream the newest attempt's log to ``on_line`` until its pod ends (the API
    server ends a followed log with the container); wait up to ``wait`` seconds
    for the pod to appear and its container to start, and stream for ``longest``
    seconds at most."""

    async def stream(api):
        deadline = time.monotonic() + wait
        while True:
            pods = await _pods(api, workflow, step, component, namespace)
            waiting = _waiting_reason(pods[-1]) if pods else None
            if pods and not waiting:
                break
            if time.monotonic() > deadline:
                if waiting:
                    return f"the {component} pod {pods[-1].name} is still waiting to start ({waiting})"
                return f"no {component} pod"
            await asyncio.sleep(poll)
        async for line in pods[-1].logs(follow=True, timeout=longest):
            on_line(line)
        return None

    _component(component)
    if not_followed := _kubernetes(stream, bound=wait + longest):
        raise ArgodasfError(f"{not_followed} for step '{step}' of workflow '{workflow}' after {wait:g} s")


def _waiting_reason(pod) -> Optional[str]:
    """Why the pod's container has no log to read yet, or None once it has one:
    the API server answers 400 for a container that is waiting and never ran."""
    status = pod.raw.get("status") or {}
    containers = status.get("containerStatuses") or []
    if not containers:
        return status.get("phase") or "Pending"  # not on a node yet
    state = containers[0].get("state") or {}
    if "running" in state or "terminated" in state or "terminated" in (containers[0].get("lastState") or {}):
        return None
    return (state.get("waiting") or {}).get("reason") or "ContainerCreating"


def failure_summary(log: str, lines: int = 6) -> str:
    """The end of the last Python traceback in a runner log, or its last lines."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", log).rstrip()
    start = text.rfind(TRACEBACK_START)
    chosen = text[start:].splitlines() if start >= 0 else text.splitlines()
    return "\n".join(chosen[-lines:])


def with_failure_details(summary: dict, namespace: Optional[str] = None, cache: Optional[dict] = None) -> dict:
    """``summary`` (argo.status) with each failed DASF step's message followed by the
    end of the traceback in its runner log. Best effort: a step whose runner log
    cannot be read keeps Argo's message. ``cache`` keeps what was read per step attempt."""
    cache = {} if cache is None else cache
    for step in summary.get("steps", []):
        if step.get("phase") not in step_jobs.FAILED_PHASES or step.get("kind") == "container":
            continue
        key = (summary["name"], step["name"], step.get("finished_at"))  # a retried step fails anew
        if key not in cache:
            cache[key] = _runner_failure(summary["name"], step["name"], namespace or summary.get("namespace"))
        if cache[key]:
            step["message"] = " | ".join(part for part in (step.get("message"), cache[key]) if part)
    return summary


def _runner_failure(workflow: str, step: str, namespace: Optional[str]) -> str:
    try:
        log = read(workflow, step, "runner", tail=200, namespace=namespace)
    except ArgodasfError:  # no Kubernetes access from here, or no runner pod: Argo's message stands
        return ""
    last_attempt = log.rsplit("==> ", 1)[-1].split("\n", 1)[-1]
    return " / ".join(failure_summary(last_attempt, lines=3).splitlines())
