"""Every tag and expression a promoted workflow carries, run through Argo's own
substitution (the real expr engine with sprig, tests/argo/template_engine.py) on
the exact text an export writes and a submit sends: the runner of every step gets
its parameter values byte for byte."""

from __future__ import annotations

import json

import pytest
import yaml

from argodasf_jupyter import promote, runtime, workflow
from argodasf_jupyter.draft import Draft
from argodasf_jupyter.spec import parse_spec
from workflow_fixtures import WORKFLOW_NAME, argo_run

NASTY = "it's \"quoted\" {{workflow.name}} {{inputs.parameters.path}} '' \\n\nnew line é ✓ }}{{="
VALUES = {
    "path": NASTY,
    "meta": {"key": "{{workflow.name}}", "list": [1, "two's"]},
    "count": 3,
    "prefixed": runtime.ENCODED_PARAMETER_PREFIX + "looks encoded",
}


@pytest.fixture
def draft(tmp_path):
    draft = Draft("tricky", str(tmp_path / "tricky.dasf-workflow.json"))
    one = parse_spec({"workers": 1})
    draft.add(promote.make_step("main", "print(path, meta, count, prefixed)\n", values=VALUES, cluster=one))
    # one variable with two defaults becomes the workflow parameters dag-label and dag-step-label
    draft.add(promote.make_step("dag", "print(label)\n", values={"label": "dag's"}, cluster=one, after=["main"]))
    draft.add(promote.make_step("dag-step", "print(label)\n", values={"label": "{{x}}"}, cluster=one, after=["main"]))
    draft.add(
        promote.make_step(
            "elastic",
            "print(count)\n",
            values={"count": 3},
            cluster=parse_spec({"adapt": {"minimum": 1, "maximum": 3}}),
        )
    )
    draft.add(promote.make_step("stage", 'echo "{{workflow.name}}" > x\n', container="alpine:3", after=["dag"]))
    return draft


def runner_values(template: dict, step: promote.Step) -> dict:
    job = yaml.safe_load(template["resource"]["manifest"])
    runner = job["spec"]["job"]["spec"]["containers"][0]
    environ = {item["name"]: item["value"] for item in runner.get("env", [])}
    return runtime.parameter_values({"parameters": step.parameters}, environ)


def exported(draft, form: str, tmp_path, **options) -> dict:
    if form == "yaml":
        return yaml.safe_load(open(workflow.export(draft, str(tmp_path / "wf.yaml"), **options), encoding="utf-8"))
    return json.loads(json.dumps(workflow.build(draft, **options).to_dict()))  # what submit POSTs


@pytest.mark.parametrize("form", ["yaml", "json"])
def test_every_step_receives_its_defaults_byte_exact(argo_templates, draft, tmp_path, form):
    ran = argo_run(argo_templates, exported(draft, form, tmp_path))
    assert runner_values(ran["main"], draft.steps["main"]) == VALUES
    assert runner_values(ran["dag"], draft.steps["dag"]) == {"label": "dag's"}
    assert runner_values(ran["dag-step"], draft.steps["dag-step"]) == {"label": "{{x}}"}
    assert runner_values(ran["elastic"], draft.steps["elastic"]) == {"count": 3}
    job = yaml.safe_load(ran["main"]["resource"]["manifest"])
    assert job["metadata"]["name"] == f"{WORKFLOW_NAME}-main"
    assert job["metadata"]["labels"]["argodasf.io/workflow"] == WORKFLOW_NAME


def test_overrides_arrive_byte_exact_through_both_substitution_stages(argo_templates, draft, tmp_path):
    overrides = {"path": "x'y\"z {{workflow.name}}\n\tü", "dag-step-label": "{{=sprig.b64enc('x')}}", "count": "7"}
    values = workflow.resolve_parameters(draft, overrides)
    ran = argo_run(argo_templates, exported(draft, "json", tmp_path, parameters=values))
    assert runner_values(ran["main"], draft.steps["main"]) == {**VALUES, "path": overrides["path"], "count": 7}
    assert runner_values(ran["dag-step"], draft.steps["dag-step"]) == {"label": overrides["dag-step-label"]}


def test_a_raw_value_with_tags_would_be_rewritten_by_argo(argo_templates):
    """Why values holding '{{' are encoded: Argo's first stage rewrites them."""
    raw = {"value": "run {{workflow.name}}"}
    assert argo_templates.substitute_object(raw, {"workflow.name": WORKFLOW_NAME}, allow_unresolved=True) == {
        "value": f"run {WORKFLOW_NAME}"
    }
    encoded = runtime.argo_parameter_text(raw["value"])
    assert "{{" not in encoded and runtime.from_argo_parameter_text(encoded) == raw["value"]
    assert runtime.argo_parameter_text("plain") == "plain"


@pytest.mark.parametrize("name", ["x", "input_path", "contains", "nil", "true", "matches", "é", "_private"])
def test_the_parameter_expression_survives_yaml_quoting_for_any_input_name(argo_templates, name):
    manifest = workflow.manifest_text({"value": workflow.parameter_expression(name)})
    template = {"manifest": manifest}
    substituted = argo_templates.substitute_object(template, {f"inputs.parameters.{name}": "it's"})
    assert runtime.decode_text(yaml.safe_load(substituted["manifest"])["value"]) == "it's"


def test_step_templates_never_collide_with_generated_names(draft, tmp_path):
    document = exported(draft, "yaml", tmp_path)
    names = [template["name"] for template in document["spec"]["templates"]]
    assert len(names) == len(set(names))
    assert document["spec"]["entrypoint"] == workflow.ENTRYPOINT and workflow.ENTRYPOINT not in draft.steps
    templates = {template["name"]: template for template in document["spec"]["templates"]}
    # each step's template runs that step's own code
    for name in ("main", "dag", "dag-step"):
        job = yaml.safe_load(templates[name]["resource"]["manifest"])
        assert job["metadata"]["labels"]["argodasf.io/step"] == name
    tasks = {task["name"]: task["template"] for task in templates[workflow.ENTRYPOINT]["dag"]["tasks"]}
    assert {name: tasks[name] for name in draft.steps} == {name: name for name in draft.steps}

    # the .py export gives every template its own variable and rebuilds the same workflow
    script = open(workflow.export(draft, str(tmp_path / "wf.py")), encoding="utf-8").read()
    namespace = {"__name__": "exported"}
    exec(compile(script, "wf.py", "exec"), namespace)
    assert namespace["workflow"].to_dict() == workflow.to_dict(draft)
    assert {"main_template", "dag_template", "dag_step_template", "argodasf__dag_template"} <= set(namespace)


def test_a_step_name_with_the_generated_mark_is_refused():
    with pytest.raises(promote.ArgodasfError, match="holds '--'"):
        promote.make_step("a--b", "pass\n")
