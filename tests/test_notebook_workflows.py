"""The workflow of every shipped notebook that promotes steps, exported headless, runs
cleanly through Argo's substitution with the real expr engine: every tag resolves,
every DaskJob runner gets the workflow's parameter values, and every pod of every
step works on the notebook's shared volume."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from argodasf_jupyter import cli, runtime
from workflow_fixtures import argo_run

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"


def pod_containers(template: dict) -> list[dict]:
    if "container" in template:
        return [template["container"]]
    job = yaml.safe_load(template["resource"]["manifest"])
    if job["kind"] != "DaskJob":
        return []
    cluster = job["spec"]["cluster"]["spec"]
    return [pod["spec"]["containers"][0] for pod in (job["spec"]["job"], cluster["scheduler"], cluster["worker"])]


@pytest.mark.parametrize(
    "name, steps",
    [
        ("02-seismic-envelope.ipynb", {"stage", "envelope"}),
        ("04-promote-workflow.ipynb", {"stage", "synth", "envelope"}),
    ],
)
def test_a_notebooks_workflow_runs_through_argos_substitution(argo_templates, tmp_path, name, steps):
    target = tmp_path / "wf.yaml"
    assert cli.main(["promote", str(NOTEBOOKS / name), "-o", str(target)]) == 0
    document = yaml.safe_load(target.read_text(encoding="utf-8"))
    defaults = {
        item["name"]: runtime.from_argo_parameter_text(item["value"])
        for item in document["spec"]["arguments"]["parameters"]
    }
    ran = argo_run(argo_templates, document)
    assert set(ran) == steps
    for step, template in ran.items():
        if "resource" in template:
            job = yaml.safe_load(template["resource"]["manifest"])
            runner = job["spec"]["job"]["spec"]["containers"][0]
            received = {
                item["name"].removeprefix(runtime.PARAMETER_ENV_PREFIX): runtime.decode_text(item["value"])
                for item in runner["env"]
                if item["name"].startswith(runtime.PARAMETER_ENV_PREFIX)
            }
            assert received and all(defaults[key] == value for key, value in received.items()), step
        containers = pod_containers(template)
        assert containers and all(container["workingDir"] == "/data" for container in containers), step
