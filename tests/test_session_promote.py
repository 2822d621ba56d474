"""Session.promote from plain Python, on a real local cluster: the same saved draft as
%%dasf_workflow in a real IPython shell, and the same refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dask
import pytest
from IPython.utils.capture import capture_output

from argodasf_jupyter import ArgodasfError, Session
from argodasf_jupyter.session import current_session
from workflow_fixtures import DASF_LIKE_PIPELINE

CLUSTER = {"name": "seismic", "backend": "local", "workers": 1, "memory_limit": "1GiB"}
CELL = (
    "import dask.array as da\n"
    "value = int(da.ones(10, chunks=5).sum().compute()) * factor\n"
    "open(out_path, 'w').write(str(value))\n"
)
DRAFT_FILE = "workflow.dasf-workflow.json"


@pytest.fixture
def session(tmp_path):
    plain = Session(registry_dir=str(tmp_path / "registry"))
    plain.use_notebook(None, draft_dir=str(tmp_path / "plain"))
    try:
        yield plain
    finally:
        plain.close_all()


def saved(directory) -> dict:
    with open(os.path.join(directory, DRAFT_FILE)) as stream:
        return json.load(stream)


def run(shell, cell):
    with capture_output() as captured:
        result = shell.run_cell(cell, store_history=True)
    assert result.success, (result.error_in_exec or result.error_before_exec, captured.stdout, captured.stderr)


def test_plain_python_saves_the_same_draft_as_the_magic(shell, session, tmp_path, monkeypatch):
    magic_dir = tmp_path / "magic"
    magic_dir.mkdir()
    monkeypatch.chdir(magic_dir)
    with dask.config.set({"argodasf.workflow.draft-dir": str(magic_dir)}):
        run(shell, "%%dasf_cluster seismic --workers 1\nbackend: local\nmemory_limit: 1GiB\n")
        run(shell, "factor = 3\nout_path = 'total.txt'")
        run(shell, f"%%dasf_workflow total --outputs total.txt --workers 2 --retries 1\n{CELL}")
        run(shell, "%dasf_close seismic")
    assert (magic_dir / "total.txt").read_text() == "30"

    plain_dir = tmp_path / "plain"
    plain_dir.mkdir()
    monkeypatch.chdir(plain_dir)
    session.create_from(CLUSTER)
    namespace = {"factor": 3, "out_path": "total.txt"}
    step = session.promote(
        "total", CELL, values=namespace, outputs=["total.txt"], retries=1, overrides={"workers": 2, "adapt": None}
    )
    assert (plain_dir / "total.txt").read_text() == "30"  # the cell ran, on the session's cluster
    assert namespace["value"] == 30
    assert step.parameters == {"factor": 3, "out_path": "total.txt"} and step.cluster.workers == 2
    assert saved(plain_dir) == saved(magic_dir)
    (stored,) = saved(magic_dir)["steps"]
    assert (stored["name"], stored["code"], stored["outputs"], stored["retries"]) == ("total", CELL, ["total.txt"], 1)
    assert session.draft_summary["steps"] == [{"name": "total", "kind": "dasf", "after": []}]


def test_a_failing_cell_is_not_promoted_and_the_draft_is_unchanged(session, tmp_path, capfd):
    session.create_from(CLUSTER)
    session.promote("good", "print(client.submit(sum, [1, 2]).result())\n", values={"client": session.current.client})
    before = (tmp_path / "plain" / DRAFT_FILE).read_bytes()
    with pytest.raises(ArgodasfError) as raised:
        session.promote("broken", "raise ValueError('no data here')\n")
    assert str(raised.value) == "step 'broken' not promoted: the cell failed"
    assert "ValueError: no data here" in capfd.readouterr().err  # the cell's own traceback, as a kernel shows it
    assert (tmp_path / "plain" / DRAFT_FILE).read_bytes() == before


def test_a_cell_whose_executor_recorded_a_task_error_is_not_promoted(session, tmp_path):
    managed, _ = session.create_from(CLUSTER)
    session.promote("good", "x = 1\n")
    before = (tmp_path / "plain" / DRAFT_FILE).read_bytes()
    cell = DASF_LIKE_PIPELINE + (
        "def broken():\n    raise KeyError('trace header 189')\n"
        "try:\n    Pipeline(executor, [broken]).run()\nexcept Exception as error:\n    caught = error\n"
    )
    namespace = {"executor": managed.executor}
    with pytest.raises(ArgodasfError) as raised:
        session.promote("swallowed", cell, values=namespace)
    assert str(raised.value) == (
        "step 'swallowed' not promoted: DASF task 'broken' failed in the cell "
        "(KeyError: 'trace header 189'); its job would fail"
    )
    assert "caught" in namespace  # the cell itself succeeded
    assert (tmp_path / "plain" / DRAFT_FILE).read_bytes() == before


def test_the_draft_is_named_after_the_notebook_the_session_is_told(tmp_path):
    notebook = tmp_path / "My Seismic Notebook.ipynb"
    told = Session(registry_dir=str(tmp_path / "registry"))
    assert told.draft.name == "workflow"
    told.use_notebook(str(notebook))
    told.promote("stage", "echo staged\n", container="alpine:3")
    assert told.draft.name == "my-seismic-notebook"
    assert saved_steps(tmp_path / "My Seismic Notebook.dasf-workflow.json") == ["stage"]


def saved_steps(path) -> list[str]:
    with open(path) as stream:
        return [step["name"] for step in json.load(stream)["steps"]]


def test_the_magic_promotes_into_the_kernels_session_draft(shell, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with dask.config.set({"argodasf.workflow.draft-dir": str(tmp_path)}):
        run(shell, "%%dasf_workflow stage --container alpine:3\necho staged\n")
        assert list(current_session().draft.steps) == ["stage"]


def test_headless_promote_does_not_load_the_ipython_magics(tmp_path):
    from test_cli import CELLS, notebook

    folder = tmp_path / "notebooks"
    folder.mkdir()
    path = notebook(folder / "nb.ipynb", *CELLS)
    script = (
        "import sys\nfrom argodasf_jupyter import cli\n"
        f"assert cli.main(['promote', {path!r}, '-o', {str(folder / 'wf.yaml')!r}]) == 0\n"
        "print(sorted({'argodasf_jupyter.magics', 'argodasf_jupyter.workflow_magics'} & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert sorted(os.listdir(folder)) == ["nb.ipynb", "wf.yaml"]  # no draft left beside the notebook
