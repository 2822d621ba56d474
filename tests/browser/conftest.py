"""Browser-test helpers: lab_server.py and the fake Argo Server are importable, and
a failing test leaves a screenshot of the page beside the others."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed and "page" in item.funcargs:
        from test_sidebar import shoot

        shoot(item.funcargs["page"], f"failed-{item.name}")
    return report
