"""Execute a notebook headless and print what each cell did (the README's demo)."""

import argparse
import sys
import time

import nbformat
from nbclient import NotebookClient


def text_of(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return f"{output.ename}: {output.evalue}\n"
    data = output.get("data", {})
    return data.get("text/plain", "") + "\n" if "text/plain" in data else ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebook")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    notebook = nbformat.read(args.notebook, as_version=4)
    started = time.perf_counter()
    NotebookClient(notebook, timeout=args.timeout, kernel_name="python3").execute()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        print(f">>> {cell.source.splitlines()[0] if cell.source else ''}")
        for output in cell.get("outputs", []):
            sys.stdout.write(text_of(output))
    print(f"ran {args.notebook} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
