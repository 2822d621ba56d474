"""Every shipped notebook runs top to bottom as JupyterLab's Run All runs it.

Under nbval the kernel does not know which notebook it runs; in JupyterLab it does
(the server sets JPY_SESSION_NAME to the notebook's path and starts the kernel in
the notebook's folder), and the magics name the workflow draft after the notebook.
So each notebook is copied to a folder of its own and executed with nbclient the
way JupyterLab starts its kernel. A last probe cell checks that Run All leaves no
Dask cluster of the notebook's running, but for the quickstart's, which stays up on
purpose so that its widget is live when the user looks (its last cell says how to
close it). Nor does a notebook leave files in the kernel's temporary directory once
its kernel has shut down.
"""

from __future__ import annotations

import pathlib
import re
import shutil

import nbformat
import pytest
from jupyter_client import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
PROBE = """\
from argodasf_jupyter.session import current_session
print("clusters left running:", sorted(name for name, c in current_session().clusters.items() if c.status != "closed"))
"""

KEPT_RUNNING = {"01-quickstart.ipynb": ["quickstart"]}

pytestmark = pytest.mark.timeout(900)


def run_as_jupyterlab(notebook_path: pathlib.Path, folder: pathlib.Path, monkeypatch) -> nbformat.NotebookNode:
    copy = folder / notebook_path.name
    shutil.copy(notebook_path, copy)
    notebook = nbformat.read(copy, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    monkeypatch.setenv("JPY_SESSION_NAME", str(copy))
    monkeypatch.setenv("TMPDIR", str(kernel_tmp(folder)))
    # JupyterLab kills a kernel 5 s after its shutdown request; a loaded machine may need
    # longer to close what the kernel holds, and a kill would leave it behind
    manager = KernelManager(kernel_name="python3", shutdown_wait_time=120)
    try:
        NotebookClient(
            notebook, km=manager, timeout=600, allow_errors=False, resources={"metadata": {"path": str(folder)}}
        ).execute()
    finally:
        if manager.has_kernel:  # nbclient leaves a kernel manager it was given running
            manager.shutdown_kernel()
    return notebook


def kernel_tmp(folder: pathlib.Path) -> pathlib.Path:
    path = folder / "kernel-tmp"
    path.mkdir(exist_ok=True)
    return path


def left_in_kernel_tmp(folder: pathlib.Path) -> list[str]:
    dask_own = {"dask-scratch-space", "global.lock", "purge.lock"}
    return sorted(str(path.relative_to(folder)) for path in kernel_tmp(folder).rglob("*") if path.name not in dask_own)


@pytest.mark.parametrize("notebook_path", NOTEBOOKS, ids=lambda path: path.name)
def test_run_all_as_in_jupyterlab(notebook_path, tmp_path, monkeypatch):
    try:
        notebook = run_as_jupyterlab(notebook_path, tmp_path, monkeypatch)
    except CellExecutionError as error:
        last_line = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip().splitlines()[-1]
        pytest.fail(f"{notebook_path.name} stops in Run All: {last_line}")
    probe_output = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert probe_output.strip() == f"clusters left running: {KEPT_RUNNING.get(notebook_path.name, [])}"
    # the kernel has shut down: what it put in its temporary directory is gone, but for
    # the folder dask keeps for the local directories of its schedulers and workers
    assert left_in_kernel_tmp(tmp_path) == []


def test_the_probe_sees_a_cluster_left_running(tmp_path, monkeypatch):
    """The check above can fail: a notebook that leaves its cluster running is caught."""
    leaky = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext argodasf_jupyter"),
            nbformat.v4.new_code_cell("%%dasf_cluster leaky --workers 1\nbackend: local\nmemory_limit: 1GiB"),
        ]
    )
    path = tmp_path / "src" / "leaky.ipynb"
    path.parent.mkdir()
    nbformat.write(leaky, path)
    notebook = run_as_jupyterlab(path, tmp_path, monkeypatch)
    assert "clusters left running: ['leaky']" in "".join(o.get("text", "") for o in notebook.cells[-1].outputs)


def test_the_kernel_tmp_check_sees_what_a_notebook_leaves(tmp_path, monkeypatch):
    """The temporary-directory check can fail: a file a notebook leaves is caught."""
    leaving = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import tempfile\ntempfile.mkdtemp(prefix='left-')")]
    )
    path = tmp_path / "src" / "leaving.ipynb"
    path.parent.mkdir()
    nbformat.write(leaving, path)
    run_as_jupyterlab(path, tmp_path, monkeypatch)
    assert [name.split("/")[-1][:5] for name in left_in_kernel_tmp(tmp_path)] == ["left-"]
