"""Promoted workflows submitted with the product's own client to the fake Argo Server,
run by the test-side Argo controller on the fake Kubernetes API, where the real
Dask operator runs each DASF step's DaskJob."""

from __future__ import annotations

import dask
import pytest
import requests

from argodasf_jupyter import argo, promote, workflow
from argodasf_jupyter.draft import Draft
from argodasf_jupyter.session import current_session
from argodasf_jupyter.spec import parse_spec
from pod_volumes import host_directory
from argo.stack import argo_on_kubernetes

pytestmark = [pytest.mark.kube, pytest.mark.timeout(300)]
SHAPE = parse_spec({"workers": 1})
TRICKY = 'it\'s "quoted" {{workflow.name}} {{=1+1}}\nsecond line: é ✓ ü'


@pytest.fixture
def cluster(tmp_path, monkeypatch, argo_templates):
    monkeypatch.setattr(dask.config, "PATH", str(tmp_path / "home" / ".config" / "dask"))
    with argo_on_kubernetes(tmp_path / "kube", argo_templates) as (fk, server):
        before = set(fk.live_process_groups())  # the operator's
        yield fk, server
        stopped = lambda: set(fk.live_process_groups()) <= before  # noqa: E731
        fk.wait_for(stopped, timeout=30, message=lambda: f"pod processes left: {fk.live_process_groups()}")


def wait(name, timeout=240):
    return argo.watch(name, lambda summary: None, interval=0.5, timeout=timeout)


def steps(summary):
    return {step["name"]: step for step in summary["steps"]}


def runner_log(fk, job):
    return fk.pod_log(f"{job}-runner")


def test_steps_run_in_order_with_parameters_byte_exact_and_a_failure_stops_the_rest(cluster, tmp_path):
    fk, server = cluster
    draft = Draft("exact", str(tmp_path / "exact.dasf-workflow.json"))
    draft.add(promote.make_step("stage", "echo staged in $HOME\n", container="alpine:3"))
    draft.add(
        promote.make_step(
            "show", "print('label=' + repr(label))\n", values={"label": "default"}, cluster=SHAPE, after=["stage"]
        )
    )
    draft.add(
        promote.make_step(
            "explode",
            "raise ValueError('no seismic data at ' + where)\n",
            values={"where": "/data"},
            cluster=SHAPE,
            after=["show"],
        )
    )
    draft.add(promote.make_step("never", "print('must not run')\n", cluster=SHAPE, after=["explode"]))
    name = argo.submit(draft, {"label": TRICKY})["name"]
    summary = wait(name)
    assert summary["phase"] == "Failed", summary
    found = steps(summary)
    assert [found[step]["phase"] for step in ("stage", "show", "explode")] == ["Succeeded", "Succeeded", "Failed"]
    assert "never" not in found
    assert found["explode"]["message"] == "failure condition 'status.jobStatus==Failed' evaluated true"
    jobs = {job["metadata"]["labels"]["argodasf.io/step"]: job["metadata"]["name"] for job in fk.objects("daskjobs")}
    assert set(jobs) == {"show", "explode"}
    assert f"label={TRICKY!r}" in runner_log(fk, jobs["show"])
    assert "ValueError: no seismic data at /data" in runner_log(fk, jobs["explode"])
    assert "staged in" in argo.logs(name, "stage")
    workflow_object = fk.get("workflows", name)
    for job in fk.objects("daskjobs"):
        (owner,) = job["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["uid"], owner["controller"]) == (
            "Workflow",
            workflow_object["metadata"]["uid"],
            True,
        )


def test_a_step_that_fails_once_succeeds_on_its_second_attempt(cluster, tmp_path):
    fk, _ = cluster
    draft = Draft("again", str(tmp_path / "again.dasf-workflow.json"))
    code = (
        "import os\n"
        "if os.environ['HOSTNAME'].endswith('-0-runner'):\n"
        "    raise RuntimeError('first attempt fails')\n"
        "print('attempt', os.environ['HOSTNAME'])\n"
    )
    draft.add(promote.make_step("flaky", code, cluster=SHAPE, retries=1))
    name = argo.submit(draft)["name"]
    summary = wait(name)
    assert summary["phase"] == "Succeeded", summary
    status = fk.get("workflows", name)["status"]
    attempts = sorted(
        (node for node in status["nodes"].values() if node["type"] == "Pod"), key=lambda node: node["name"]
    )
    assert [node["phase"] for node in attempts] == ["Failed", "Succeeded"]
    assert [node["displayName"] for node in attempts] == ["flaky(0)", "flaky(1)"]
    names = sorted(job["metadata"]["name"] for job in fk.objects("daskjobs"))
    assert names == [f"{name}-flaky-0", f"{name}-flaky-1"]
    assert "first attempt fails" in runner_log(fk, names[0]) and "attempt" in runner_log(fk, names[1])


def test_a_rerun_skips_steps_whose_outputs_are_complete(cluster, tmp_path):
    fk, _ = cluster
    shared = tmp_path / "shared"  # each pod has its own filesystem: the output lives on a volume
    shared.mkdir()
    out = shared / "result.txt"
    volume = host_directory("shared", shared, "/shared")
    draft = Draft("rerun", str(tmp_path / "rerun.dasf-workflow.json"))
    draft.add(
        promote.make_step(
            "make",
            "open('/shared/result.txt', 'a').write('computed\\n')\n",
            cluster=parse_spec({"workers": 1, "volumes": [volume]}),
            outputs=["/shared/result.txt"],
        )
    )
    first = argo.submit(draft)["name"]
    assert wait(first)["phase"] == "Succeeded"
    second = argo.submit(draft)["name"]
    assert wait(second)["phase"] == "Succeeded"
    assert out.read_text() == "computed\n"  # the second run did not compute again
    log = runner_log(fk, workflow.job_name(second, "make"))
    assert "outputs already complete for this code and these parameters; skipped" in log


def test_deleting_the_workflow_leaves_nothing_behind(cluster, tmp_path):
    fk, server = cluster
    draft = Draft("gone", str(tmp_path / "gone.dasf-workflow.json"))
    draft.add(promote.make_step("slow", "import time\ntime.sleep(300)\n", cluster=SHAPE))
    name = argo.submit(draft)["name"]
    job = workflow.job_name(name, "slow")
    fk.wait_for(
        lambda: (fk.get("pods", f"{job}-runner") or {}).get("status", {}).get("phase") == "Running",
        timeout=120,
        message=lambda: str(fk.objects("pods")),
    )
    answer = requests.delete(
        f"http://{server.address}/api/v1/workflows/default/{name}",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    assert answer.status_code == 200
    for plural in ("workflows", "daskjobs", "daskclusters", "pods", "services", "deployments"):
        fk.wait_for(
            lambda plural=plural: fk.objects(plural, "default") == [],
            timeout=60,
            message=lambda plural=plural: (
                f"{plural} left: {[o['metadata']['name'] for o in fk.objects(plural, 'default')]}"
            ),
        )
    # The operator creates a cluster's default DaskWorkerGroup without an owner and adopts
    # it in the group's own create handler, which retries a failed look-up only after a
    # minute; a group deleted before that stays, with nothing running for it.
    assert [
        group for group in fk.objects("daskworkergroups", "default") if group["metadata"].get("ownerReferences")
    ] == []


def test_submit_watch_fails_the_cell_and_the_cli_when_the_workflow_fails(cluster, shell, tmp_path, monkeypatch, capsys):
    from IPython.utils.capture import capture_output

    from argodasf_jupyter import cli

    monkeypatch.chdir(tmp_path)
    draft = Draft("workflow", str(tmp_path / "workflow.dasf-workflow.json"))  # the draft of a kernel with no notebook
    draft.add(promote.make_step("prepare", "echo prepared\n", container="alpine:3"))
    draft.add(promote.make_step("check", "echo header broken >&2; exit 3\n", container="alpine:3", after=["prepare"]))
    shell.run_cell("%load_ext argodasf_jupyter")
    with capture_output() as captured:
        result = shell.run_cell("%dasf_workflow submit --watch --no-check")
    assert not result.success, "a failed watched workflow must fail the cell"
    message = str(result.error_in_exec)
    assert message.startswith("workflow workflow-") and " Failed: step check: " in message, message
    assert "Traceback" not in captured.stdout + captured.stderr
    name = current_session().submitted[-1]["name"]
    assert argo.status(name)["phase"] == "Failed", "the cell ends once the workflow has ended"

    assert cli.main(["submit", draft.path, "--watch", "--no-check"]) != 0
    err = capsys.readouterr().err
    assert "prepare: Succeeded" in err and "check: Failed" in err and " Failed: step check: " in err, err

    draft.remove("check")
    assert cli.main(["submit", draft.path, "--watch", "--no-check"]) == 0
    assert "Succeeded" in capsys.readouterr().out
