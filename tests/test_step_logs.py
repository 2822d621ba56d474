"""A DASF step's own output, read from its DaskJob's runner pod on the fake
Kubernetes API with the real Dask operator (not Argo's resource pod)."""

from __future__ import annotations

import threading

import dask
import pytest

from argodasf_jupyter import promote, step_jobs, step_logs, step_script, workflow
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.spec import parse_spec
from kube.harness import FakeKubernetes

pytestmark = [pytest.mark.kube, pytest.mark.timeout(300)]

SLOW_THEN_FAILS = """
print("first line from the step", flush=True)
import time
time.sleep(4)
print("second line from the step", flush=True)
raise ValueError("no traces in " + label)
"""


@pytest.fixture
def fake_kubernetes(tmp_path, monkeypatch):
    monkeypatch.setattr(dask.config, "PATH", str(tmp_path / "home" / ".config" / "dask"))
    with FakeKubernetes(tmp_path / "kube") as fk:
        yield fk


def test_follow_streams_the_runner_log_while_the_step_runs(fake_kubernetes):
    from kr8s.objects import new_class

    fk = fake_kubernetes
    step = promote.make_step(
        "attribute", SLOW_THEN_FAILS, values={"label": "/data"}, cluster=parse_spec({"workers": 1})
    )
    name = workflow.job_name("wf-logs1", step.name)
    labels = {step_jobs.LABEL_WORKFLOW: "wf-logs1", step_jobs.LABEL_STEP: step.name}
    env = step_script.parameter_environment(step, None)
    new_class("DaskJob", "kubernetes.dask.org/v1", asyncio=False)(
        workflow.dask_job_manifest(step, name, env, labels=labels)
    ).create()

    def job_status():
        return (fk.get("daskjobs", name) or {}).get("status", {}).get("jobStatus")

    seen = []
    follower = threading.Thread(
        target=step_logs.follow, args=("wf-logs1", "attribute", lambda line: seen.append((line, job_status())))
    )
    follower.start()
    follower.join(timeout=200)
    assert not follower.is_alive(), "follow did not end with the runner pod"
    lines = [line for line, _ in seen]
    assert "first line from the step" in lines and "second line from the step" in lines
    status_at_first_line = dict(seen)["first line from the step"]
    assert status_at_first_line not in ("Successful", "Failed"), "the first line came only after the step ended"

    fk.wait_for(lambda: job_status() == "Failed", timeout=60, message=lambda: f"job status {job_status()}")
    log = step_logs.read("wf-logs1", "attribute")
    assert log.startswith(f"==> {name}-runner <==")
    summary = step_logs.failure_summary(log).splitlines()
    assert "ValueError: no traces in /data" in summary and "first line from the step" not in summary
    with pytest.raises(ArgodasfError, match="no scheduler pod for step 'attribute' of workflow 'wf-logs1' yet"):
        step_logs.read("wf-logs1", "attribute", component="scheduler")  # the operator removed the cluster


def test_follow_waits_for_a_runner_that_is_still_creating(fake_kubernetes):
    """A runner pod exists before its container starts; the API server answers a log
    request for it with 400 until then, so following right after a submit waits."""
    from kr8s.objects import new_class

    fk = fake_kubernetes
    step = promote.make_step("late", 'print("the step ran", flush=True)', cluster=parse_spec({"workers": 1}))
    name = workflow.job_name("wf-late", step.name)
    labels = {step_jobs.LABEL_WORKFLOW: "wf-late", step_jobs.LABEL_STEP: step.name}
    job = workflow.dask_job_manifest(step, name, {}, labels=labels)
    runner_pod = job["spec"]["job"]["spec"]
    runner_pod.setdefault("volumes", []).append({"name": "settings", "configMap": {"name": "late-settings"}})
    runner_pod["containers"][0].setdefault("volumeMounts", []).append({"name": "settings", "mountPath": "/settings"})
    new_class("DaskJob", "kubernetes.dask.org/v1", asyncio=False)(job).create()

    def runner_state():
        pod = fk.get("pods", f"{name}-runner") or {}
        return [status.get("state") for status in pod.get("status", {}).get("containerStatuses", [])]

    fk.wait_for(
        lambda: (
            runner_state()
            == [{"waiting": {"reason": "ContainerCreating", "message": 'configmap "late-settings" not found'}}]
        ),
        timeout=120,
        message=lambda: f"runner {runner_state()}",
    )
    with pytest.raises(
        ArgodasfError,
        match=rf"^the runner pod {name}-runner is still waiting to start \(ContainerCreating\) for step 'late' of workflow 'wf-late' after 1 s$",
    ):
        step_logs.follow("wf-late", "late", print, wait=1, poll=0.2)
    assert step_logs.read("wf-late", "late") == f"==> {name}-runner <==\n(waiting to start: ContainerCreating)"

    seen = []
    follower = threading.Thread(target=step_logs.follow, args=("wf-late", "late", seen.append))
    follower.start()
    fk.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late-settings"}, "data": {"a": "1"}})
    follower.join(timeout=200)
    assert not follower.is_alive(), "follow did not end with the runner pod"
    assert "the step ran" in seen


def test_failure_summary_keeps_the_end_of_the_last_traceback():
    log = "\n".join(
        [
            "starting",
            "Traceback (most recent call last):",
            '  File "a.py", line 1',
            "KeyError: 'x'",
            "retrying",
            "Traceback (most recent call last):",
            '  File "b.py", line 9, in step',
            "    raise ValueError(msg)",
            "ValueError: bad trace header",
            "step 'x' failed",
        ]
    )
    summary = step_logs.failure_summary(log, lines=3)
    assert summary.splitlines() == ["    raise ValueError(msg)", "ValueError: bad trace header", "step 'x' failed"]
    assert "KeyError" not in step_logs.failure_summary(log)
    assert step_logs.failure_summary("no traceback\nat all") == "no traceback\nat all"


def test_unknown_component_is_one_line():
    with pytest.raises(ArgodasfError, match="unknown log component 'driver'; use one of: runner, scheduler, worker"):
        step_logs.read("wf", "s", component="driver")


def test_failed_steps_get_the_end_of_their_runner_traceback(fake_kubernetes):
    from kr8s.objects import new_class

    fk = fake_kubernetes
    step = promote.make_step("qc", "raise KeyError('trace header 189')", cluster=parse_spec({"workers": 1}))
    name = workflow.job_name("wf-fail2", step.name)
    labels = {step_jobs.LABEL_WORKFLOW: "wf-fail2", step_jobs.LABEL_STEP: step.name}
    new_class("DaskJob", "kubernetes.dask.org/v1", asyncio=False)(
        workflow.dask_job_manifest(step, name, {}, labels=labels)
    ).create()
    fk.wait_for(
        lambda: (fk.get("daskjobs", name) or {}).get("status", {}).get("jobStatus") == "Failed",
        timeout=120,
        message=lambda: "the job did not fail",
    )
    summary = {
        "name": "wf-fail2",
        "namespace": fk.namespace,
        "steps": [
            {"name": "qc", "phase": "Failed", "message": "failure condition matched"},
            {"name": "later", "phase": "Omitted", "message": None},
        ],
    }
    detailed = step_logs.with_failure_details(summary)
    message = detailed["steps"][0]["message"]
    assert message.startswith("failure condition matched | ") and "KeyError: 'trace header 189'" in message
    assert detailed["steps"][1]["message"] is None


def test_failure_details_leave_argos_message_without_kubernetes():
    summary = {"name": "wf-x", "namespace": "default", "steps": [{"name": "a", "phase": "Failed", "message": "m"}]}
    assert step_logs.with_failure_details(summary)["steps"][0]["message"] == "m"
