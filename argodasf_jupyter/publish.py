"""A draft's workflow as a CronWorkflow (on a schedule) or a WorkflowTemplate.

Both carry the very spec that ``workflow.to_dict`` builds for a one-off run, so a
scheduled run is exactly the submitted one. Pure: dicts in, dicts out.
"""

from __future__ import annotations

import re
from typing import Optional

from .errors import ArgodasfError

API_VERSION = "argoproj.io/v1alpha1"
# cron's five fields, or one of the @ shorthands Argo's cron library accepts
CRON_FIELD = r"[0-9A-Za-z*/,?\-LW#]+"
CRON = re.compile(
    rf"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|@every \S+|{CRON_FIELD}( {CRON_FIELD}){{4}})$"
)
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")


def _check_schedule(schedule: str) -> str:
    schedule = " ".join(schedule.split())
    if not CRON.match(schedule):
        raise ArgodasfError(
            f"schedule '{schedule}' is not a cron expression; use five fields such as "
            "'0 2 * * *' (02:00 every day) or a shorthand such as @daily"
        )
    return schedule


def _check_timezone(timezone: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ArgodasfError(f"unknown time zone '{timezone}'; use an IANA name such as Europe/Paris or UTC") from None
    return timezone


def _parts(workflow: dict, name: Optional[str]) -> tuple[dict, dict]:
    metadata = dict(workflow["metadata"])
    generated = metadata.pop("generateName", "").rstrip("-")
    metadata["name"] = name or generated
    return metadata, workflow["spec"]


def cron_workflow(
    workflow: dict,
    schedule: str,
    timezone: Optional[str] = None,
    name: Optional[str] = None,
    concurrency_policy: str = "Forbid",
) -> dict:
    """A CronWorkflow that submits ``workflow`` (a Workflow dict) on ``schedule``."""
    if concurrency_policy not in CONCURRENCY_POLICIES:
        raise ArgodasfError(
            f"concurrency policy '{concurrency_policy}' is not one of {', '.join(CONCURRENCY_POLICIES)}"
        )
    metadata, spec = _parts(workflow, name)
    cron_spec = {
        "schedules": [_check_schedule(schedule)],
        "concurrencyPolicy": concurrency_policy,
        "workflowMetadata": {"labels": dict(metadata.get("labels") or {})},
        "workflowSpec": spec,
    }
    if timezone:
        cron_spec["timezone"] = _check_timezone(timezone)
    return {"apiVersion": API_VERSION, "kind": "CronWorkflow", "metadata": metadata, "spec": cron_spec}


def workflow_template(workflow: dict, name: Optional[str] = None) -> dict:
    """A WorkflowTemplate holding ``workflow``'s spec, to submit again by name."""
    metadata, spec = _parts(workflow, name)
    return {"apiVersion": API_VERSION, "kind": "WorkflowTemplate", "metadata": metadata, "spec": spec}
