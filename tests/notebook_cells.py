"""Run a shipped notebook's code cells in a real IPython shell, the way a user runs
them, leaving out the cells a test does not want (e.g. `run --local`)."""

from __future__ import annotations

import copy
import pathlib

import dask
import nbformat

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"


def code_cells(name: str) -> list[str]:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def run_cells(shell, name: str, leave_out=("run --local", "run_local(", "%dasf_close", "plt.", "NBVAL_CHECK_OUTPUT")):
    """Run the notebook's cells in ``shell``; fails on the first cell that raises."""
    for source in code_cells(name):
        if any(marker in source for marker in leave_out):
            continue
        result = shell.run_cell(source, store_history=True)
        assert result.success, f"cell failed: {source[:200]!r}: {result.error_in_exec or result.error_before_exec}"


class KeptConfig:
    """Puts dask's config back as it was (notebooks call dask.config.set without a with)."""

    def __enter__(self):
        self.saved = copy.deepcopy(dask.config.config)
        return self

    def __exit__(self, *exc_info):
        dask.config.config.clear()
        dask.config.config.update(self.saved)
