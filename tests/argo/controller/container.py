"""Container templates run as real Pods on the fake API: the kubelet execs the
template's command and args (with $(VAR) expansion, as a container runtime does)
in the pod's own filesystem. A pod running longer than its activeDeadlineSeconds
(the template's, or its timeout) is stopped as the kubelet would, with the same
message."""

from __future__ import annotations

import time
from typing import Optional

from .durations import seconds
from .resource import DEADLINE_MESSAGE, owner_reference

LABEL_WORKFLOW = "workflows.argoproj.io/workflow"
LABEL_COMPLETED = "workflows.argoproj.io/completed"
ANNOTATION_NODE_NAME = "workflows.argoproj.io/node-name"
ANNOTATION_NODE_ID = "workflows.argoproj.io/node-id"
_CONTAINER_FIELDS = ("image", "command", "args", "env", "envFrom", "workingDir", "volumeMounts", "resources")


def deadline(template: dict) -> Optional[float]:
    if template.get("activeDeadlineSeconds") is not None:
        return float(template["activeDeadlineSeconds"])
    return seconds(template["timeout"]) if template.get("timeout") else None


def pod_manifest(workflow: dict, template: dict, node: dict, name: str) -> dict:
    spec = workflow["spec"]
    container = {
        "name": "main",
        **{key: template["container"][key] for key in _CONTAINER_FIELDS if key in template["container"]},
    }
    mounted = {mount["name"] for mount in container.get("volumeMounts", [])}
    pod_spec = {
        "restartPolicy": "Never",
        "containers": [container],
        "serviceAccountName": spec.get("serviceAccountName") or "default",
    }
    volumes = [
        volume for volume in [*spec.get("volumes", []), *template.get("volumes", [])] if volume["name"] in mounted
    ]
    if volumes:
        pod_spec["volumes"] = volumes
    if deadline(template) is not None:
        pod_spec["activeDeadlineSeconds"] = int(deadline(template))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": workflow["metadata"]["namespace"],
            "labels": {LABEL_WORKFLOW: workflow["metadata"]["name"], LABEL_COMPLETED: "false"},
            "annotations": {ANNOTATION_NODE_NAME: node["name"], ANNOTATION_NODE_ID: node["id"]},
            "ownerReferences": [owner_reference(workflow)],
        },
        "spec": pod_spec,
    }


def pod_state(pod: Optional[dict], template: dict, started: float) -> tuple[str, str]:
    """The node's phase and message from its pod (None: the pod was deleted)."""
    if pod is None:
        return "Error", "pod deleted"
    status = pod.get("status", {})
    phase = status.get("phase", "Pending")
    limit = deadline(template)
    if phase in ("Pending", "Running") and limit is not None and time.monotonic() - started > limit:
        return "Failed", DEADLINE_MESSAGE
    if phase == "Succeeded":
        return "Succeeded", ""
    if phase == "Failed":
        terminated = next(
            (
                state["state"]["terminated"]
                for state in status.get("containerStatuses", [])
                if "terminated" in state.get("state", {})
            ),
            {},
        )
        if terminated.get("reason") == "StartError":
            return "Error", terminated.get("message", "the container could not start")
        return "Failed", f"Error (exit code {terminated.get('exitCode', 1)})"
    return ("Running" if phase == "Running" else "Pending"), ""
