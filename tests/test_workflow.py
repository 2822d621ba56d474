"""Draft -> Argo workflow (Hera): DaskJob manifests, templates, exports, local runs."""

from __future__ import annotations

import os
import sys

import pytest
import yaml

from argodasf_jupyter import local_run, promote, workflow
from argodasf_jupyter.draft import Draft
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.spec import parse_spec
from argo.schemas import argo_schema_available, daskjob_validator, validate_workflow, workflow_validator
from workflow_fixtures import DASF_LIKE_PIPELINE, scheduler_address  # noqa: F401  (a fixture)

SPEC = parse_spec(
    {
        "workers": 3,
        "memory_limit": "2GiB",
        "cpu": "1",
        "image": "example.org/dasf:1",
        "env": {"OMP_NUM_THREADS": "1"},
        "volumes": [{"name": "shared", "mount_path": "/shared", "claim": "seismic"}],
    }
)


@pytest.fixture
def draft(tmp_path):
    draft = Draft("seismic", str(tmp_path / "seismic.dasf-workflow.json"))
    draft.add(
        promote.make_step(
            "stage",
            "cp -r /data/in.zarr /shared/in.zarr\n",
            container="alpine:3",
            cluster=SPEC,
            outputs=["/shared/in.zarr"],
            retries=1,
        )
    )
    draft.add(
        promote.make_step(
            "envelope",
            "print(input_path, axis)\n",
            values={"input_path": "/shared/in.zarr", "axis": -1},
            cluster=SPEC,
            inputs=["/shared/in.zarr"],
            outputs=["/shared/out.zarr"],
            retries=2,
            timeout=600,
        )
    )
    draft.add(
        promote.make_step(
            "report",
            "print(input_path)\n",
            values={"input_path": "/shared/in.zarr"},
            cluster=SPEC.with_changes(adapt={"minimum": 1, "maximum": 4}),
            inputs=["/shared/out.zarr"],
        )
    )
    return draft


def templates(document: dict) -> dict:
    return {item["name"]: item for item in document["spec"]["templates"]}


@pytest.mark.parametrize("workflow_name", ["{{workflow.name}}", "x" * 26])
@pytest.mark.parametrize("retries", [0, 20])
def test_job_names_fit_the_operator_limit_and_stay_distinct(workflow_name, retries):
    long_a, long_b = "a" * 40 + "-first", "a" * 40 + "-second"
    names = {workflow.job_name(workflow_name, step, retries) for step in ("envelope", long_a, long_b)}
    assert len(names) == 3
    for name in names:
        concrete = name.replace("{{workflow.name}}", "x" * 26).replace("{{retries}}", str(retries))
        assert len(concrete) <= 53, concrete
        assert concrete[-1].isalnum()


def test_dasf_step_is_a_resource_template_creating_a_daskjob(draft):
    document = workflow.to_dict(draft, namespace="argo")
    template = templates(document)["envelope"]
    assert template["timeout"] == "600s"
    assert template["retryStrategy"] == {"limit": 2}
    assert template["inputs"] == {"parameters": [{"name": "input_path"}, {"name": "axis"}]}
    resource = template["resource"]
    assert resource["action"] == "create" and resource["setOwnerReference"] is True
    assert resource["successCondition"] == "status.jobStatus == Successful"
    assert resource["failureCondition"] == "status.jobStatus == Failed"

    job = yaml.safe_load(resource["manifest"])
    daskjob_validator().validate(job)
    name = job["metadata"]["name"]
    assert name == "{{workflow.name}}-envelope-{{retries}}"
    assert job["metadata"]["labels"] == {"argodasf.io/workflow": "{{workflow.name}}", "argodasf.io/step": "envelope"}
    cluster = job["spec"]["cluster"]["spec"]
    assert cluster["scheduler"]["service"]["selector"]["dask.org/cluster-name"] == name
    assert cluster["worker"]["replicas"] == 3
    pod = job["spec"]["job"]["spec"]
    assert pod["restartPolicy"] == "Never"
    runner = pod["containers"][0]
    assert runner["image"] == "example.org/dasf:1"
    env = {item["name"]: item["value"] for item in runner["env"]}
    assert env["ARGODASF_PARAM_input_path"] == '{{=sprig.b64enc(inputs.parameters["input_path"])}}'
    assert env["OMP_NUM_THREADS"] == "1"
    # the shared volume reaches the runner and the workers
    assert runner["volumeMounts"] == [{"name": "shared", "mountPath": "/shared"}]
    assert cluster["worker"]["spec"]["containers"][0]["volumeMounts"] == [{"name": "shared", "mountPath": "/shared"}]
    assert pod["volumes"] == cluster["worker"]["spec"]["volumes"]


def test_container_step_and_the_dag(draft):
    document = workflow.to_dict(draft)
    stage = templates(document)["stage"]
    assert stage["container"]["image"] == "alpine:3"
    # the container step mounts the cluster spec's shared volume like the DaskJob's pods
    assert stage["container"]["volumeMounts"] == [{"name": "shared", "mountPath": "/shared"}]
    assert stage["volumes"] == [{"name": "shared", "persistentVolumeClaim": {"claimName": "seismic"}}]
    assert stage["activeDeadlineSeconds"] == 3600
    assert stage["retryStrategy"] == {"limit": 1}
    tasks = {task["name"]: task for task in templates(document)[workflow.ENTRYPOINT]["dag"]["tasks"]}
    assert "dependencies" not in tasks["stage"]
    assert tasks["envelope"]["dependencies"] == ["stage"]
    # report adapts: its DaskAutoscaler is created beside its DaskJob
    assert tasks["report--autoscaler"]["dependencies"] == tasks["report"]["dependencies"] == ["envelope"]
    assert tasks["report"]["arguments"] == {
        "parameters": [{"name": "input_path", "value": "{{workflow.parameters.input_path}}"}]
    }
    assert document["spec"]["arguments"]["parameters"] == [
        {"name": "input_path", "value": "/shared/in.zarr"},
        {"name": "axis", "value": "-1"},
    ]
    assert document["metadata"] == {"generateName": "seismic-", "labels": {"argodasf.io/draft": "seismic"}}


def test_container_script_decodes_byte_for_byte(draft, tmp_path):
    script = "echo \"it's $HOME {{workflow.name}}\" > out.txt\nprintf 'tab\\there\\n' >> out.txt\n"
    draft.add(promote.make_step("stage", script, container="alpine:3"))
    container = templates(workflow.to_dict(draft))["stage"]["container"]
    import subprocess

    result = subprocess.run(
        container["command"] + container["args"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"HOME": "/home/x", "PATH": os.environ["PATH"]},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.txt").read_text() == "it's /home/x {{workflow.name}}\ntab\there\n"


def test_workflow_round_trips_through_hera_and_the_strict_schema(draft):
    from hera.workflows import Workflow

    document = workflow.to_dict(draft, namespace="argo", service_account="runner")
    assert Workflow.from_dict(document).to_dict() == document
    validate_workflow(document)
    assert document["spec"]["serviceAccountName"] == "runner"
    job = yaml.safe_load(templates(document)["envelope"]["resource"]["manifest"])
    assert job["spec"]["job"]["spec"]["serviceAccountName"] == "runner"


def test_strict_schema_catches_a_misspelt_key(draft):
    if not argo_schema_available():
        pytest.skip("../shared/schemas is not present in this checkout")
    import jsonschema

    document = workflow.to_dict(draft)
    document["spec"]["templates"][0]["activeDeadlineSecond"] = 5
    with pytest.raises(jsonschema.ValidationError, match="activeDeadlineSecond"):
        workflow_validator().validate(document)


def test_exported_hera_script_rebuilds_the_same_workflow(draft, tmp_path):
    py = workflow.export(draft, str(tmp_path / "wf.py"), namespace="argo")
    namespace = {"__name__": "exported"}
    exec(compile(open(py).read(), py, "exec"), namespace)
    assert namespace["workflow"].to_dict() == workflow.to_dict(draft, namespace="argo")

    path = workflow.export(draft, str(tmp_path / "wf.yaml"))
    assert yaml.safe_load(open(path)) == workflow.to_dict(draft)
    with pytest.raises(ArgodasfError, match="use a .yaml or a .py"):
        workflow.export(draft, str(tmp_path / "wf.json"))


def test_parameters_override_typed(draft):
    assert workflow.resolve_parameters(draft, {"axis": "2", "input_path": "/other"}) == {
        "input_path": "/other",
        "axis": 2,
    }
    with pytest.raises(
        ArgodasfError, match="unknown parameter 'axes'; the workflow's parameters are: input_path, axis"
    ):
        workflow.resolve_parameters(draft, {"axes": "1"})
    with pytest.raises(ArgodasfError, match="must be NAME=VALUE"):
        workflow.parse_assignments(["novalue"])


def test_a_name_with_different_defaults_becomes_one_parameter_per_step(draft):
    draft.add(promote.make_step("other", "print(axis)\n", values={"axis": 0}))
    assert workflow.workflow_parameters(draft) == {
        "input_path": "/shared/in.zarr",
        "envelope-axis": -1,
        "other-axis": 0,
    }
    document = workflow.to_dict(draft)
    validate_workflow(document)
    tasks = {task["name"]: task for task in templates(document)[workflow.ENTRYPOINT]["dag"]["tasks"]}
    assert tasks["other"]["arguments"]["parameters"] == [
        {"name": "axis", "value": "{{workflow.parameters.other-axis}}"}
    ]
    assert workflow.resolve_parameters(draft, {"other-axis": "5"})["other-axis"] == 5


# -- local runs --------------------------------------------------------------------------

PRODUCE = """
import dask.array as da
data = da.arange(12, chunks=4) * factor
with open(out_path, "w") as stream:
    stream.write(str(int(data.sum().compute())))
print("wrote", out_path)
"""

CONSUME = """
with open(in_path) as stream:
    total = int(stream.read())
with open(out_path, "w") as stream:
    stream.write(str(client.submit(lambda x: x + 1, total).result()))
"""


def three_steps(tmp_path) -> Draft:
    draft = Draft("local", str(tmp_path / "local.dasf-workflow.json"))
    draft.add(
        promote.make_step(
            "stage",
            "cp in.txt staged.txt\n",
            container="alpine:3",
            local_command="echo 'staged' > staged.txt",
            outputs=["staged.txt"],
        )
    )
    draft.add(
        promote.make_step(
            "produce",
            PRODUCE,
            values={"factor": 2, "out_path": "sum.txt"},
            cluster=parse_spec({"workers": 1}),
            inputs=["staged.txt"],
            outputs=["sum.txt"],
        )
    )
    draft.add(
        promote.make_step(
            "consume",
            CONSUME,
            values={"in_path": "sum.txt", "out_path": "final.txt"},
            cluster=parse_spec({"workers": 1}),
            inputs=["sum.txt"],
            outputs=["final.txt"],
        )
    )
    return draft


def test_local_run_of_a_three_step_dag_then_a_rerun_skips_completed_steps(tmp_path):
    draft = three_steps(tmp_path)
    updates = []
    runs = local_run.run_local(draft, on_update=lambda runs: updates.append([run.phase for run in runs]))
    assert [(run.name, run.phase) for run in runs] == [
        ("stage", "Succeeded"),
        ("produce", "Succeeded"),
        ("consume", "Succeeded"),
    ], [run.log for run in runs]
    assert updates[0] == ["Pending"] * 3 and ["Succeeded", "Running", "Pending"] in updates
    assert (tmp_path / "staged.txt").read_text() == "staged\n"
    assert (tmp_path / "sum.txt").read_text() == str(2 * sum(range(12)))
    assert (tmp_path / "final.txt").read_text() == str(2 * sum(range(12)) + 1)
    assert "wrote sum.txt" in runs[1].tail() and all(run.duration > 0 for run in runs)

    again = local_run.run_local(draft)
    assert [run.phase for run in again] == ["Succeeded", "Skipped", "Skipped"]
    assert again[1].message == "outputs complete for this code and these parameters"

    # a new parameter value is a new key: produce recomputes; consume's key (its own code and
    # parameters) is unchanged, so its marker still counts
    third = local_run.run_local(draft, parameters={"factor": "3"})
    assert [run.phase for run in third] == ["Succeeded", "Succeeded", "Skipped"]
    assert (tmp_path / "sum.txt").read_text() == str(3 * sum(range(12)))


def test_a_failing_step_fails_and_the_steps_after_it_are_omitted(tmp_path, scheduler_address):
    draft = three_steps(tmp_path)
    draft.add(
        promote.make_step("produce", "raise RuntimeError('no data')\n", inputs=["staged.txt"], outputs=["sum.txt"])
    )
    runs = local_run.run_local(draft, address=scheduler_address)
    assert [run.phase for run in runs] == ["Succeeded", "Failed", "Omitted"]
    assert runs[1].message == "exit code 1" and "RuntimeError: no data" in runs[1].log
    assert runs[2].message == "after failed step produce"


def test_container_step_without_local_command_is_skipped(tmp_path, scheduler_address):
    draft = Draft("c", str(tmp_path / "c.dasf-workflow.json"))
    draft.add(promote.make_step("copy", "cp a b\n", container="alpine:3"))
    draft.add(promote.make_step("after", "print('ran after', client is not None)\n", after=["copy"]))
    runs = local_run.run_local(draft, address=scheduler_address)
    assert [run.phase for run in runs] == ["Skipped", "Succeeded"]
    assert "ran after True" in runs[1].log
    assert "--local-command" in runs[0].message


def test_a_failed_dasf_task_fails_the_step(tmp_path, scheduler_address):
    """The DASF protocol: Pipeline.run catches task errors, the executor does not let them pass."""
    code = (
        DASF_LIKE_PIPELINE
        + """
def good():
    return 1

def bad():
    raise ValueError("bad block")

try:
    Pipeline(executor, [good, bad]).run()
except Exception as error:
    print("post_run raised", type(error).__name__)
"""
    )
    draft = Draft("dasf", str(tmp_path / "dasf.dasf-workflow.json"))
    draft.add(promote.make_step("pipeline", code))
    (run,) = local_run.run_local(draft, address=scheduler_address)
    assert run.phase == "Failed"
    assert "pipeline logged ValueError" in run.log and "DASF task 'bad' failed" in run.log


def test_local_run_uses_the_current_interpreter_not_the_manifest_python(tmp_path):
    job = workflow.dask_job_manifest(promote.make_step("s", "pass\n"), "local-s-abcde", {}, python=sys.executable)
    assert job["spec"]["job"]["spec"]["containers"][0]["args"][0] == sys.executable
    daskjob_validator().validate(job)


LIVE_CLUSTER = """
import os
workers = list(client.scheduler_info()["workers"].values())
print("threads", sorted(worker["nthreads"] for worker in workers))
print("memory", sorted(worker["memory_limit"] for worker in workers))
print("env", client.submit(lambda name: os.environ.get(name), "ARGODASF_SPEC_ENV").result())  # on a worker
"""


def test_run_local_runs_a_step_on_the_cluster_its_spec_describes(tmp_path):
    spec = parse_spec(
        {"workers": 2, "threads_per_worker": 2, "memory_limit": "512MiB", "env": {"ARGODASF_SPEC_ENV": "from the spec"}}
    )
    draft = Draft(
        "live", str(tmp_path / "live.dasf-workflow.json"), [promote.make_step("live", LIVE_CLUSTER, cluster=spec)]
    )
    (run,) = local_run.run_local(draft)
    assert run.phase == "Succeeded", run.log
    assert "threads [2, 2]" in run.log and f"memory [{2**29}, {2**29}]" in run.log
    assert "env from the spec" in run.log


def test_the_run_local_cluster_adapts_within_the_spec_range(no_leftover_processes):
    import time

    step = promote.make_step("elastic", "pass\n", cluster=parse_spec({"adapt": {"minimum": 1, "maximum": 3}}))
    cluster = local_run.local_cluster(step)
    from distributed import Client

    try:
        with Client(cluster) as client:
            futures = client.map(time.sleep, [0.5] * 400, pure=False)
            seen, deadline = set(), time.time() + 60
            while time.time() < deadline and max(seen, default=0) < 3:
                seen.add(len(cluster.scheduler_info["workers"]))
                time.sleep(0.2)
            for _ in range(10):  # and no further
                seen.add(len(cluster.scheduler_info["workers"]))
                time.sleep(0.2)
            client.cancel(futures)
    finally:
        cluster.close()
    assert max(seen) == 3 and min(seen) >= 1, seen


def test_run_local_keeps_this_machines_worker_limit(tmp_path):
    import dask

    step = promote.make_step("wide", "pass\n", cluster=parse_spec({"workers": 3}))
    with dask.config.set({"argodasf.local.max-workers": 2}):
        (run,) = local_run.run_local(Draft("wide", str(tmp_path / "wide.json"), [step]))
    assert run.phase == "Error" and "3 local workers is more than this machine's limit of 2" in run.message
