"""Steer submitted workflows through the Argo Server's API (hera's WorkflowsService):
stop, terminate, retry, resubmit, and publish a draft on a schedule or as a template.

    stop       let running steps finish, start no new one, run the exit handler
    terminate  stop at once, exit handler skipped (Argo's semantics)
    retry      re-run only the failed steps of the same workflow
    resubmit   a new workflow from the same spec (Argo's resubmit)

Resubmitting the current, edited draft is ``argo.submit`` again: its steps whose
completion markers still match their code and parameters skip their work.
"""

from __future__ import annotations

from typing import Optional

from . import argo, publish
from .draft import Draft
from .errors import ArgodasfError


def _checked(name: str) -> str:
    import re

    if not re.fullmatch(r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?", name or ""):
        raise ArgodasfError(f"'{name}' is not a workflow name (lowercase letters, digits, '-' and '.')")
    return name


def _summary(model, where) -> dict:
    from .server.argo_proxy import summary

    return summary(model, where)


def stop(name: str, where=None, session=None) -> dict:
    from hera.workflows.models import WorkflowStopRequest

    where = where or argo.target()
    return _summary(argo._call(f"stopping workflow '{name}'", "stop_workflow", where, session, name=_checked(name),
                               req=WorkflowStopRequest(name=name, namespace=where.namespace),
                               namespace=where.namespace), where)


def terminate(name: str, where=None, session=None) -> dict:
    from hera.workflows.models import WorkflowTerminateRequest

    where = where or argo.target()
    return _summary(argo._call(f"terminating workflow '{name}'", "terminate_workflow", where, session,
                               name=_checked(name), req=WorkflowTerminateRequest(name=name, namespace=where.namespace),
                               namespace=where.namespace), where)


def retry(name: str, where=None, session=None) -> dict:
    """Re-run the failed steps of ``name``; its succeeded steps are kept."""
    from hera.workflows.models import WorkflowRetryRequest

    where = where or argo.target()
    return _summary(argo._call(f"retrying workflow '{name}'", "retry_workflow", where, session, name=_checked(name),
                               req=WorkflowRetryRequest(name=name, namespace=where.namespace,
                                                        restart_successful=False),
                               namespace=where.namespace), where)


def resubmit(name: str, where=None, session=None) -> dict:
    """A new workflow with the spec of ``name``."""
    from hera.workflows.models import WorkflowResubmitRequest

    where = where or argo.target()
    return _summary(argo._call(f"resubmitting workflow '{name}'", "resubmit_workflow", where, session,
                               name=_checked(name), req=WorkflowResubmitRequest(name=name, namespace=where.namespace),
                               namespace=where.namespace), where)


def publish_draft(draft: Draft, schedule: Optional[str] = None, timezone: Optional[str] = None,
                  template: bool = False, where=None, session=None) -> dict:
    """Create a CronWorkflow (``schedule``) or a WorkflowTemplate of the draft; returns
    its kind, name, namespace and url."""
    from hera.workflows import models

    from . import workflow

    if bool(schedule) == bool(template):
        raise ArgodasfError("publish needs either --schedule CRON or --template")
    where = where or argo.target()
    document = workflow.to_dict(draft, namespace=where.namespace)
    if template:
        body = publish.workflow_template(document)
        created = argo._call(f"publishing workflow template '{draft.name}'", "create_workflow_template", where,
                             session, namespace=where.namespace,
                             req=models.WorkflowTemplateCreateRequest(template=models.WorkflowTemplate.model_validate(body)))
        kind, route = "WorkflowTemplate", "workflow-templates"
    else:
        body = publish.cron_workflow(document, schedule, timezone=timezone)
        created = argo._call(f"publishing cron workflow '{draft.name}'", "create_cron_workflow", where, session,
                             namespace=where.namespace,
                             req=models.CreateCronWorkflowRequest(cron_workflow=models.CronWorkflow.model_validate(body)))
        kind, route = "CronWorkflow", "cron-workflows"
    name = created.metadata.name
    return {"kind": kind, "name": name, "namespace": where.namespace,
            "url": f"{where.ui_url}/{route}/{where.namespace}/{name}"}
