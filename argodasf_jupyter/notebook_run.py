"""Promote a saved notebook by running it, as JupyterLab's Run All would.

The notebook runs top to bottom in a fresh kernel that knows the notebook's path
(JPY_SESSION_NAME) and starts in its folder, so its ``%%dasf_workflow`` cells
promote themselves from the live values exactly as they do in JupyterLab. The
draft they write goes to a private folder (``argodasf.workflow.draft-dir`` in the
kernel's environment), so the user's own draft beside the notebook is untouched,
and the folder is removed afterwards.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from typing import Callable, Optional

from .errors import ArgodasfError

ANSI = re.compile(r"\x1b\[[0-9;]*m")
DRAFT_DIR_VARIABLE = "DASK_ARGODASF__WORKFLOW__DRAFT_DIR"


def _first_line(source: str) -> str:
    lines = source.strip().splitlines()
    return lines[0][:60] if lines else ""


def _error_line(error: Exception) -> str:
    lines = [line for line in ANSI.sub("", str(error)).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def execute_and_collect_draft(
    notebook_path: str, cell_timeout: int = 600, on_cell: Optional[Callable[[int, int, str, float], None]] = None
):
    """Run ``notebook_path`` in a fresh kernel and return the Draft its cells promoted.

    ``on_cell(number, total, first_line, seconds)`` is called after each code cell.
    A failing cell raises ArgodasfError naming the cell and its error.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from .draft import Draft, draft_path

    notebook_path = os.path.abspath(notebook_path)
    try:
        notebook = nbformat.read(notebook_path, as_version=4)
    except Exception as error:  # nbformat raises many kinds for a file that is not a notebook
        raise ArgodasfError(f"cannot read notebook {notebook_path}: {_error_line(error)}") from None
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    state = {"started": time.perf_counter(), "number": 0, "cell": None}

    def cell_started(cell, **_):
        if cell.cell_type != "code":
            return
        state.update(started=time.perf_counter(), number=state["number"] + 1, cell=cell)

    def cell_done(cell, **_):
        if on_cell is not None and cell.cell_type == "code":
            on_cell(state["number"], len(code_cells), _first_line(cell.source), time.perf_counter() - state["started"])

    saved = {name: os.environ.get(name) for name in ("JPY_SESSION_NAME", DRAFT_DIR_VARIABLE)}
    with tempfile.TemporaryDirectory(prefix="argodasf-execute-") as draft_dir:
        os.environ["JPY_SESSION_NAME"] = notebook_path
        os.environ[DRAFT_DIR_VARIABLE] = draft_dir
        try:
            NotebookClient(
                notebook,
                timeout=cell_timeout,
                kernel_name="python3",
                on_cell_start=cell_started,
                on_cell_executed=cell_done,
                resources={"metadata": {"path": os.path.dirname(notebook_path)}},
            ).execute()
        except CellTimeoutError:
            raise ArgodasfError(
                f"code cell {state['number']} of {notebook_path} ran longer than {cell_timeout} s; "
                "give it more time with --cell-timeout"
            ) from None
        except (CellExecutionError, DeadKernelError) as error:
            where = f"code cell {state['number']} ({_first_line(state['cell'].source)})" if state["cell"] else "start"
            raise ArgodasfError(f"{notebook_path} stops at {where}: {_error_line(error)}") from None
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        promoted = os.path.join(draft_dir, os.path.basename(draft_path(notebook_path)))
        draft = Draft.load(promoted)
        draft.path = draft_path(notebook_path)
    if not draft.steps:
        raise ArgodasfError(f"running {notebook_path} promoted no step; does it have %%dasf_workflow cells?")
    return draft
