"""cluster: shared: one DaskCluster for a whole workflow, run through the Argo-semantics
controller on the fake Kubernetes API with the real Dask operator."""

from __future__ import annotations

import re
import time

import dask
import pytest
import yaml

from argodasf_jupyter import argo, argo_control, promote, shared_cluster, step_script, workflow
from argodasf_jupyter.draft import Draft
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.spec import parse_spec

SHAPE = {"workers": 1, "threads_per_worker": 1}
# a DASF task on the cluster; the result line is what the step outputs
TASK = """
import dask.array as da
total = int(da.arange(n * {i}, chunks=7).sum().compute())
print("OUTPUT {name}", total)
"""
FINAL = ("Succeeded", "Failed", "Error")


def dasf_step(name, i, shape=SHAPE, **options):
    return promote.make_step(name, TASK.format(i=i, name=name), values={"n": 10}, cluster=parse_spec(shape), **options)


def four_steps(tmp_path, mode="shared") -> Draft:
    draft = Draft("four", str(tmp_path / "four.dasf-workflow.json"))
    previous = []
    for i in range(4):
        draft.add(dasf_step(f"step{i}", i + 1, after=previous))
        previous = [f"step{i}"]
    draft.add(
        promote.make_step(
            "notify", "echo OUTPUT notify done", container="alpine:3", after=["step3"], cluster=parse_spec(SHAPE)
        )
    )
    draft.set_cluster(mode)
    return draft


# -- the plan ------------------------------------------------------------------------------


def test_shared_mode_creates_one_cluster_runs_steps_as_pods_and_deletes_it_on_exit(tmp_path):
    draft = four_steps(tmp_path)
    document = workflow.to_dict(draft)
    templates = {template["name"]: template for template in document["spec"]["templates"]}
    cluster = yaml.safe_load(templates[shared_cluster.CLUSTER_TEMPLATE]["resource"]["manifest"])
    assert cluster["kind"] == "DaskCluster" and cluster["metadata"]["name"] == shared_cluster.CLUSTER_NAME
    assert templates[shared_cluster.CLUSTER_TEMPLATE]["resource"]["setOwnerReference"] is True
    assert templates[shared_cluster.CLUSTER_TEMPLATE]["resource"]["successCondition"] == "status.phase == Running"
    assert not any("DaskJob" in template.get("resource", {}).get("manifest", "") for template in templates.values())
    for i in range(4):
        runner = templates[f"step{i}"]["container"]
        env = {item["name"]: item["value"] for item in runner["env"]}
        assert env["DASK_SCHEDULER_ADDRESS"] == "tcp://{{workflow.name}}--cluster-scheduler.{{workflow.namespace}}:8786"
        # the same script delivery as the DaskJob runner
        assert runner["args"] == step_script.runner_container(draft.steps[f"step{i}"])["args"]
    assert templates["notify"]["container"]["image"] == "alpine:3"
    exit_handler = templates[document["spec"]["onExit"]]["resource"]
    assert exit_handler["action"] == "delete"
    assert yaml.safe_load(exit_handler["manifest"])["metadata"]["name"] == shared_cluster.CLUSTER_NAME
    tasks = {task["name"]: task for task in templates[workflow.ENTRYPOINT]["dag"]["tasks"]}
    assert tasks["step0"]["dependencies"] == [shared_cluster.CLUSTER_TEMPLATE]
    assert tasks["step1"]["dependencies"] == [shared_cluster.CLUSTER_TEMPLATE, "step0"]
    assert "dependencies" not in tasks[shared_cluster.CLUSTER_TEMPLATE]


def test_per_step_is_the_default_and_the_setting_is_kept_in_the_draft(tmp_path):
    draft = four_steps(tmp_path, mode="per-step")
    assert "onExit" not in workflow.to_dict(draft)["spec"]
    draft.set_cluster("shared")
    assert Draft.load(draft.path).cluster == "shared"
    with pytest.raises(ArgodasfError, match="cluster mode 'one' is unknown; use per-step or shared"):
        draft.set_cluster("one")


def test_adapt_becomes_an_autoscaler_and_volumes_reach_the_runner_pods(tmp_path):
    shape = {
        "adapt": {"minimum": 1, "maximum": 3},
        "volumes": [{"name": "data", "claim": "shared-data", "mount_path": "/data", "working_dir": True}],
    }
    draft = Draft("elastic", str(tmp_path / "e.dasf-workflow.json"), [dasf_step("work", 1, shape)])
    draft.set_cluster("shared")
    templates = {template["name"]: template for template in workflow.to_dict(draft)["spec"]["templates"]}
    autoscaler = yaml.safe_load(templates[shared_cluster.AUTOSCALER_TEMPLATE]["resource"]["manifest"])
    assert autoscaler["spec"] == {"cluster": shared_cluster.CLUSTER_NAME, "minimum": 1, "maximum": 3}
    assert "work--autoscaler" not in templates
    runner = templates["work"]
    assert runner["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "shared-data"}}]
    assert runner["container"]["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert runner["container"]["workingDir"] == "/data"


def test_a_step_of_another_shape_keeps_its_own_daskjob_and_says_so(tmp_path):
    draft = Draft(
        "mixed",
        str(tmp_path / "m.dasf-workflow.json"),
        [dasf_step("small", 1), dasf_step("big", 2, {"workers": 3}, after=["small"])],
    )
    draft.set_cluster("shared")
    templates = {template["name"]: template for template in workflow.to_dict(draft)["spec"]["templates"]}
    assert "container" in templates["small"]
    assert yaml.safe_load(templates["big"]["resource"]["manifest"])["kind"] == "DaskJob"
    assert shared_cluster.describe(draft) == (
        "step big: cluster shape differs from the shared cluster's (that of step 'small'), so it runs as a "
        "DaskJob of its own; give it the same cluster to share"
    )
    # the Hera export rebuilds the same workflow
    namespace = {}
    exec(compile(workflow.to_python(draft), "export.py", "exec"), namespace)
    assert namespace["workflow"].to_dict() == workflow.to_dict(draft)


# -- through the controller, with the real operator ------------------------------------------


@pytest.fixture
def stack(tmp_path, monkeypatch, argo_templates):
    from argo.stack import argo_on_kubernetes

    monkeypatch.setattr(dask.config, "PATH", str(tmp_path / "home" / ".config" / "dask"))
    with argo_on_kubernetes(tmp_path / "kube", argo_templates) as (fk, server):
        yield fk
    fk.wait_for(
        lambda: fk.live_process_groups() == [],
        timeout=20,
        message=lambda: f"pod processes left running: {fk.live_process_groups()}",
    )


def wait(fk, name, timeout=240):
    fk.wait_for(
        lambda: argo.status(name)["phase"] in FINAL,
        timeout=timeout,
        message=lambda: f"{argo.status(name)}; operator: {fk.operator_log()[-1500:]}",
    )
    return argo.status(name)


def output_lines(fk) -> list[tuple[str, str]]:
    """(step, value) of every OUTPUT line in every pod's log."""
    return sorted(
        match.groups()
        for path in (fk.root / "logs").glob("*/*/*.log")
        for match in re.finditer(r"^OUTPUT (\S+) (.*)$", path.read_text(errors="replace"), re.M)
    )


def outputs(fk) -> dict:
    return dict(output_lines(fk))


def cluster_creates(fk) -> int:
    return fk.request_counts(None)["create daskclusters"]


def clusters_gone(fk):
    fk.wait_for(
        lambda: fk.objects("daskclusters") == [],
        timeout=90,
        message=lambda: f"clusters left: {[c['metadata']['name'] for c in fk.objects('daskclusters')]}",
    )


@pytest.mark.kube
@pytest.mark.timeout(600)
def test_four_steps_share_one_cluster_with_the_outputs_of_per_step_mode(stack, tmp_path):
    fk = stack
    per_step = argo.submit(four_steps(tmp_path / "a", "per-step"))["name"]
    assert wait(fk, per_step)["phase"] == "Succeeded"
    expected = outputs(fk)
    assert cluster_creates(fk) == 4
    clusters_gone(fk)
    for path in (fk.root / "logs").glob("*/*/*.log"):
        path.unlink()
    fk.reset_request_counts()

    shared = argo.submit(four_steps(tmp_path / "b", "shared"))["name"]
    assert wait(fk, shared)["phase"] == "Succeeded"
    assert cluster_creates(fk) == 1 and fk.request_counts(None)["create daskjobs"] == 0
    assert outputs(fk) == expected and len(expected) == 5, expected
    clusters_gone(fk)


@pytest.mark.kube
@pytest.mark.timeout(400)
def test_a_failing_step_fails_the_workflow_and_still_deletes_the_cluster(stack, tmp_path):
    fk = stack
    draft = Draft(
        "fails",
        str(tmp_path / "f.dasf-workflow.json"),
        [
            dasf_step("first", 1),
            promote.make_step(
                "broken", "raise ValueError('no seismic data')", cluster=parse_spec(SHAPE), after=["first"]
            ),
        ],
    )
    draft.set_cluster("shared")
    name = argo.submit(draft)["name"]
    status = wait(fk, name)
    assert status["phase"] == "Failed"
    assert "no seismic data" in argo.logs(name, "broken")
    clusters_gone(fk)
    assert cluster_creates(fk) == 1


@pytest.mark.kube
@pytest.mark.timeout(400)
def test_a_stopped_workflow_deletes_the_cluster(stack, tmp_path):
    fk = stack
    slow = promote.make_step(
        "slow", "import time\nprint('OUTPUT slow started', flush=True)\ntime.sleep(300)", cluster=parse_spec(SHAPE)
    )
    draft = Draft("stops", str(tmp_path / "s.dasf-workflow.json"), [slow])
    draft.set_cluster("shared")
    name = argo.submit(draft)["name"]
    fk.wait_for(lambda: "slow" in outputs(fk), timeout=180, message=lambda: str(argo.status(name)))
    assert fk.objects("daskclusters")
    argo_control.stop(name)
    started = time.monotonic()
    assert wait(fk, name, timeout=120)["phase"] == "Failed"
    clusters_gone(fk)
    assert time.monotonic() - started < 120


@pytest.mark.kube
@pytest.mark.timeout(400)
def test_a_retried_step_runs_again_on_the_same_cluster(stack, tmp_path):
    fk = stack
    # the first attempt fails; the scheduler, which outlives it, remembers the attempts
    flaky = promote.make_step(
        "flaky",
        "tries = client.get_metadata('tries', 0) + 1\n"
        "client.set_metadata('tries', tries)\n"
        "print('OUTPUT flaky', tries, flush=True)\n"
        "assert tries > 1, 'first attempt fails'\n",
        cluster=parse_spec(SHAPE),
        retries=1,
    )
    draft = Draft("retries", str(tmp_path / "r.dasf-workflow.json"), [flaky])
    draft.set_cluster("shared")
    name = argo.submit(draft)["name"]
    assert wait(fk, name)["phase"] == "Succeeded"
    assert output_lines(fk) == [("flaky", "1"), ("flaky", "2")]
    assert cluster_creates(fk) == 1
    clusters_gone(fk)
