"""The shipped notebooks' workflows, promoted in a real IPython kernel and submitted
with `%dasf_workflow submit --watch` to the fake Argo Server, run by the test-side
Argo controller on the fake Kubernetes API with the real Dask operator."""

from __future__ import annotations

import json
import shlex

import dask
import numpy as np
import pytest
import yaml

from argodasf_jupyter import argo, runtime, workflow
from argodasf_jupyter.session import current_session
from argo.stack import argo_on_kubernetes
from notebook_cells import KeptConfig, run_cells

pytestmark = [pytest.mark.kube, pytest.mark.timeout(600)]
# a magic line ends at its newline, so a value with newlines goes through argo.submit
# (tests/test_workflow_on_argo.py); here everything else a path can hold, as a user types it
TRICKY = 'out/it\'s "quoted" {{workflow.name}} {{=1+1}} é ✓.npy'


@pytest.fixture
def kernel(shell, tmp_path, monkeypatch, argo_templates):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dask.config, "PATH", str(tmp_path / "home" / ".config" / "dask"))
    with KeptConfig(), argo_on_kubernetes(tmp_path / "kube", argo_templates) as (fk, server):
        yield shell, fk


def current_draft():
    """The draft the kernel's %%dasf_workflow cells promoted into."""
    return current_session().draft


def claims(draft) -> set[str]:
    """The PersistentVolumeClaims the draft's workflow mounts."""
    found = set()

    def walk(value):
        if isinstance(value, dict):
            if "claimName" in value:
                found.add(value["claimName"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    document = workflow.to_dict(draft)
    walk(document)
    for template in document["spec"]["templates"]:
        if "resource" in template:
            walk(yaml.safe_load(template["resource"]["manifest"]))
    return found


def volume(fk, draft):
    """The one claim the notebook's pods work in: created, and its directory."""
    (claim,) = claims(draft)
    fk.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim},
            "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    )
    return fk.volume_path(claim)


def submitted(shell, line: str) -> dict:
    """Run a `%dasf_workflow submit ...` line and wait for the workflow to end."""
    from argodasf_jupyter.session import current_session

    result = shell.run_cell(line)
    assert result.success, f"{line}: {result.error_in_exec or result.error_before_exec}"

    name = current_session().submitted[-1]["name"]
    return argo.watch(name, lambda _: None, interval=0.5, timeout=500)


def test_notebook_02_envelope_runs_on_argo_as_in_the_notebook(kernel):
    shell, fk = kernel
    run_cells(shell, "02-seismic-envelope.ipynb")
    namespace = shell.user_ns
    import dask.array as da

    expected = da.from_zarr(namespace["envelope_path"]).compute()  # the notebook's own result
    shared = volume(fk, current_draft())
    summary = submitted(shell, "%dasf_workflow submit --watch")
    assert summary["phase"] == "Succeeded", json.dumps(summary, indent=1)
    assert [step["phase"] for step in summary["steps"]] == ["Succeeded"] * len(summary["steps"])
    got = da.from_zarr(str(shared / namespace["envelope_path"])).compute()
    np.testing.assert_array_equal(got, expected)


def test_notebook_02_envelope_on_the_real_cube_matches_dasf(kernel, shared_dir):
    shell, fk = kernel
    run_cells(shell, "02-seismic-envelope.ipynb")
    namespace = shell.user_ns
    import dask.array as da

    seismic = shared_dir / "data" / "seismic"
    raw = np.load(seismic / "raw-100x100x100-float32.npy")
    reference = np.load(seismic / "envelope-reference-100x100x100-float32.npy")
    draft = current_draft()
    stage = draft.steps["stage"]
    # the real cube stands on the volume where the stage step writes its cube, with the
    # stage's completion marker, so the workflow's stage is skipped and the envelope reads it
    shared = volume(fk, draft)
    da.from_array(raw, chunks=(50, 50, 100)).to_zarr(str(shared / namespace["raw_path"]), overwrite=True)
    values = workflow.resolve_parameters(draft)
    names = workflow.parameter_names(draft)["stage"]
    runtime.write_markers(
        [str(shared / output) for output in stage.outputs],
        stage.completion_key(workflow.step_values(stage, names, values)),
        "stage",
    )
    summary = submitted(shell, "%dasf_workflow submit --watch")
    assert summary["phase"] == "Succeeded", json.dumps(summary, indent=1)
    result = da.from_zarr(str(shared / namespace["envelope_path"])).compute()
    scale = float(raw.max() - raw.min())
    assert result.shape == reference.shape
    assert float(np.max(np.abs(result - reference))) / scale < 1e-3


def test_notebook_04_dag_with_its_container_step_and_tricky_parameters(kernel):
    shell, fk = kernel
    run_cells(shell, "04-promote-workflow.ipynb")

    draft = current_draft()
    assert "container" in {step.kind for step in draft.steps.values()}
    shared = volume(fk, draft)
    summary = submitted(shell, f"%dasf_workflow submit --watch --param {shlex.quote('raw_path=' + TRICKY)}")
    assert summary["phase"] == "Succeeded", json.dumps(summary, indent=1)
    assert {step["name"] for step in summary["steps"]} >= set(draft.steps)
    # the file the synth step wrote and the envelope step read has the parameter's exact name
    assert (shared / TRICKY).is_file()
    assert np.load(shared / "out" / "envelope.npy").shape == tuple(shell.user_ns["shape"])
