"""Promoted steps as DaskJobs on the fake Kubernetes API, run by the real Dask operator."""

from __future__ import annotations

import json
import re

import dask
import pytest
import yaml

from argodasf_jupyter import promote, step_script, workflow
from argodasf_jupyter.draft import Draft
from argodasf_jupyter.spec import parse_spec
from kube.harness import FakeKubernetes
from workflow_fixtures import DASF_LIKE_PIPELINE, argo_run

pytestmark = [pytest.mark.kube, pytest.mark.timeout(300)]

SUCCEEDS = """
answer = client.submit(sum, [20, 22]).result()
print("the answer is", answer, "for", repr(label), "on", executor.dtype.name)
"""

FAILS = """
value = client.submit(lambda: 1).result()
raise ValueError("no seismic data at " + label)
"""

PIPELINE = (
    DASF_LIKE_PIPELINE
    + """
def load():
    return client.submit(sum, [1, 2]).result()

def attribute():
    raise RuntimeError("bad block")

try:
    Pipeline(executor, [load, attribute]).run()
except Exception as error:  # even if the step's code swallows post_run's error, the job fails
    print("pipeline logged", type(error).__name__)
print("the pipeline returned normally")
"""
)


@pytest.fixture
def fake_kubernetes(tmp_path, monkeypatch):
    # importing dask_kubernetes writes its config under dask's config path
    monkeypatch.setattr(dask.config, "PATH", str(tmp_path / "home" / ".config" / "dask"))
    with FakeKubernetes(tmp_path / "kube") as fk:
        yield fk
    # every pod process ends with the fake cluster (allow a moment for the last to exit)
    fk.wait_for(
        lambda: fk.live_process_groups() == [],
        timeout=15,
        message=lambda: f"pod processes left running: {fk.live_process_groups()}",
    )


def test_promoted_steps_reach_successful_and_failed(fake_kubernetes):
    from kr8s.objects import new_class

    fk = fake_kubernetes
    DaskJob = new_class("DaskJob", "kubernetes.dask.org/v1", asyncio=False)
    shape = parse_spec({"workers": 1})
    steps = {
        "ok": promote.make_step("ok", SUCCEEDS, values={"label": "default"}, cluster=shape),
        "fails": promote.make_step("fails", FAILS, values={"label": "/x"}, cluster=shape),
        "pipeline": promote.make_step("pipeline", PIPELINE, cluster=shape),
    }
    names = {}
    for key, step in steps.items():
        names[key] = workflow.job_name("e2e-a1b2c", step.name)
        env = step_script.parameter_environment(step, {"label": "it's {{given}}"} if key == "ok" else None)
        DaskJob(workflow.dask_job_manifest(step, names[key], env)).create()

    def status(key):
        return (fk.get("daskjobs", names[key]) or {}).get("status", {}).get("jobStatus")

    expected = {"ok": "Successful", "fails": "Failed", "pipeline": "Failed"}
    fk.wait_for(
        lambda: all(status(key) == phase for key, phase in expected.items()),
        timeout=180,
        message=lambda: (
            f"job statuses: { {key: status(key) for key in expected} }; runner logs: "
            + " | ".join(fk.pod_log(f"{name}-runner")[-1500:] for name in names.values())
        ),
    )

    ok_log = fk.pod_log(f"{names['ok']}-runner")
    assert 'the answer is 42 for "it\'s {{given}}" on multi_cpu' in ok_log
    assert "step 'ok' succeeded" in ok_log

    fails_log = fk.pod_log(f"{names['fails']}-runner")
    assert "ValueError: no seismic data at /x" in fails_log
    runner = fk.get("pods", f"{names['fails']}-runner")
    assert runner["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1

    pipeline_log = fk.pod_log(f"{names['pipeline']}-runner")
    assert "pipeline logged RuntimeError" in pipeline_log and "the pipeline returned normally" in pipeline_log
    assert "DASF task 'attribute' failed" in pipeline_log
    fk.wait_for(lambda: fk.objects("daskclusters") == [], timeout=60)


BUSY = """
import time

def work(i):
    time.sleep(0.5)
    return i

futures = client.map(work, range(5000))
seen, deadline = set(), time.time() + 150
while time.time() < deadline:
    seen.add(len(client.scheduler_info()["workers"]))
    if max(seen) >= 3:
        break
    time.sleep(0.5)
client.cancel(futures)
print("workers seen", sorted(seen))
"""


def test_an_adapting_step_moves_its_workers_within_the_range(fake_kubernetes, argo_templates, tmp_path):
    """The step's DaskJob and DaskAutoscaler as Argo creates them from the exported workflow:
    the operator scales the job's cluster up from the minimum and never past the maximum."""
    import threading

    fk = fake_kubernetes
    step = promote.make_step("elastic", BUSY, cluster=parse_spec({"adapt": {"minimum": 1, "maximum": 3}}))
    ran = argo_run(argo_templates, workflow.to_dict(Draft("adapt", str(tmp_path / "adapt.json"), [step])))
    job = yaml.safe_load(ran["elastic"]["resource"]["manifest"])
    autoscaler = yaml.safe_load(ran["elastic--autoscaler"]["resource"]["manifest"])
    name = job["metadata"]["name"]
    assert autoscaler["spec"] == {"cluster": name, "minimum": 1, "maximum": 3}
    assert job["spec"]["cluster"]["spec"]["worker"]["replicas"] == 1

    replicas, done = [], threading.Event()

    def watch():
        while not done.is_set():
            group = fk.get("daskworkergroups", f"{name}-default")
            if group:
                replicas.append(group["spec"]["worker"]["replicas"])
            done.wait(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    fk.create(job)
    fk.create(autoscaler)  # Argo runs both tasks at once

    def status():
        return (fk.get("daskjobs", name) or {}).get("status", {}).get("jobStatus")

    try:
        fk.wait_for(
            lambda: status() in ("Successful", "Failed"),
            timeout=240,
            message=lambda: f"job {status()}; replicas {sorted(set(replicas))}; operator: " + fk.operator_log()[-1500:],
        )
    finally:
        done.set()
        watcher.join()
    log = fk.pod_log(f"{name}-runner")
    assert status() == "Successful", log[-1500:]
    seen = re.search(r"workers seen (\[[\d, ]+\])", log)
    assert seen and max(json.loads(seen.group(1))) == 3, log[-800:]
    assert max(replicas) == 3 and min(replicas) >= 1, replicas
    # adopted by the job's cluster, the autoscaler goes with it
    fk.wait_for(
        lambda: fk.objects("daskautoscalers") == [],
        timeout=60,
        message=lambda: f"autoscalers left: {fk.objects('daskautoscalers')}",
    )
