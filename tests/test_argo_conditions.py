"""Resource conditions are parsed as Kubernetes label selectors and matched on gjson
paths of the object (facts from argoproj/argo-workflows workflow/executor/resource.go
and apimachinery's labels.Parse)."""

from __future__ import annotations

import pytest

from argo.controller import conditions
from argo.controller.durations import seconds

pytestmark = pytest.mark.one_environment

JOB = {
    "status": {"jobStatus": "Successful", "replicas": 3, "ready": True, "items": [{"n": "a"}]},
    "metadata": {"labels": {"a.b/c": "x"}},
}


@pytest.mark.parametrize(
    "text, matches",
    [
        ("status.jobStatus == Successful", True),
        ("status.jobStatus = Successful", True),
        ("status.jobStatus != Successful", False),
        ("status.missing != Successful", True),  # a missing key matches !=
        ("status.jobStatus in (Failed,Successful)", True),
        ("status.jobStatus notin (Failed)", True),
        ("status.replicas > 2", True),
        ("status.replicas < 3", False),
        ("status.ready == true", True),
        ("status.items.0.n == a", True),
        ("status.jobStatus ==", False),  # an empty value is a valid label value
        ("status.jobStatus", True),
        ("!status.jobStatus", False),
        ("status.jobStatus == Successful, status.replicas == 3", True),
        ("status.jobStatus == Successful, status.replicas == 4", False),
    ],
)
def test_requirements_match_like_argo(text, matches):
    assert all(requirement.matches(JOB) for requirement in conditions.parse(text)) is matches


def test_failure_wins_and_names_the_requirement_in_argos_words():
    assert conditions.state(
        {"status": {"jobStatus": "Failed"}}, "status.jobStatus == Successful", "status.jobStatus == Failed"
    ) == ("Failed", "failure condition 'status.jobStatus==Failed' evaluated true")
    assert conditions.state({"status": {}}, "status.jobStatus == Successful", "status.jobStatus == Failed") == (
        "Running",
        "",
    )
    assert conditions.state({}, "", "") == ("Succeeded", "")


@pytest.mark.parametrize(
    "text", ["status.jobStatus == 'Failed'", "== Failed", "status.x. == a", "status.x > a", "status.x in (a"]
)
def test_what_labels_parse_rejects_is_rejected(text):
    with pytest.raises(conditions.SelectorError):
        conditions.parse(text)


def test_requirements_are_sorted_by_key_as_labels_parse_does():
    assert [str(r) for r in conditions.parse("z == 1, a in (y,x)")] == ["a in (x,y)", "z==1"]


def test_go_durations():
    assert seconds("600s") == 600 and seconds("1h30m") == 5400 and seconds("90") == 90
    with pytest.raises(ValueError, match="invalid duration"):
        seconds("ten minutes")
