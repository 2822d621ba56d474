"""The `argodasf` command: promote a saved notebook, render, submit, rbac."""

from __future__ import annotations

import json

import pytest
import yaml

from argodasf_jupyter import cli, promote
from argodasf_jupyter.draft import Draft
from argo.fake_server import StrictFakeArgo
from argo.schemas import validate_workflow


def notebook(path, *sources) -> str:
    cells = [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": source}
        for source in sources
    ]
    cells.insert(1, {"cell_type": "markdown", "metadata": {}, "source": ["# a title"]})
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return str(path)


CELLS = (
    "%%dasf_cluster seismic --workers 3\nbackend: local\nmemory_limit: 2GiB\n"
    "volumes: [{name: shared, claim: seismic, mount_path: /shared}]\n",
    "input_path = '/shared/in.zarr'\nchunks = [10, 10, -1]\n!ls\n",
    "%%dasf_workflow stage --container alpine:3 --outputs /shared/in.zarr\ncp -r /data /shared/in.zarr\n",
    [
        "%%dasf_workflow envelope --inputs /shared/in.zarr --retries 2\n",
        "import dask.array as da\n",
        "cube = da.from_zarr(input_path, chunks=chunks)\n",
    ],
)


def test_promote_a_saved_notebook(tmp_path, capsys):
    path = notebook(tmp_path / "Seismic Envelope.ipynb", *CELLS)
    assert cli.main(["promote", path, "-o", str(tmp_path / "wf.yaml")]) == 0
    document = yaml.safe_load((tmp_path / "wf.yaml").read_text())
    validate_workflow(document)
    assert document["metadata"]["generateName"] == "seismic-envelope-"
    assert document["spec"]["arguments"]["parameters"] == [
        {"name": "input_path", "value": "/shared/in.zarr"},
        {"name": "chunks", "value": "[10, 10, -1]"},
    ]
    manifest = next(item for item in document["spec"]["templates"] if item["name"] == "envelope")["resource"][
        "manifest"
    ]
    assert yaml.safe_load(manifest)["spec"]["cluster"]["spec"]["worker"]["replicas"] == 3
    assert not (tmp_path / "Seismic Envelope.dasf-workflow.json").exists()  # the command leaves drafts alone

    assert cli.main(["promote", path]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == document


def test_non_literal_names_fail_with_where_they_were_defined(tmp_path, capsys):
    path = notebook(
        tmp_path / "nb.ipynb",
        "import numpy as np\n",
        "def envelope(x):\n    return x\n",
        "%%dasf_workflow attr\nout = envelope(np.ones(3))\n",
    )
    assert cli.main(["promote", path]) == 1
    error = capsys.readouterr().err
    assert error.startswith("argodasf: error: cannot promote step 'attr'")
    assert "'envelope' (line 1) is a function, defined in cell 2" in error
    assert "'np' (line 1) is a module, defined in cell 1" in error


def test_render_a_saved_draft_as_hera_python(tmp_path):
    draft = Draft("saved", str(tmp_path / "saved.dasf-workflow.json"))
    draft.add(promote.make_step("only", "print(1)\n"))
    assert cli.main(["render", draft.path, "-o", str(tmp_path / "wf.py")]) == 0
    namespace = {"__name__": "rendered"}
    exec((tmp_path / "wf.py").read_text(), namespace)
    assert namespace["workflow"].generate_name == "saved-"
    assert cli.main(["render", str(tmp_path / "missing.json")]) == 1


def test_submit_a_notebook(tmp_path, monkeypatch, capsys):
    fake = StrictFakeArgo("cli-token").start()
    try:
        monkeypatch.setenv("ARGO_SERVER", fake.address)
        monkeypatch.setenv("ARGO_SECURE", "false")
        monkeypatch.setenv("ARGO_TOKEN", "cli-token")
        path = notebook(tmp_path / "nb.ipynb", *CELLS)
        assert cli.main(["submit", path, "--param", "chunks=[5, 5, -1]"]) == 0
        (stored,) = fake.workflows.values()
        assert {"name": "chunks", "value": "[5, 5, -1]"} in stored["spec"]["arguments"]["parameters"]
        assert stored["metadata"]["name"] in capsys.readouterr().out
    finally:
        fake.stop()


def test_rbac_prints_least_privilege_manifests(capsys):
    assert cli.main(["rbac", "--namespace", "seismic", "--service-account", "runner"]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    assert [item["kind"] for item in documents] == ["ServiceAccount", "Role", "RoleBinding"]
    rules = {rule["apiGroups"][0]: rule for rule in documents[1]["rules"]}
    assert "daskjobs" in rules["kubernetes.dask.org"]["resources"]
    assert rules["argoproj.io"] == {
        "apiGroups": ["argoproj.io"],
        "resources": ["workflowtaskresults"],
        "verbs": ["create", "patch"],
    }
    assert cli.main(["rbac", "--namespace", "Bad_NS"]) == 1


def test_a_command_is_required():
    with pytest.raises(SystemExit):
        cli.main([])
