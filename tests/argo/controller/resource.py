"""Resource templates: the substituted manifest is created on the API as the
workflow's service account (what argoexec's `kubectl create` does), owned by the
Workflow when setOwnerReference is set, and watched until its success or failure
condition holds (conditions.py); the template's `timeout` bounds the node."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import yaml

from . import conditions
from .durations import seconds

DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"


@dataclass
class ResourceRun:
    """What the executor of one attempt knows: the object it created, and its log."""

    resource: object = None  # the fake API's ResourceType
    namespace: str = ""
    name: str = ""
    done: bool = False  # a delete has no conditions: its node succeeds once the delete returns
    started: float = field(default_factory=time.monotonic)
    log: list = field(default_factory=list)


def owner_reference(workflow: dict) -> dict:
    meta = workflow["metadata"]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def start(api, workflow: dict, template: dict) -> tuple[ResourceRun, str]:
    """Create the template's object; answers the run and an error message ('' if none)."""
    run = ResourceRun()
    spec = template["resource"]
    action = spec.get("action", "create")
    if action not in ("create", "delete"):
        return run, f"the fake controller only runs actions 'create' and 'delete', not '{action}'"
    try:
        manifest = yaml.safe_load(spec["manifest"])
    except yaml.YAMLError as error:
        return run, f"error: error parsing manifest: {' '.join(str(error).split())}"
    if not isinstance(manifest, dict) or not manifest.get("kind") or not manifest.get("metadata", {}).get("name"):
        return run, "Kind and name are both required but at least one of them is missing from the manifest"
    if spec.get("setOwnerReference"):
        references = manifest["metadata"].setdefault("ownerReferences", [])
        references.append(owner_reference(workflow))
    group, _, version = manifest["apiVersion"].rpartition("/")
    resource = next(
        (
            rt
            for rt in api.store.resource_types()
            if (rt.group, rt.version, rt.kind) == (group, version, manifest["kind"])
        ),
        None,
    )
    if resource is None:
        return run, (
            f'error: resource mapping not found for name: "{manifest["metadata"]["name"]}" '
            f'namespace: "" from "manifest": no matches for kind "{manifest["kind"]}" in version '
            f'"{manifest["apiVersion"]}"'
        )
    namespace = manifest["metadata"].get("namespace") or workflow["metadata"]["namespace"]
    if action == "delete":
        return _delete(api, workflow, resource, namespace, manifest, spec.get("flags") or [])
    answer = api.as_service_account(workflow).post(
        api.url + api.collection_path(resource, namespace), json=manifest, timeout=30
    )
    if answer.status_code >= 300:
        reason = (
            answer.json().get("reason", "Error")
            if answer.headers.get("Content-Type") == "application/json"
            else "Error"
        )
        message = answer.json().get("message", answer.text) if reason != "Error" else answer.text
        return run, f"Error from server ({reason}): {message}"
    created = answer.json()
    run.resource, run.namespace, run.name = resource, namespace, created["metadata"]["name"]
    qualified = f"{manifest['kind'].lower()}.{group}/{run.name}"
    run.log.append(
        f"Resource: {namespace}/{qualified}. SelfLink: {api.collection_path(resource, namespace)}/{run.name}"
    )
    return run, ""


def check(api, run: ResourceRun, template: dict) -> tuple[str, str]:
    """The attempt's phase now ("Running", "Succeeded" or "Failed") and message."""
    spec = template["resource"]
    timeout = template.get("timeout")
    if timeout and time.monotonic() - run.started > seconds(timeout):
        return "Failed", DEADLINE_MESSAGE
    try:
        document = api.store.get(run.resource, run.namespace, run.name)
    except Exception as error:  # gone: the executor stops waiting
        return "Failed", (
            f"The resource has been deleted while its status was still being checked. Will not be retried: {error}"
        )
    try:
        phase, message = conditions.state(document, spec.get("successCondition", ""), spec.get("failureCondition", ""))
    except conditions.SelectorError as error:
        which = "success" if _bad(spec.get("successCondition", "")) else "fail"
        text = spec.get("successCondition" if which == "success" else "failureCondition")
        return "Failed", f"{which} condition '{text}' failed to parse: {error}"
    if phase != "Running":
        run.log.append(message or "success condition matched")
    return phase, message


def _bad(text: str) -> bool:
    try:
        conditions.parse(text)
        return False
    except conditions.SelectorError:
        return True


def _delete(api, workflow, resource, namespace, manifest, flags) -> tuple[ResourceRun, str]:
    """`kubectl delete -f manifest`: done when the API accepts the delete; a missing
    object fails the node unless --ignore-not-found is among the flags."""
    run = ResourceRun(done=True)
    name = manifest["metadata"]["name"]
    answer = api.as_service_account(workflow).delete(
        f"{api.url}{api.collection_path(resource, namespace)}/{name}", timeout=30
    )
    qualified = f"{manifest['kind'].lower()}.{resource.group}"
    if answer.status_code == 404 and "--ignore-not-found" in flags:
        return run, ""
    if answer.status_code >= 300:
        return (
            run,
            f'Error from server (NotFound): {qualified} "{name}" not found'
            if answer.status_code == 404
            else f"Error from server: {answer.text}",
        )
    run.log.append(f'{qualified} "{name}" deleted')
    return run, ""
