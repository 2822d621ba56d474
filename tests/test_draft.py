"""The workflow draft: edges, validation, persistence."""

from __future__ import annotations

import json
import os

import dask
import pytest

from argodasf_jupyter import promote
from argodasf_jupyter.draft import Draft, draft_name, draft_path
from argodasf_jupyter.errors import ArgodasfError


def step(name, **options):
    return promote.make_step(name, f"print({name!r})\n", **options)


@pytest.fixture
def draft(tmp_path):
    (tmp_path / "drafts").mkdir()
    return Draft.load(str(tmp_path / "drafts" / "nb.dasf-workflow.json"))


def test_edges_from_after_and_from_inputs_matching_outputs(draft):
    draft.add(step("stage", outputs=["/shared/in.zarr/"]))
    draft.add(step("envelope", inputs=["/shared/in.zarr"], outputs=["/shared/out/envelope.zarr"]))
    draft.add(step("report", inputs=["/shared/out/envelope.zarr/0.0.0"], after=["stage"]))
    draft.add(step("unrelated", inputs=["/shared/in.zarr2"]))
    assert sorted(draft.edges()) == [("envelope", "report"), ("stage", "envelope"), ("stage", "report")]
    order = [item.name for item in draft.order()]
    assert order.index("stage") < order.index("envelope") < order.index("report")


def test_unknown_after_is_refused_with_a_suggestion(draft):
    draft.add(step("stage"))
    with pytest.raises(
        ArgodasfError, match="step 'b' runs after 'stgae', which is not in the draft: did you mean 'stage'"
    ):
        draft.add(step("b", after=["stgae"]))
    assert list(draft.steps) == ["stage"]


def test_cycles_are_refused(draft):
    draft.add(step("a", inputs=["/x"], outputs=["/y"]))
    draft.add(step("b", inputs=["/y"], outputs=["/z"]))
    with pytest.raises(ArgodasfError, match=r"the steps form a cycle \((a -> b -> a|b -> a -> b)\)"):
        draft.add(step("a", inputs=["/z"], outputs=["/y"]))
    with pytest.raises(ArgodasfError, match="cannot run after itself"):
        draft.add(step("c", after=["c"]))
    assert draft.steps["a"].inputs == ["/x"]  # the refused change left the draft as it was


def test_removing_a_needed_step_shows_at_order_time(draft):
    draft.add(step("a"))
    draft.add(step("b", after=["a"]))
    draft.remove("a")
    with pytest.raises(ArgodasfError, match="runs after 'a', which is not in the draft"):
        draft.order()
    with pytest.raises(ArgodasfError, match="no step 'bb' .* did you mean 'b'"):
        draft.remove("bb")


def test_repromotion_replaces_the_step_in_place(draft):
    draft.add(step("a"))
    draft.add(step("b"))
    draft.add(promote.make_step("a", "print('new')\n"))
    assert list(draft.steps) == ["a", "b"]
    assert draft.steps["a"].code == "print('new')\n"


def test_draft_survives_a_restart_and_writes_atomically(draft):
    draft.add(step("a", outputs=["/o"], retries=2))
    draft.add(promote.make_step("b", "print(x)\n", values={"x": [1, "two"]}))
    again = Draft.load(draft.path)
    assert again.name == "nb"
    assert [item.model_dump() for item in again.steps.values()] == [item.model_dump() for item in draft.steps.values()]
    assert os.listdir(os.path.dirname(draft.path)) == ["nb.dasf-workflow.json"]  # no temporary files left
    again.clear()
    assert json.loads(open(draft.path).read())["steps"] == []


def test_an_unreadable_draft_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.dasf-workflow.json"
    path.write_text('{"steps": [{"name": "a"}]}')
    with pytest.raises(ArgodasfError, match="cannot be read .*fix or delete it"):
        Draft.load(str(path))


def test_empty_draft_has_no_order(draft):
    with pytest.raises(ArgodasfError, match="has no steps yet"):
        draft.order()


@pytest.mark.parametrize(
    "stem, expected",
    [
        ("04-promote-workflow", "wf-04-promote-workfl"),
        ("My Seismic Notebook", "my-seismic-notebook"),
        ("envelope_attribute_on_a_very_long_name", "envelope-attribute-o"),
    ],
)
def test_draft_names_are_valid_workflow_prefixes(stem, expected):
    name = draft_name(stem)
    assert name == expected
    assert len(name) <= 20 and name[0].isalpha() and name[-1] != "-"


def test_draft_lives_beside_the_notebook_or_in_the_configured_dir(tmp_path):
    notebook = tmp_path / "work" / "analysis.ipynb"
    assert draft_path(str(notebook)) == str(tmp_path / "work" / "analysis.dasf-workflow.json")
    with dask.config.set({"argodasf.workflow.draft-dir": str(tmp_path / "drafts")}):
        assert draft_path(str(notebook)) == str(tmp_path / "drafts" / "analysis.dasf-workflow.json")


def test_summary_for_the_sidebar(draft):
    draft.add(step("a", outputs=["/o"]))
    draft.add(promote.make_step("b", "true\n", container="alpine:3", inputs=["/o"]))
    assert draft.summary() == {
        "name": "nb",
        "path": draft.path,
        "steps": [{"name": "a", "kind": "dasf", "after": []}, {"name": "b", "kind": "container", "after": ["a"]}],
    }
