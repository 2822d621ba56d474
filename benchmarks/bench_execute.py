"""`argodasf promote NB --execute` against executing the same notebook with nbclient
alone, side by side on notebooks/02 (the seismic envelope): what promoting by
running costs beyond the run itself."""

from __future__ import annotations

import os
import pathlib
import shutil
import sys
import tempfile

from common import arguments, report, row, side_by_side

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "02-seismic-envelope.ipynb"


def main() -> None:
    import nbformat
    from nbclient import NotebookClient

    from argodasf_jupyter.notebook_run import execute_and_collect_draft

    args = arguments(__doc__)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="bench-execute-"))

    def fresh_copy() -> pathlib.Path:
        # a folder of its own each time: the notebook's outputs and completion markers
        # would otherwise let the next run skip its workflow steps
        folder = pathlib.Path(tempfile.mkdtemp(dir=scratch))
        return pathlib.Path(shutil.copy(NOTEBOOK, folder / NOTEBOOK.name))

    def promote_by_running():
        execute_and_collect_draft(str(fresh_copy()))

    def nbclient_alone():
        copy = fresh_copy()
        os.environ["JPY_SESSION_NAME"] = str(copy)
        try:
            NotebookClient(
                nbformat.read(copy, as_version=4),
                kernel_name="python3",
                timeout=600,
                resources={"metadata": {"path": str(copy.parent)}},
            ).execute()
        finally:
            os.environ.pop("JPY_SESSION_NAME", None)

    try:
        ours, baseline = side_by_side(promote_by_running, nbclient_alone, max(1, min(args.repeat, 3)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report([row("promote --execute of notebooks/02 vs nbclient alone", ours, baseline, "s", "<= 1.15x")], args.json)


if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
    main()
