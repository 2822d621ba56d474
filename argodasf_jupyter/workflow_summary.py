"""What the notebook, the CLI and the sidebar show of one Argo workflow: its answer
rebuilt field by field, so nothing else of Argo's reaches them (or the browser)."""

from __future__ import annotations

from . import step_report
from .argo_settings import ArgoTarget

STEP_NODE_TYPES = ("Pod", "Retry", "Skipped", "Suspend")


def _time(value) -> str | None:
    """Argo timestamps arrive as strings or datetime-like models; answer ISO strings."""
    if value is None:
        return None
    inner = getattr(value, "root", getattr(value, "__root__", value))
    return inner.isoformat() if hasattr(inner, "isoformat") else str(inner)


def _job_templates(templates) -> dict[str, dict | None]:
    """The templates of a workflow that create a DaskJob (its DASF steps), each with
    where its step writes its performance report (None: it writes none)."""
    import yaml

    jobs = {}
    for template in templates or []:
        manifest = (yaml.safe_load(template.resource.manifest or "") or {}) if template.resource else {}
        if manifest.get("kind") == "DaskJob":
            annotations = (manifest.get("metadata") or {}).get("annotations") or {}
            jobs[template.name] = step_report.from_annotation(annotations.get(step_report.ANNOTATION))
    return jobs


def _steps(nodes: dict, job_templates: dict[str, dict | None]) -> list[dict]:
    """One entry per workflow step: retried attempts fold into their Retry node."""
    retried = {child for node in nodes.values() if node.type == "Retry" for child in node.children or []}
    steps = [
        {
            "name": node.display_name or node.name,
            "kind": "dasf" if node.template_name in job_templates else "container",
            "phase": node.phase or "Pending",
            "started_at": _time(node.started_at),
            "finished_at": _time(node.finished_at),
            "message": node.message,
            "report": job_templates.get(node.template_name),
        }
        for node_id, node in nodes.items()
        if node.type in STEP_NODE_TYPES and node_id not in retried
    ]
    return sorted(steps, key=lambda step: (step["started_at"] is None, step["started_at"] or "", step["name"]))


def summary(workflow, target: ArgoTarget) -> dict:
    """The fields the sidebar shows of one hera Workflow model."""
    metadata, status = workflow.metadata, workflow.status
    name = metadata.name
    return {
        "name": name,
        "namespace": metadata.namespace or target.namespace,
        "phase": (status.phase if status else None) or "Pending",
        "created_at": _time(metadata.creation_timestamp),
        "started_at": _time(status.started_at) if status else None,
        "finished_at": _time(status.finished_at) if status else None,
        "progress": status.progress if status else None,
        "message": status.message if status else None,
        "steps": _steps(status.nodes or {}, _job_templates(workflow.spec.templates if workflow.spec else []))
        if status
        else [],
        "ui_url": f"{target.ui_url}/workflows/{metadata.namespace or target.namespace}/{name}",
    }
