"""The test-side Argo template engine behaves as Argo's controller does (the facts
checked in argoproj/argo-workflows util/template and its tests)."""

from __future__ import annotations

import json

import pytest

from argo.template_engine import TemplateError

pytestmark = pytest.mark.one_environment

VALUES = {"inputs.parameters.path": 'it\'s "here"\n{{x}} é', "workflow.name": "wf-abcde", "retries": "2"}


def test_simple_tags_are_replaced_inside_the_json_text(argo_templates):
    template = {"args": ["{{inputs.parameters.path}}", "{{ workflow.name }}-{{retries}}"]}
    assert argo_templates.substitute_object(template, VALUES) == {
        "args": [VALUES["inputs.parameters.path"], "wf-abcde-2"]
    }


def test_expression_tags_run_in_expr_with_sprig(argo_templates):
    template = {"value": "{{=sprig.b64enc(inputs.parameters['path'])}}", "n": "{{=asInt(retries) + 1}}"}
    assert argo_templates.substitute_object({"value": template["value"]}, VALUES) == {
        "value": "aXQncyAiaGVyZSIKe3t4fX0gw6k="
    }
    assert argo_templates.substitute_object({"n": template["n"]}, VALUES) == {"n": "3"}
    with pytest.raises(TemplateError, match="int"):
        argo_templates.substitute_object({"n": "{{=asInt(workflow.name)}}"}, VALUES)


def test_yaml_doubled_quotes_break_an_expression_as_on_argo(argo_templates):
    with pytest.raises(TemplateError, match="unexpected token"):
        argo_templates.substitute("{{=sprig.b64enc(inputs.parameters[''path''])}}", VALUES)


def test_a_missing_variable_fails_unless_unresolved_tags_are_allowed(argo_templates):
    with pytest.raises(TemplateError, match=r"failed to resolve \{\{inputs.parameters.other\}\}"):
        argo_templates.substitute("{{inputs.parameters.other}}", VALUES)
    assert (
        argo_templates.substitute("{{inputs.parameters.other}}", VALUES, allow_unresolved=True)
        == "{{inputs.parameters.other}}"
    )


def test_expression_results_are_json_escaped_into_the_text(argo_templates):
    text = json.dumps({"v": "{{=inputs.parameters.path + '!'}}"})
    assert json.loads(argo_templates.substitute(text, VALUES)) == {"v": VALUES["inputs.parameters.path"] + "!"}


def test_bare_expressions_evaluate_to_values(argo_templates):
    assert argo_templates.evaluate("retries == '2' && workflow.name startsWith 'wf-'", VALUES) is True
