"""Strict validators: the Dask operator's DaskJob CRD schema (from the
dask-kubernetes wheel) and the official Argo Workflows schema (../shared), both
with unknown keys forbidden."""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import pathlib

import jsonschema
import yaml

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
ARGO_SCHEMA = SHARED / "schemas" / "argo-workflows-v4.1-schema.json"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
WORKFLOW = "io.argoproj.workflow.v1alpha1.Workflow"


def strict(node):
    """Forbid unknown keys wherever a schema node lists its properties (unless the
    node itself says unknown fields are kept)."""
    if isinstance(node, dict):
        node = {key: strict(value) for key, value in node.items()}
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [strict(item) for item in node]
    return node


@functools.cache
def daskjob_validator() -> jsonschema.Draft7Validator:
    package = pathlib.Path(importlib.util.find_spec("dask_kubernetes").submodule_search_locations[0])
    crd = yaml.safe_load((package / "operator/deployment/helm/dask-kubernetes-operator/crds/daskjob.yaml").read_text())
    schema = copy.deepcopy(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    # the API server checks these itself; the CRD leaves them out
    schema["properties"].update(apiVersion={"type": "string"}, kind={"type": "string"}, metadata={"type": "object"})
    return jsonschema.Draft7Validator(strict(schema))


def argo_schema_available() -> bool:
    return ARGO_SCHEMA.is_file()


@functools.cache
def argo_validator(definition: str = WORKFLOW) -> jsonschema.Draft202012Validator:
    """The official schema of one Argo kind, strict."""
    schema = strict(json.loads(ARGO_SCHEMA.read_text()))
    # Argo accepts integers where the schema says IntOrString is a string
    schema["definitions"][INT_OR_STRING] = {"type": ["integer", "string"]}
    schema.pop("oneOf", None)
    schema["$ref"] = f"#/definitions/{definition}"
    return jsonschema.Draft202012Validator(schema)


def workflow_validator() -> jsonschema.Draft202012Validator:
    return argo_validator(WORKFLOW)


def validate_workflow(workflow: dict) -> None:
    """Hera's models always; the official schema where ../shared is present."""
    from hera.workflows.models import Workflow

    Workflow.model_validate(workflow)
    if argo_schema_available():
        workflow_validator().validate(workflow)


def validate_published(document: dict) -> None:
    """A CronWorkflow or WorkflowTemplate: Hera's models always, the official schema where present."""
    from hera.workflows import models

    getattr(models, document["kind"]).model_validate(document)
    if argo_schema_available():
        argo_validator(f"io.argoproj.workflow.v1alpha1.{document['kind']}").validate(document)
