"""CronWorkflows and WorkflowTemplates carry the one-off workflow's exact spec and
validate against Hera's models and the official Argo schema made strict."""

from __future__ import annotations

import jsonschema
import pytest

from argodasf_jupyter import promote, publish, workflow
from argodasf_jupyter.draft import Draft
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.spec import parse_spec
from argo.schemas import argo_schema_available, argo_validator, validate_published


def validate(document: dict) -> None:
    if not argo_schema_available():
        pytest.skip("the official Argo schema (../shared/schemas) is not here")
    validate_published(document)


@pytest.fixture
def one_off(tmp_path):
    step = promote.make_step(
        "envelope", "print(cube_path)", values={"cube_path": "/shared/cube.zarr"}, cluster=parse_spec({"workers": 2})
    )
    return workflow.to_dict(Draft("nightly-qc", str(tmp_path / "d.json"), [step]), namespace="seismic")


def test_cron_workflow_runs_the_same_spec_on_a_schedule(one_off):
    cron = publish.cron_workflow(one_off, "0  2 * * *", timezone="America/Sao_Paulo")
    validate(cron)
    assert cron["metadata"]["name"] == "nightly-qc" and cron["metadata"]["namespace"] == "seismic"
    assert cron["spec"]["schedules"] == ["0 2 * * *"] and cron["spec"]["timezone"] == "America/Sao_Paulo"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["workflowSpec"] == one_off["spec"]
    assert cron["spec"]["workflowMetadata"]["labels"] == one_off["metadata"]["labels"]


def test_workflow_template_holds_the_same_spec(one_off):
    template = publish.workflow_template(one_off, name="qc-template")
    validate(template)
    assert template["metadata"]["name"] == "qc-template" and template["spec"] == one_off["spec"]


def test_a_misspelt_key_fails_the_strict_schema(one_off):
    cron = publish.cron_workflow(one_off, "@daily")
    cron["spec"]["schedual"] = "typo"
    if not argo_schema_available():
        pytest.skip("the official Argo schema (../shared/schemas) is not here")
    with pytest.raises(jsonschema.ValidationError, match="schedual"):
        argo_validator("io.argoproj.workflow.v1alpha1.CronWorkflow").validate(cron)


@pytest.mark.parametrize(
    "schedule, timezone, policy, message",
    [
        ("every night", None, "Forbid", "schedule 'every night' is not a cron expression; use five fields"),
        ("0 2 * *", None, "Forbid", "schedule '0 2 * *' is not a cron expression"),
        ("0 2 * * * *", None, "Forbid", "schedule '0 2 * * * *' is not a cron expression"),
        ("0 2 * * *", "Mars/Olympus", "Forbid", "unknown time zone 'Mars/Olympus'; use an IANA name"),
        ("0 2 * * *", "../../etc/passwd", "Forbid", "unknown time zone '../../etc/passwd'"),
        ("0 2 * * *", None, "Sometimes", "concurrency policy 'Sometimes' is not one of Allow, Forbid, Replace"),
    ],
)
def test_bad_schedules_are_one_line(one_off, schedule, timezone, policy, message):
    with pytest.raises(ArgodasfError) as error:
        publish.cron_workflow(one_off, schedule, timezone=timezone, concurrency_policy=policy)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
