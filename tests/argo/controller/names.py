"""Names Argo gives to nodes and pods (pod names version 2, the default)."""

from __future__ import annotations

MAX_POD_PREFIX = 52  # room for '-' and a 32-bit hash in a 63-character name


def fnv32a(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def node_id(workflow_name: str, node_name: str) -> str:
    """The root node is the workflow's name; every other node gets a hash of its name."""
    return workflow_name if node_name == workflow_name else f"{workflow_name}-{fnv32a(node_name)}"


def pod_name(workflow_name: str, node_name: str, template_name: str) -> str:
    if node_name == workflow_name:
        return workflow_name
    prefix = f"{workflow_name}-{template_name}" if template_name else workflow_name
    return f"{prefix[:MAX_POD_PREFIX].rstrip('-')}-{fnv32a(node_name)}"
