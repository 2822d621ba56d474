"""The Argo Server as the sidebar sees it, reached through hera's WorkflowsService.

Where to connect comes only from configuration: the `argodasf.argo` settings, with
the argo CLI's environment variables (ARGO_SERVER, ARGO_NAMESPACE, ARGO_SECURE,
ARGO_INSECURE_SKIP_VERIFY, ARGO_BASE_HREF) taking precedence. The token is read from
ARGO_TOKEN in the server's environment on each call and never leaves this process:
answers are rebuilt field by field and error texts are scrubbed of it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import requests

from ..config import settings

TIMEOUT = 10  # seconds for one call to the Argo Server
DEFAULT_NAMESPACE = "argo"
LIST_LIMIT = 20
FINAL_PHASES = ("Succeeded", "Failed", "Error")
STEP_NODE_TYPES = ("Pod", "Retry", "Skipped", "Suspend")


class ArgoError(Exception):
    """A failed call to the Argo Server; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


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
    base_href = os.environ.get("ARGO_BASE_HREF", conf.base_href).strip("/")
    host = f"{'https' if secure else 'http'}://{server}" + (f"/{base_href}" if base_href else "")
    return ArgoTarget(
        host=host,
        namespace=os.environ.get("ARGO_NAMESPACE") or conf.namespace or DEFAULT_NAMESPACE,
        verify_ssl=not _env_flag("ARGO_INSECURE_SKIP_VERIFY", conf.insecure_skip_verify),
        ui_url=(conf.ui_url or host).rstrip("/"),
    )


class _Session(requests.Session):
    """A requests session whose calls time out instead of hanging a server thread."""

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(method, url, **kwargs)


def _service(target: ArgoTarget):
    from hera.workflows.service import WorkflowsService  # heavy: import on first use

    return WorkflowsService(
        host=target.host,
        verify_ssl=target.verify_ssl,
        token=os.environ.get("ARGO_TOKEN") or None,
        namespace=target.namespace,
        session=_Session(),
    )


def _scrub(text: str) -> str:
    token = os.environ.get("ARGO_TOKEN")
    return text.replace(token, "<token>") if token else text


def _call(target: ArgoTarget, method: str, **kwargs):
    """Run one WorkflowsService method; failures become ArgoError with a safe message."""
    from hera.exceptions import HeraException, NotFound

    with _service(target) as service:
        try:
            return getattr(service, method)(**kwargs)
        except NotFound as exc:
            raise ArgoError(404, _scrub(f"not found on the Argo Server: {exc}")) from None
        except (HeraException, requests.RequestException) as exc:
            raise ArgoError(502, _scrub(f"the Argo Server at {target.host} failed: {exc}")) from None


def _time(value) -> str | None:
    """Argo timestamps arrive as strings or datetime-like models; answer ISO strings."""
    if value is None:
        return None
    inner = getattr(value, "root", getattr(value, "__root__", value))
    return inner.isoformat() if hasattr(inner, "isoformat") else str(inner)


def _steps(nodes: dict) -> list[dict]:
    """One entry per workflow step: retried attempts fold into their Retry node."""
    retried = {child for node in nodes.values() if node.type == "Retry" for child in node.children or []}
    steps = [
        {
            "name": node.display_name or node.name,
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
        "steps": _steps(status.nodes or {}) if status else [],
        "ui_url": f"{target.ui_url}/workflows/{metadata.namespace or target.namespace}/{name}",
    }


def list_workflows(target: ArgoTarget) -> list[dict]:
    """The newest workflows of the configured namespace."""
    result = _call(target, "list_workflows", limit=str(LIST_LIMIT))
    workflows = [summary(workflow, target) for workflow in result.items or []]
    return sorted(workflows, key=lambda item: item["created_at"] or "", reverse=True)


def get_workflow(target: ArgoTarget, name: str) -> dict:
    return summary(_call(target, "get_workflow", name=name), target)


def workflow_logs(target: ArgoTarget, name: str, tail_lines: int = 200) -> list[dict]:
    """The last lines of every pod of a workflow.

    Argo answers newline-delimited JSON, which hera's workflow_logs (one JSON
    document) cannot parse, so this call goes through the same session directly.
    """
    with _service(target) as service:
        try:
            response = service.session.get(
                f"{target.host}/api/v1/workflows/{target.namespace}/{name}/log",
                params={"logOptions.container": "main", "logOptions.tailLines": str(tail_lines)},
                headers={"Authorization": service.token} if service.token else {},
                verify=target.verify_ssl,
            )
        except requests.RequestException as exc:
            raise ArgoError(502, _scrub(f"the Argo Server at {target.host} failed: {exc}")) from None
    if response.status_code == 404:
        raise ArgoError(404, f"workflow '{name}' not found on the Argo Server")
    if not response.ok:
        raise ArgoError(502, _scrub(f"the Argo Server answered {response.status_code}: {response.text[:200]}"))
    lines = []
    for line in response.text.splitlines():
        result = json.loads(line).get("result") if line.strip() else None
        if result:
            lines.append({"pod_name": result.get("podName"), "content": result.get("content", "")})
    return lines
