"""The hostile figures are the run's totals also when pytest-xdist spreads the cases
over worker processes (each worker counts its own; the controller prints the sum)."""

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parents[1]
CASES = """
from hostile.figures import FIGURES

def test_{name}_one():
    FIGURES["cases tried"] += 1

def test_{name}_two():
    FIGURES["cases tried"] += 1
    FIGURES["hangs"] += 1
"""


def figures_line(pytester, *arguments):
    pytester.makepyfile(**{f"test_{name}": CASES.format(name=name) for name in ("first", "second", "third")})
    result = pytester.runpytest_subprocess("-p", "hostile.figures", "-p", "no:cacheprovider", *arguments)
    assert result.ret == 0, result.stdout.str()
    return re.search(r"^hostile input: .*$", result.stdout.str(), re.M).group(0)


@pytest.mark.one_environment
def test_xdist_workers_figures_add_up_to_the_serial_totals(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    serial = figures_line(pytester)
    assert serial.startswith("hostile input: cases tried 6, tracebacks 0, hangs 3,"), serial
    assert figures_line(pytester, "-n", "3", "--dist", "loadfile") == serial
