"""`%dasf_workflow run --local`: a draft's DAG run on this machine, in dependency order.

DASF steps run their exact step script (the one the DaskJob runs) in a subprocess,
on the cluster their ClusterSpec describes, built by the interactive local backend;
container steps run their --local-command. Phases use Argo's words.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from . import runtime, step_report, step_script
from .draft import Draft
from .promote import Step
from .workflow import parameter_names, resolve_parameters, step_values


@dataclass
class StepRun:
    """The state of one step in a local run (phases use Argo's words)."""

    name: str
    kind: str
    phase: str = "Pending"
    duration: float = 0.0
    message: str = ""
    log: str = ""
    report: str = ""  # where its Dask performance report was written (step --report)

    def tail(self, lines: int = 8) -> str:
        return "\n".join(self.log.rstrip().splitlines()[-lines:])


def _absolute(paths, cwd: str) -> list[str]:
    return [path if "://" in path or os.path.isabs(path) else os.path.join(cwd, path) for path in paths]


def local_cluster(step: Step):
    """The cluster ``run --local`` runs a DASF step on: the interactive local backend's,
    from the step's ClusterSpec, so env, adapt, threads, memory and this machine's
    limits apply as they did in the notebook."""
    from .backends import local

    local.check(step.cluster)
    return local.start(step.cluster, progress=lambda phase: None)


def _run_dasf(step: Step, run: StepRun, parameters: dict, cwd: str, address: Optional[str]) -> None:
    if runtime.outputs_complete(_absolute(step.outputs, cwd), step.completion_key(parameters)):
        run.phase, run.message = "Skipped", "outputs complete for this code and these parameters"
        return
    cluster = None if address else local_cluster(step)
    try:
        result = step_script.run_script(
            step, address or cluster.scheduler_address, parameters, cwd=cwd, timeout=step.deadline
        )
    finally:
        if cluster is not None:
            cluster.close()
    run.log = result.stdout
    run.phase = "Succeeded" if result.returncode == 0 else "Failed"
    run.message = "" if result.returncode == 0 else f"exit code {result.returncode}"
    report = step_report.path(step)
    if report and runtime.REPORT_WRITTEN + report in run.log:
        run.report = _absolute([report], cwd)[0]


def _run_container(step: Step, run: StepRun, cwd: str) -> None:
    if not step.local_command:
        run.phase, run.message = "Skipped", "container step without --local-command runs only in the workflow"
        return
    try:
        result = subprocess.run(
            ["sh", "-c", step.local_command],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=step.deadline,
        )
    except subprocess.TimeoutExpired:
        run.phase, run.message = "Failed", f"timed out after {step.deadline}s"
        return
    run.log = result.stdout
    run.phase = "Succeeded" if result.returncode == 0 else "Failed"
    run.message = "" if result.returncode == 0 else f"exit code {result.returncode}"


def run_local(
    draft: Draft,
    parameters: Mapping[str, str] | None = None,
    address: Optional[str] = None,
    cwd: Optional[str] = None,
    on_update: Callable[[list[StepRun]], None] | None = None,
) -> list[StepRun]:
    """Run the DAG on this machine in dependency order.

    DASF steps run their exact step script in a subprocess, against ``address``
    when given, else against a LocalCluster of the step's size. A step whose
    outputs are complete is skipped; steps after a failed one are omitted.
    """
    steps = draft.order()
    values = resolve_parameters(draft, parameters)
    cwd = cwd or os.path.dirname(os.path.abspath(draft.path))
    runs = [StepRun(step.name, step.kind) for step in steps]
    by_name = {run.name: run for run in runs}
    dependencies = draft.dependencies()
    names = parameter_names(draft)
    notify = on_update or (lambda _runs: None)
    notify(runs)
    for step, run in zip(steps, runs, strict=True):
        blocked = [name for name in dependencies[step.name] if by_name[name].phase in ("Failed", "Omitted", "Error")]
        if blocked:
            run.phase, run.message = "Omitted", f"after failed step {', '.join(blocked)}"
            notify(runs)
            continue
        run.phase = "Running"
        notify(runs)
        started = time.perf_counter()
        try:
            if step.kind == "dasf":
                _run_dasf(step, run, step_values(step, names[step.name], values), cwd, address)
            else:
                _run_container(step, run, cwd)
        except Exception as error:  # a cluster that cannot start fails this step, not the report
            run.phase, run.message = "Error", f"{type(error).__name__}: {error}"
        run.duration = time.perf_counter() - started
        notify(runs)
    return runs
