"""Which Argo Server to talk to, and what the sidebar shows of a workflow.

Where to connect comes only from configuration: the `argodasf.argo` settings, with
the argo CLI's environment variables (ARGO_SERVER, ARGO_NAMESPACE, ARGO_SECURE,
ARGO_INSECURE_SKIP_VERIFY, ARGO_BASE_HREF) taking precedence; never from a request.
The calls themselves go through ``argodasf_jupyter.argo`` (hera's WorkflowsService),
which holds the token (ARGO_TOKEN) and scrubs it from every error. Answers are
rebuilt field by field by ``summary``, so nothing else of Argo's reaches the browser.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..config import settings

DEFAULT_NAMESPACE = "argo"
STEP_NODE_TYPES = ("Pod", "Retry", "Skipped", "Suspend")


@dataclass(frozen=True)
class ArgoTarget:
    host: str  # scheme://server[/base_href]
    namespace: str
    verify_ssl: bool
    ui_url: str


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes")


def argo_target() -> ArgoTarget | None:
    """The configured Argo Server, or None when there is none."""
    conf = settings().argo
    server = os.environ.get("ARGO_SERVER") or conf.server
    if not server:
        return None
    secure = _env_flag("ARGO_SECURE", conf.secure)
    scheme, written, bare = server.partition("://")
    if written:  # ARGO_SERVER=https://host:2746 (the argo CLI wants host:port): the scheme decides
        server, secure = bare, scheme.lower() == "https"
    base_href = os.environ.get("ARGO_BASE_HREF", conf.base_href).strip("/")
    host = f"{'https' if secure else 'http'}://{server.rstrip('/')}" + (f"/{base_href}" if base_href else "")
    return ArgoTarget(
        host=host,
        namespace=os.environ.get("ARGO_NAMESPACE") or conf.namespace or DEFAULT_NAMESPACE,
        verify_ssl=not _env_flag("ARGO_INSECURE_SKIP_VERIFY", conf.insecure_skip_verify),
        ui_url=(conf.ui_url or host).rstrip("/"),
    )


def _time(value) -> str | None:
    """Argo timestamps arrive as strings or datetime-like models; answer ISO strings."""
    if value is None:
        return None
    inner = getattr(value, "root", getattr(value, "__root__", value))
    return inner.isoformat() if hasattr(inner, "isoformat") else str(inner)


def _job_templates(templates) -> set[str]:
    """The templates of a workflow that create a DaskJob: its DASF steps."""
    import yaml

    return {template.name for template in templates or []
            if template.resource and (yaml.safe_load(template.resource.manifest or "") or {}).get("kind") == "DaskJob"}


def _steps(nodes: dict, job_templates: set[str]) -> list[dict]:
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
        "steps": _steps(status.nodes or {}, _job_templates(workflow.spec.templates if workflow.spec else [])) if status else [],
        "ui_url": f"{target.ui_url}/workflows/{metadata.namespace or target.namespace}/{name}",
    }

