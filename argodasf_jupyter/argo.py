"""Submit and follow workflows on an Argo Server, from the kernel or the CLI.

Where to connect comes from the argo CLI's environment (ARGO_SERVER, ARGO_TOKEN,
ARGO_NAMESPACE, ARGO_SECURE, ARGO_INSECURE_SKIP_VERIFY, ARGO_BASE_HREF) or the
`argodasf.argo` settings, read the same way as the Jupyter server extension does.
Every failure becomes an ArgodasfError of one line, and the token is scrubbed
from every message: it is sent in the Authorization header and nowhere else.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any, Callable, Mapping, Optional

import requests

from .draft import Draft
from .errors import ArgodasfError

# a Kubernetes object name (workflow names may hold dots); checked so a name can
# only pick a workflow, never another path of the server
WORKFLOW_NAME = r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?"
BEARER = re.compile(r"(?i)\bbearer\s+[^\s\"'`,;}\]]+")


def timeout() -> float:
    """Seconds one call to the Argo Server may take (argodasf.argo.timeout)."""
    from .config import settings

    return settings().argo.timeout


def check_workflow_name(name, what: str = "workflow name") -> str:
    if not isinstance(name, str) or not re.fullmatch(WORKFLOW_NAME, name):
        raise ArgodasfError(
            f"{what} {_scrub(repr(name))[:80]} is not a Kubernetes name: lowercase letters, "
            "digits, '-' and '.', starting and ending with a letter or digit"
        )
    return name


FINAL_PHASES = ("Succeeded", "Failed", "Error")


def target():
    """The configured Argo Server (an argo_settings.ArgoTarget)."""
    from .argo_settings import argo_target

    found = argo_target()
    if found is None:
        raise ArgodasfError(
            "no Argo Server is configured; set ARGO_SERVER=host:port (and ARGO_TOKEN) "
            "or argodasf.argo.server; the draft is kept"
        )
    return found


class _Session(requests.Session):
    """Calls that time out instead of hanging the kernel."""

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", timeout())
        return super().request(method, url, **kwargs)


def _token() -> Optional[str]:
    return os.environ.get("ARGO_TOKEN") or None


def _scrub(text: str) -> str:
    token = _token()
    text = " ".join(str(text).split())  # one line
    if token and token.split():
        for secret in (token, token.split()[-1]):
            text = text.replace(secret, "<token>")
    return BEARER.sub("Bearer <token>", text)


def service(where=None, session: Optional[requests.Session] = None):
    """A hera WorkflowsService for the configured server."""
    from hera.workflows.service import WorkflowsService  # heavy: import on first use

    where = where or target()
    check_workflow_name(where.namespace, "the Argo namespace")
    return WorkflowsService(
        host=where.host,
        verify_ssl=where.verify_ssl,
        token=_token(),
        namespace=where.namespace,
        session=session or _Session(),
    )


def explain(error: Exception, where, doing: str) -> ArgodasfError:
    """One line that says what went wrong and what to do."""
    from hera import exceptions as hera_errors

    host, namespace = where.host, where.namespace
    if isinstance(error, requests.exceptions.SSLError):
        text = (
            f"{doing}: TLS verification failed for {host}; set ARGO_INSECURE_SKIP_VERIFY=true for a "
            "self-signed certificate, or ARGO_SECURE=false for plain HTTP"
        )
    elif isinstance(error, requests.Timeout):
        text = (
            f"{doing}: the Argo Server at {host} did not answer within {timeout():g} s; try again later, "
            "or raise argodasf.argo.timeout"
        )
    elif isinstance(error, requests.ConnectionError):
        text = f"{doing}: cannot reach the Argo Server at {host}; check ARGO_SERVER and that the server runs"
    elif isinstance(error, hera_errors.Unauthorized):
        text = f"{doing}: the Argo Server at {host} rejected the credentials (401); set ARGO_TOKEN to a valid token"
    elif isinstance(error, hera_errors.Forbidden):
        text = (
            f"{doing}: not allowed in namespace '{namespace}' (403); the token's service account needs "
            "access to workflows there"
        )
    elif isinstance(error, hera_errors.AlreadyExists):
        text = f"{doing}: a workflow of that name already exists in '{namespace}' (409); submit again for a new name"
    elif isinstance(error, hera_errors.NotFound):
        text = f"{doing}: not found in namespace '{namespace}' (404)"
    elif isinstance(error, hera_errors.BadRequest):
        text = f"{doing}: the Argo Server rejected the workflow (400): {error}"
    elif isinstance(error, hera_errors.HeraException):
        text = f"{doing}: the Argo Server at {host} failed: {error}"
    elif isinstance(error, requests.RequestException) and not isinstance(error, ValueError):
        text = f"{doing}: the request to the Argo Server at {host} failed ({type(error).__name__})"
    else:  # the answer did not parse as what Argo sends; its text could quote anything
        kind = (
            "JSONDecodeError"
            if isinstance(error, ValueError) and "JSON" in type(error).__name__
            else type(error).__name__
        )
        text = (
            f"{doing}: the Argo Server at {host} gave an answer that is not Argo's ({kind}); "
            "check ARGO_SERVER and ARGO_BASE_HREF"
        )
    return ArgodasfError(_scrub(text))


def _call(doing: str, method: str, where=None, session=None, **kwargs):
    where = where or target()
    with service(where, session) as client:
        try:
            return getattr(client, method)(**kwargs)
        except Exception as error:  # every failure of the server or its answer: one line
            raise explain(error, where, doing) from None


def submit(
    draft: Draft, parameters: Mapping[str, str] | None = None, where=None, session: Optional[requests.Session] = None
) -> dict:
    """Submit the draft's workflow; returns name, namespace, url and parameters."""
    from hera.workflows.models import WorkflowCreateRequest

    from . import workflow

    where = where or target()
    values = workflow.resolve_parameters(draft, parameters)
    model = workflow.build(draft, namespace=where.namespace, parameters=values).build()
    created = _call(
        f"submitting workflow '{draft.name}'",
        "create_workflow",
        where,
        session,
        req=WorkflowCreateRequest(workflow=model),
        namespace=where.namespace,
    )
    name = created.metadata.name
    return {
        "name": name,
        "namespace": where.namespace,
        "url": f"{where.ui_url}/workflows/{where.namespace}/{name}",
        "submitted_at": time.time(),
        "draft": draft.name,
    }


def status(name: str, where=None, session=None) -> dict:
    """Phase and per-step phases of a workflow (the sidebar's summary format)."""
    from .workflow_summary import summary

    check_workflow_name(name)
    where = where or target()
    return summary(
        _call(f"reading workflow '{name}'", "get_workflow", where, session, name=name, namespace=where.namespace), where
    )


def list_workflows(draft_name: Optional[str] = None, where=None, session=None) -> list[dict]:
    """The workflows of the namespace, newest first; only a draft's when named."""
    from .workflow_summary import summary
    from .workflow import LABEL_DRAFT

    where = where or target()
    selector = f"{LABEL_DRAFT}={draft_name}" if draft_name else None
    found = _call(
        "listing workflows", "list_workflows", where, session, namespace=where.namespace, label_selector=selector
    )
    items = [summary(item, where) for item in found.items or []]
    return sorted(items, key=lambda item: item["created_at"] or "", reverse=True)


def logs(name: str, step: Optional[str] = None, where=None, session=None, tail: int = 200) -> str:
    """The log lines of a workflow's pods, or of one step's.

    Argo answers newline-delimited JSON, which hera's workflow_logs cannot parse,
    so this call uses the service's session directly.
    """
    from urllib.parse import quote

    check_workflow_name(name)
    if step is not None:
        check_workflow_name(step, "step name")
    where = where or target()
    doing = f"reading the logs of '{name}'"
    with service(where, session) as client:
        try:
            response = client.session.get(
                f"{where.host}/api/v1/workflows/{quote(where.namespace, safe='')}/{quote(name, safe='')}/log",
                params={"logOptions.container": "main", "logOptions.tailLines": str(tail)},
                headers={"Authorization": client.token} if client.token else {},
                verify=where.verify_ssl,
            )
            if not response.ok:
                from hera.exceptions import exception_from_server_response

                raise exception_from_server_response(response)
        except Exception as error:
            raise explain(error, where, doing) from None
    prefix = f"{name}-{step}-" if step else ""
    return "\n".join(_scrub_lines(content for pod, content in _log_entries(response.text) if pod.startswith(prefix)))


def _log_entries(text: str):
    """(pod, content) of each line of Argo's newline-delimited JSON log answer;
    lines that are not log entries are skipped."""
    for line in text.splitlines():
        try:
            result = json.loads(line).get("result")
        except (ValueError, AttributeError):
            continue
        if isinstance(result, dict):
            yield str(result.get("podName") or ""), str(result.get("content") or "")


def _scrub_lines(lines):
    token = _token()
    for line in lines:
        yield line.replace(token, "<token>") if token else line


def watch(
    name: str,
    on_update: Callable[[dict], Any],
    interval: float = 2.0,
    timeout: Optional[float] = None,
    where=None,
    session=None,
    failure_details: bool = False,
) -> dict:
    """Poll until the workflow ends (or ``timeout``); ``on_update`` gets each summary.
    With ``failure_details``, a failed DASF step's message ends with its runner's traceback."""
    from .step_logs import with_failure_details

    deadline = None if timeout is None else time.monotonic() + timeout
    read: dict = {}  # runner tracebacks already read, per failed step
    while True:
        current = status(name, where, session)
        if failure_details:
            current = with_failure_details(current, cache=read)
        on_update(current)
        if current["phase"] in FINAL_PHASES or (deadline is not None and time.monotonic() > deadline):
            return current
        time.sleep(interval)


def require_success(summary: dict) -> dict:
    """``summary`` of a finished workflow, or an ArgodasfError with one line of why it failed."""
    if summary["phase"] == "Succeeded":
        return summary
    from .step_jobs import FAILED_PHASES

    failed = [step for step in summary.get("steps", []) if step.get("phase") in FAILED_PHASES]
    reason = (
        f"step {failed[0]['name']}: {failed[0].get('message') or failed[0]['phase']}"
        if failed
        else summary.get("message") or "no step failed"
    )
    raise ArgodasfError(f"workflow {summary['name']} {summary['phase']}: {reason}")
