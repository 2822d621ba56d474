"""The hostile suite's goal figures, counted by every case and printed once at the end
of the run. Under pytest-xdist each worker counts its own cases; the workers send
their counts to the controller, which prints the totals."""

from __future__ import annotations

import pytest

FIGURES = {"cases tried": 0, "tracebacks": 0, "hangs": 0, "HTTP 500": 0, "lost steps": 0, "secrets shown": 0}
WORKER_OUTPUT_KEY = "hostile figures"


def pytest_sessionfinish(session):
    worker_output = getattr(session.config, "workeroutput", None)  # set only in an xdist worker
    if worker_output is not None:
        worker_output[WORKER_OUTPUT_KEY] = dict(FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    for figure, count in getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, {}).items():
        FIGURES[figure] += count


def pytest_terminal_summary(terminalreporter):
    if FIGURES["cases tried"]:
        terminalreporter.write_line("hostile input: " + ", ".join(f"{key} {value}" for key, value in FIGURES.items()))
