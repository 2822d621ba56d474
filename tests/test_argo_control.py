"""Steering submitted workflows (stop, retry, resubmit) and publishing drafts
(CronWorkflow, WorkflowTemplate) through the product's client, against the fake
Argo Server whose controller runs the workflows on the fake Kubernetes API with
the real Dask operator."""

from __future__ import annotations

import dask
import pytest
import requests

from argodasf_jupyter import argo, argo_control, promote
from argodasf_jupyter.draft import Draft
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.spec import parse_spec
from pod_volumes import host_directory
from argo.stack import argo_on_kubernetes

pytestmark = [pytest.mark.kube, pytest.mark.timeout(300)]
SHAPE = parse_spec({"workers": 1})


def with_flags(flags, **shape):
    """A cluster shape whose pods see the test's directory `flags` at /flags."""
    flags.mkdir()
    return parse_spec({**shape, "volumes": [host_directory("flags", flags, "/flags")]})


@pytest.fixture
def cluster(tmp_path, monkeypatch, argo_templates):
    monkeypatch.setattr(dask.config, "PATH", str(tmp_path / "home" / ".config" / "dask"))
    with argo_on_kubernetes(tmp_path / "kube", argo_templates) as (fk, server):
        before = set(fk.live_process_groups())
        yield fk, server
        fk.wait_for(
            lambda: set(fk.live_process_groups()) <= before,
            timeout=30,
            message=lambda: f"pod processes left: {fk.live_process_groups()}",
        )


def wait(name, timeout=240):
    return argo.watch(name, lambda summary: None, interval=0.5, timeout=timeout)


def phases(summary) -> dict:
    return {step["name"]: step["phase"] for step in summary["steps"]}


def test_retry_reruns_only_the_failed_step_and_resubmit_makes_a_new_run(cluster, tmp_path):
    fk, _ = cluster
    shape = with_flags(tmp_path / "flags", workers=1)
    draft = Draft("steer", str(tmp_path / "steer.dasf-workflow.json"))
    draft.add(promote.make_step("load", "print('loaded')\n", cluster=SHAPE))
    # a container step: Argo deletes its failed pod and runs it again
    draft.add(
        promote.make_step(
            "check",
            "test -f /flags/header-fixed || { echo trace header broken; exit 1; }\n",
            container="alpine:3",
            cluster=shape,
            after=["load"],
        )
    )
    name = argo.submit(draft)["name"]
    failed = wait(name)
    assert failed["phase"] == "Failed" and phases(failed) == {"load": "Succeeded", "check": "Failed"}, failed
    jobs_after_first_run = {job["metadata"]["name"] for job in fk.objects("daskjobs")}

    (tmp_path / "flags" / "header-fixed").write_text("fixed")  # made once the first run has failed
    argo_control.retry(name)
    retried = wait(name)
    assert retried["phase"] == "Succeeded" and phases(retried) == {"load": "Succeeded", "check": "Succeeded"}, (
        retried["message"],
        retried["steps"],
    )
    assert {job["metadata"]["name"] for job in fk.objects("daskjobs")} == jobs_after_first_run, (
        "retry must not run the succeeded DASF step again"
    )

    again = argo_control.resubmit(name)
    assert again["name"] != name and again["name"].startswith(f"{name}-")
    assert wait(again["name"])["phase"] == "Succeeded"


def test_retry_reruns_a_failed_adaptive_dasf_step_under_its_own_names(cluster, tmp_path):
    fk, _ = cluster
    shape = with_flags(tmp_path / "flags", adapt={"minimum": 1, "maximum": 2})
    draft = Draft("redo", str(tmp_path / "redo.dasf-workflow.json"))
    draft.add(promote.make_step("load", "print('loaded')\n", cluster=SHAPE))
    code = (
        "import os\nif not os.path.exists(flag):\n    raise SystemExit('velocity model missing')\nprint('migrated')\n"
    )
    draft.add(
        promote.make_step(
            "migrate", code, values={"flag": "/flags/velocity-model-fixed"}, after=["load"], cluster=shape
        )
    )
    name = argo.submit(draft)["name"]
    failed = wait(name)
    assert phases(failed) == {"load": "Succeeded", "migrate": "Failed", "migrate--autoscaler": "Succeeded"}, failed
    first_jobs = {job["metadata"]["name"]: job["metadata"]["uid"] for job in fk.objects("daskjobs")}

    (tmp_path / "flags" / "velocity-model-fixed").write_text("fixed")  # made once the first run has failed
    argo_control.retry(name)
    retried = wait(name)
    assert retried["phase"] == "Succeeded", (retried["message"], retried["steps"])
    jobs = {job["metadata"]["name"]: job for job in fk.objects("daskjobs")}
    assert jobs.keys() == first_jobs.keys(), "a retried step keeps its DaskJob name"
    load, migrate = (
        next(job for job in jobs.values() if job["metadata"]["labels"]["argodasf.io/step"] == step)
        for step in ("load", "migrate")
    )
    assert load["metadata"]["uid"] == first_jobs[load["metadata"]["name"]], "the succeeded step must not run again"
    assert migrate["metadata"]["uid"] != first_jobs[migrate["metadata"]["name"]]
    assert migrate["status"]["jobStatus"] == "Successful"
    assert "migrated" in fk.pod_log(f"{migrate['metadata']['name']}-runner")
    started = {step["name"]: step["started_at"] for step in failed["steps"]}
    restarted = {step["name"] for step in retried["steps"] if step["started_at"] != started.get(step["name"])}
    assert restarted == {"migrate", "migrate--autoscaler"}, "the adaptive step gets its autoscaler again"


def test_stop_ends_a_running_workflow_before_its_later_steps(cluster, tmp_path):
    fk, server = cluster
    draft = Draft("halt", str(tmp_path / "halt.dasf-workflow.json"))
    draft.add(promote.make_step("slow", "import time\ntime.sleep(600)\n", cluster=SHAPE))
    draft.add(promote.make_step("after", "print('must not run')\n", cluster=SHAPE, after=["slow"]))
    name = argo.submit(draft)["name"]
    fk.wait_for(
        lambda: phases(argo.status(name)).get("slow") == "Running",
        timeout=120,
        message=lambda: f"status: {argo.status(name)}",
    )
    argo_control.stop(name)
    stopped = wait(name, timeout=120)
    assert stopped["phase"] in ("Failed", "Error") and "after" not in phases(stopped), stopped
    # as on Argo, stopping leaves the DaskJob a resource template made; deleting the
    # workflow garbage-collects it (then the fixture checks that no pod process is left)
    answer = requests.delete(
        f"http://{server.address}/api/v1/workflows/default/{name}",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    fk.wait_for(lambda: fk.objects("daskjobs") == [], timeout=60, message=lambda: str(fk.objects("daskjobs")))


def test_publish_a_schedule_and_a_template(cluster, tmp_path):
    _, server = cluster
    draft = Draft("nightly", str(tmp_path / "nightly.dasf-workflow.json"))
    draft.add(promote.make_step("qc", "print(cube)\n", values={"cube": "s3://bucket/cube.zarr"}, cluster=SHAPE))
    cron = argo_control.publish_draft(draft, schedule="0 2 * * *", timezone="America/Sao_Paulo")
    template = argo_control.publish_draft(draft, template=True)
    assert (cron["kind"], cron["name"], template["kind"]) == ("CronWorkflow", "nightly", "WorkflowTemplate")
    stored = server.published[("CronWorkflow", "default", "nightly")]
    assert stored["spec"]["schedules"] == ["0 2 * * *"] and stored["spec"]["timezone"] == "America/Sao_Paulo"
    assert stored["spec"]["workflowSpec"]["arguments"]["parameters"] == [
        {"name": "cube", "value": "s3://bucket/cube.zarr"}
    ]
    with pytest.raises(ArgodasfError, match=r"publishing cron workflow 'nightly': .*\(409\)"):
        argo_control.publish_draft(draft, schedule="@daily")
    with pytest.raises(ArgodasfError, match="either --schedule CRON or --template"):
        argo_control.publish_draft(draft)
