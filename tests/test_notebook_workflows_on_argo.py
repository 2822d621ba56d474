"""Every shipped notebook's workflow, promoted by running the notebook in a real
IPython shell and exported as YAML and as a Hera script, is the
same Workflow both ways, and every template of it substitutes cleanly the way the
test-side Argo controller (Argo's rules, the real expr engine) processes it."""

from __future__ import annotations

import runpy

import pytest
import yaml

from argo.controller import scope
from notebook_cells import NOTEBOOKS, KeptConfig, run_cells

WITH_WORKFLOWS = sorted(
    path.name for path in NOTEBOOKS.glob("*.ipynb") if "%%dasf_workflow" in path.read_text(encoding="utf-8")
)


def processed_templates(engine, document: dict) -> dict:
    """Each task's template as the controller runs its first attempt."""
    workflow = {
        **document,
        "metadata": {
            **document["metadata"],
            "name": "nb-a1b2c",
            "namespace": "default",
            "uid": "uid-1",
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
    }
    spec = scope.resolve_spec(engine, workflow, scope.global_values(workflow))
    values = scope.global_values({**workflow, "spec": spec})
    assert scope.unresolved_tags(workflow, values) == []
    templates = {template["name"]: template for template in spec["templates"]}
    result = {}
    for task in templates[spec["entrypoint"]]["dag"]["tasks"]:
        arguments = scope.task_arguments(engine, task, values)
        local = {"retries": "0"} if templates[task["template"]].get("retryStrategy") else {}
        result[task["name"]] = scope.process(engine, templates[task["template"]], arguments, values, local)
    return result


def test_the_notebooks_have_workflows():
    assert {name[:2] for name in WITH_WORKFLOWS} >= {"02", "04"}


@pytest.mark.parametrize("notebook", WITH_WORKFLOWS)
def test_exports_agree_and_evaluate_cleanly(notebook, shell, tmp_path, monkeypatch, argo_templates):
    monkeypatch.chdir(tmp_path)
    with KeptConfig():
        run_cells(shell, notebook)
        for name in ("wf.yaml", "wf.py"):
            assert shell.run_cell(f"%dasf_workflow export {tmp_path / name}").success
    from_yaml = yaml.safe_load((tmp_path / "wf.yaml").read_text(encoding="utf-8"))
    from_python = runpy.run_path(str(tmp_path / "wf.py"))["workflow"].to_dict()
    assert from_python == from_yaml
    processed = processed_templates(argo_templates, from_yaml)
    assert processed, "no task"
    for name, template in processed.items():
        text = yaml.safe_dump(template)
        assert "{{" not in text, f"task {name} keeps a tag: {text[:400]}"
        if "resource" in template:
            job = yaml.safe_load(template["resource"]["manifest"])
            assert job["metadata"]["name"].startswith("nb-a1b2c-")
