"""The settings and a step's ClusterSpec are validated once per promotion: counted by
wrapping the pydantic models' own validators."""

from __future__ import annotations

import collections

import dask
import pytest

from argodasf_jupyter import ArgodasfError, Session, workflow
from argodasf_jupyter.config import Settings
from argodasf_jupyter.spec import ClusterSpec

CELL = "import dask.array as da\ntotal = float(da.ones(8, chunks=4).sum().compute()) * scale\n"


class Counting:
    """A model's validator that counts its calls, and otherwise is the model's own."""

    def __init__(self, inner, counts: collections.Counter, name: str):
        self.inner, self.counts, self.name = inner, counts, name

    def validate_python(self, *args, **kwargs):
        self.counts[self.name] += 1
        return self.inner.validate_python(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def validations(monkeypatch):
    counts: collections.Counter = collections.Counter()
    for model in (Settings, ClusterSpec):
        monkeypatch.setattr(
            model, "__pydantic_validator__", Counting(model.__pydantic_validator__, counts, model.__name__)
        )
    return counts


@pytest.fixture
def session(tmp_path):
    session = Session(registry_dir=str(tmp_path / "registry"))
    session.use_notebook(None, draft_dir=str(tmp_path / "drafts"))
    return session


def test_the_wrapper_counts_every_validation(validations):
    ClusterSpec.model_validate({"workers": 2})
    ClusterSpec(workers=3)
    with dask.config.set({"argodasf.workflow.active-deadline": 61}):
        from argodasf_jupyter.config import settings

        settings()
    assert validations == {"ClusterSpec": 2, "Settings": 1}


@pytest.mark.parametrize("deadline, overrides, cluster_validations", [(1234, None, 0), (1235, {"workers": 3}, 1)])
def test_a_promotion_validates_the_settings_once_and_its_spec_at_most_once(
    validations, session, deadline, overrides, cluster_validations
):
    # a setting no earlier test used: the settings must be read and validated afresh
    with dask.config.set({"argodasf.workflow.active-deadline": deadline, "argodasf.cluster.memory-limit": "1GiB"}):
        step = session.promote("total", CELL, values={"scale": 2.0}, overrides=overrides)
        # the overrides are the one new input a spec can come from; the configured spec came validated
        assert validations == {"Settings": 1, **({"ClusterSpec": cluster_validations} if cluster_validations else {})}
        assert step.cluster.memory_limit == "1GiB" and step.deadline == deadline
        validations.clear()
        document = workflow.to_dict(session.draft)
        workflow.step_manifest(step)
    assert validations == {}  # building the workflow validates nothing again
    (template,) = [item for item in document["spec"]["templates"] if item["name"] == "total"]
    assert template["resource"]["manifest"].count("memory: 1Gi") >= 1 and template["timeout"] == f"{deadline}s"


def test_a_changed_setting_is_read_at_once(session):
    with dask.config.set({"argodasf.workflow.max-cell-bytes": 1024}):
        with pytest.raises(ArgodasfError, match="the largest that can be promoted is 1024"):
            session.promote("big", "x = 1\n" * 200)
    assert session.promote("big", "x = 1\n" * 200).name == "big"
