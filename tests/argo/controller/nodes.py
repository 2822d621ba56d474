"""The Workflow's status.nodes as Argo writes them: one node per DAG, Retry node and
attempt (type Pod, also for resource templates, which Argo runs in an executor
pod), with phase, message, startedAt, finishedAt, children and boundaryID; and the
workflow's progress, "<succeeded pods>/<all pods>"."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from .names import node_id

FULFILLED = ("Succeeded", "Failed", "Error", "Skipped", "Omitted")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Nodes:
    """A view on status.nodes of one workflow (a dict it changes in place)."""

    def __init__(self, workflow_name: str, nodes: dict):
        self.workflow_name = workflow_name
        self.nodes = nodes

    def get(self, name: str) -> Optional[dict]:
        return self.nodes.get(node_id(self.workflow_name, name))

    def add(
        self,
        name: str,
        display_name: str,
        kind: str,
        template: Optional[str],
        boundary: Optional[str],
        parent: Optional[str] = None,
        inputs: Optional[dict] = None,
    ) -> dict:
        identifier = node_id(self.workflow_name, name)
        node = {
            "id": identifier,
            "name": name,
            "displayName": display_name,
            "type": kind,
            "templateScope": f"local/{self.workflow_name}",
            "phase": "Pending",
            "startedAt": now(),
        }
        if template:
            node["templateName"] = template
        if boundary:
            node["boundaryID"] = boundary
        if inputs:
            node["inputs"] = inputs
        self.nodes[identifier] = node
        if parent is not None:
            children = self.get(parent).setdefault("children", [])
            if identifier not in children:
                children.append(identifier)
        return node

    def mark(self, node: dict, phase: str, message: Optional[str] = None) -> None:
        node["phase"] = phase
        if message is not None:
            if message:
                node["message"] = message
            else:
                node.pop("message", None)
        if phase in FULFILLED and not node.get("finishedAt"):
            node["finishedAt"] = now()

    def progress(self) -> str:
        pods = [node for node in self.nodes.values() if node["type"] == "Pod"]
        done = sum(node["phase"] == "Succeeded" for node in pods)
        return f"{done}/{len(pods)}"
