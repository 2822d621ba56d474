"""What the kernels of this server published in the registry, shaped for the sidebar."""

from __future__ import annotations


def _owner(record: dict) -> dict:
    return {"kernel_id": record.get("kernel_id"), "pid": record.get("pid")}


def clusters(records: list[dict]) -> list[dict]:
    """Every cluster of every live kernel, each tagged with the kernel that holds it."""
    return [{**cluster, **_owner(record)} for record in records for cluster in record.get("clusters") or []]


def drafts(records: list[dict]) -> list[dict]:
    """The workflow draft of each live kernel that has one."""
    return [{**record["draft"], **_owner(record)} for record in records if record.get("draft")]
