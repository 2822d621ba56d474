"""Promoting a saved notebook by running it gives what promoting in JupyterLab gives."""

from __future__ import annotations

import os

import nbformat
import pytest

from argodasf_jupyter import workflow
from argodasf_jupyter.draft import Draft, draft_path
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.notebook_run import execute_and_collect_draft

pytestmark = pytest.mark.timeout(600)

CELLS = [
    "%load_ext argodasf_jupyter",
    "%%dasf_cluster small --workers 1\nbackend: local\nmemory_limit: 1GiB",
    "import math\nscale = math.sqrt(16.0)  # computed when the notebook runs: a parameter only a run can know",
    "%%dasf_workflow scaled\nprint(client.submit(lambda x: x * 2, scale).result())",
    "%dasf_close small",
]


def write_notebook(path, cells):
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells]), path)
    return str(path)


def test_execute_promotes_from_live_values_like_jupyterlab(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    notebook = write_notebook(tmp_path / "analysis.ipynb", CELLS)
    progress = []
    executed = execute_and_collect_draft(notebook, on_cell=lambda n, total, line, seconds: progress.append((n, total)))
    assert progress == [(n, len(CELLS)) for n in range(1, len(CELLS) + 1)]
    assert executed.steps["scaled"].parameters == {"scale": 4.0}
    assert not os.path.exists(draft_path(notebook)), "the user's own draft must stay untouched"

    # the same notebook in a kernel that knows its path, as JupyterLab runs it
    monkeypatch.setenv("JPY_SESSION_NAME", notebook)
    NotebookClient(
        nbformat.read(notebook, as_version=4), kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    interactive = Draft.load(draft_path(notebook))
    assert executed.path == interactive.path
    assert workflow.to_yaml(executed) == workflow.to_yaml(interactive)


def test_a_failing_cell_is_named_in_one_line(tmp_path):
    notebook = write_notebook(
        tmp_path / "broken.ipynb", [CELLS[0], "x = 1", "raise ValueError('no seismic cube here')"]
    )
    with pytest.raises(ArgodasfError) as error:
        execute_and_collect_draft(notebook)
    message = str(error.value)
    assert "\n" not in message
    assert message.endswith(
        "stops at code cell 3 (raise ValueError('no seismic cube here')): ValueError: no seismic cube here"
    )


def test_a_notebook_without_workflow_cells_says_so(tmp_path):
    notebook = write_notebook(tmp_path / "plain.ipynb", ["x = 1"])
    with pytest.raises(ArgodasfError, match="promoted no step; does it have %%dasf_workflow cells"):
        execute_and_collect_draft(notebook)


def test_a_file_that_is_not_a_notebook_is_refused(tmp_path):
    path = tmp_path / "not.ipynb"
    path.write_text("[1, 2]")
    with pytest.raises(ArgodasfError, match="cannot read notebook"):
        execute_and_collect_draft(str(path))


def test_cli_promote_execute_writes_the_workflow_promoted_in_the_kernel(tmp_path, monkeypatch):
    """`argodasf promote NB --execute -o wf.yaml` on the seismic notebook, against the
    same notebook run as JupyterLab runs it."""
    import pathlib
    import shutil
    import subprocess
    import sys

    from nbclient import NotebookClient

    source = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "02-seismic-envelope.ipynb"
    notebook = tmp_path / source.name
    shutil.copy(source, notebook)
    output = tmp_path / "wf.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "argodasf_jupyter.cli", "promote", str(notebook), "--execute", "-o", str(output)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "[1/" in result.stderr and f"wrote {output}" in result.stderr

    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    NotebookClient(
        nbformat.read(notebook, as_version=4),
        kernel_name="python3",
        timeout=500,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    assert output.read_text() == workflow.to_yaml(Draft.load(draft_path(str(notebook))))


def test_cli_without_execute_names_execute_for_a_computed_value(tmp_path):
    import subprocess
    import sys

    notebook = write_notebook(tmp_path / "analysis.ipynb", CELLS)
    result = subprocess.run(
        [sys.executable, "-m", "argodasf_jupyter.cli", "promote", notebook], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "argodasf: error: cannot promote step 'scaled': 'scale' (line 1) is a value computed when the notebook runs "
        "(promote --execute runs it first), defined in cell 3; define or import it in this cell (only str, int, "
        "float, bool, None and small lists/dicts of those become parameters)"
    )
