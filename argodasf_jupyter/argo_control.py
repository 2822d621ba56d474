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

from . import argo, publish, step_jobs
from .draft import Draft
from .errors import ArgodasfError


def _act(verb: str, doing: str, name: str, request_model: str, where=None, session=None, **options) -> dict:
    """PUT one of Argo's workflow actions (``<verb>_workflow``) and summarise the answer."""
    from hera.workflows import models

    from .workflow_summary import summary

    where = where or argo.target()
    name = argo.check_workflow_name(name)
    request = getattr(models, request_model)(name=name, namespace=where.namespace, **options)
    answer = argo._call(
        f"{doing} workflow '{name}'",
        f"{verb}_workflow",
        where,
        session,
        name=name,
        req=request,
        namespace=where.namespace,
    )
    return summary(answer, where)


def stop(name: str, where=None, session=None) -> dict:
    return _act("stop", "stopping", name, "WorkflowStopRequest", where, session)


def terminate(name: str, where=None, session=None) -> dict:
    return _act("terminate", "terminating", name, "WorkflowTerminateRequest", where, session)


def retry(name: str, where=None, session=None) -> dict:
    """Re-run the failed steps of ``name``; its succeeded steps are kept.

    A DASF step creates its DaskJob under a name fixed per workflow and step, so the
    failed attempt's DaskJob is deleted first (Argo's retry deletes only its own
    pods). An adaptive step's DaskAutoscaler went with its cluster, so its
    ``<step>--autoscaler`` task is run again too; Argo's node selector can name one
    such task per retry.
    """
    from .workflow import AUTOSCALER_SUFFIX

    where = where or argo.target()
    current = argo.status(name, where, session)
    if current["phase"] not in step_jobs.FAILED_PHASES:
        raise ArgodasfError(f"workflow '{name}' is {current['phase']}; only a Failed or Error workflow can be retried")
    names = {step["name"] for step in current["steps"]}
    failed_jobs = [
        step["name"] for step in current["steps"] if step["phase"] in step_jobs.FAILED_PHASES and step["kind"] == "dasf"
    ]
    adaptive = [step for step in failed_jobs if step + AUTOSCALER_SUFFIX in names]
    if len(adaptive) > 1:
        raise ArgodasfError(
            f"adaptive steps {', '.join(adaptive)} failed; retry re-runs one adaptive step at a time, "
            f"so resubmit with --from-failed instead"
        )
    if failed_jobs:
        step_jobs.clear_for_retry(name, failed_jobs, adaptive, current["namespace"])
    options = {"node_field_selector": f"templateName={adaptive[0]}{AUTOSCALER_SUFFIX}"} if adaptive else {}
    return _act(
        "retry", "retrying", name, "WorkflowRetryRequest", where, session, restart_successful=bool(adaptive), **options
    )


def resubmit(name: str, where=None, session=None) -> dict:
    """A new workflow with the spec of ``name``."""
    return _act("resubmit", "resubmitting", name, "WorkflowResubmitRequest", where, session)


def publish_draft(
    draft: Draft,
    schedule: Optional[str] = None,
    timezone: Optional[str] = None,
    template: bool = False,
    where=None,
    session=None,
) -> dict:
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
        what, method, kind, route = (
            "workflow template",
            "create_workflow_template",
            "WorkflowTemplate",
            "workflow-templates",
        )
        request = models.WorkflowTemplateCreateRequest(template=models.WorkflowTemplate.model_validate(body))
    else:
        body = publish.cron_workflow(document, schedule, timezone=timezone)
        what, method, kind, route = "cron workflow", "create_cron_workflow", "CronWorkflow", "cron-workflows"
        request = models.CreateCronWorkflowRequest(cron_workflow=models.CronWorkflow.model_validate(body))
    created = argo._call(
        f"publishing {what} '{draft.name}'", method, where, session, namespace=where.namespace, req=request
    )
    name = created.metadata.name
    return {
        "kind": kind,
        "name": name,
        "namespace": where.namespace,
        "url": f"{where.ui_url}/{route}/{where.namespace}/{name}",
    }
