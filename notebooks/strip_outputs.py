"""Keep only the outputs nbval checks (cells marked NBVAL_CHECK_OUTPUT), so stored
notebooks carry no machine-specific paths, addresses or widget state."""

import sys

import nbformat


def strip(path: str) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            checked = "NBVAL_CHECK_OUTPUT" in cell.source
            cell.outputs = [output for output in cell.outputs if checked and output.output_type == "stream"]
            if not cell.outputs:
                cell.execution_count = None
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, path)


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        strip(argument)
