"""The values templates are substituted with, and a template processed for one node
the way Argo's controller does it (common.ProcessArgs / SubstituteParams): task
arguments bound to the template's inputs, then the template's JSON text substituted
with the global and local values (unresolved tags kept), then again with its
inputs. Unlike Argo, which keeps tags it cannot resolve in that last pass, the fake
fails the node there with the engine's message (input values themselves are data
and keep any '{{' they hold)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Mapping

from argo.template_engine import TemplateError

_SIMPLE_TAG = re.compile(r"\{\{([^=][^}]*)\}\}")
# tags a template may hold that only exist once its node runs
_RUNTIME_PREFIXES = (
    "retries",
    "pod.name",
    "node.name",
    "tasks.",
    "steps.",
    "outputs.",
    "workflow.status",
    "workflow.failures",
    "workflow.duration",
    "workflow.creationTimestamp",
    "item",
)


def parameter_text(value: Any) -> str:
    """A parameter value's String(): text as given, other JSON as its JSON text."""
    return value if isinstance(value, str) else json.dumps(value)


def global_values(workflow: dict) -> dict[str, str]:
    meta, spec = workflow["metadata"], workflow["spec"]
    parameters = (spec.get("arguments") or {}).get("parameters") or []
    values = {
        "workflow.name": meta["name"],
        "workflow.namespace": meta["namespace"],
        "workflow.uid": meta["uid"],
        "workflow.mainEntrypoint": spec.get("entrypoint", ""),
        "workflow.serviceAccountName": spec.get("serviceAccountName", ""),
        "workflow.creationTimestamp": meta["creationTimestamp"],
        "workflow.parameters": json.dumps(parameters, separators=(",", ":")),
        "workflow.parameters.json": json.dumps(parameters, separators=(",", ":")),
    }
    for parameter in parameters:
        if "value" not in parameter:
            raise TemplateError(
                f"either value or valueFrom must be specified in order to set global parameter {parameter['name']}"
            )
        values[f"workflow.parameters.{parameter['name']}"] = parameter_text(parameter["value"])
    for kind in ("labels", "annotations"):
        for key, value in (meta.get(kind) or {}).items():
            values[f"workflow.{kind}.{key}"] = value
    return values


def resolve_spec(engine, workflow: dict, values: Mapping[str, str]) -> dict:
    """The spec (templates aside) with global tags replaced, as at a workflow's start
    (this is how a parameter value holding '{{...}}' gets resolved)."""
    spec = workflow["spec"]
    rest = {key: value for key, value in spec.items() if key != "templates"}
    resolved = engine.substitute_object(rest, values, allow_unresolved=True)
    return {**resolved, "templates": spec.get("templates", [])}


def unresolved_tags(workflow: dict, values: Mapping[str, str]) -> list[str]:
    """What Argo's validation rejects before running: simple tags of the known roots
    ({{workflow.*}}, {{inputs.*}}) that nothing will ever resolve."""
    problems = []
    for template in workflow["spec"].get("templates", []):
        inputs = {f"inputs.parameters.{p['name']}" for p in (template.get("inputs") or {}).get("parameters") or []}
        text = json.dumps(template)
        for tag in _SIMPLE_TAG.findall(text):
            tag = tag.strip()
            if not tag.startswith(("workflow.", "inputs.")) or tag.startswith(_RUNTIME_PREFIXES):
                continue
            if tag not in values and tag not in inputs and tag != "inputs.parameters":
                problems.append(f"templates.{template['name']}: failed to resolve {{{{{tag}}}}}")
    return problems


def bind_inputs(template: dict, arguments: list[dict]) -> dict:
    """The template with each input parameter's value taken from the task's arguments,
    else from its default."""
    given = {argument["name"]: argument for argument in arguments or []}
    template = copy.deepcopy(template)
    for parameter in (template.get("inputs") or {}).get("parameters") or []:
        if parameter["name"] in given and "value" in given[parameter["name"]]:
            parameter["value"] = parameter_text(given[parameter["name"]]["value"])
        elif "default" in parameter and "value" not in parameter:
            parameter["value"] = parameter_text(parameter["default"])
        if "value" not in parameter:
            raise TemplateError(f"inputs.parameters.{parameter['name']} was not supplied")
    return template


def process(engine, template: dict, arguments: list[dict], values: Mapping[str, str], local: Mapping[str, str]) -> dict:
    """The template as the node runs it."""
    bound = bind_inputs(template, arguments)
    first = engine.substitute_object(bound, {**values, **local}, allow_unresolved=True)
    inputs = {f"inputs.parameters.{p['name']}": p["value"] for p in (first.get("inputs") or {}).get("parameters") or []}
    inputs["inputs.parameters"] = json.dumps((first.get("inputs") or {}).get("parameters") or [], separators=(",", ":"))
    # the input values are data: a '{{' inside one is kept, as Argo keeps it
    body = {key: value for key, value in first.items() if key != "inputs"}
    processed = engine.substitute_object(body, {**values, **local, **inputs})
    return {**processed, **({"inputs": first["inputs"]} if "inputs" in first else {})}


def task_arguments(engine, task: dict, values: Mapping[str, str]) -> list[dict]:
    """A DAG task's arguments with global tags replaced."""
    arguments = (task.get("arguments") or {}).get("parameters") or []
    return engine.substitute_object(arguments, values, allow_unresolved=True)
