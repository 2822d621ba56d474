"""Browser-test helpers: lab_server.py and the fake Argo Server are importable, and
a failing test leaves a screenshot of the page beside the others."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


# pytest-jupyter (loaded for tests/test_server.py) makes and closes an asyncio loop
# around every test; Playwright's sync API runs its own loop in this thread, and
# these tests start Jupyter in a subprocess, so here those fixtures do nothing.
@pytest.fixture
def jp_asyncio_loop():
    yield None


@pytest.fixture
def jp_server_cleanup():
    yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed and "page" in item.funcargs:
        from test_sidebar import shoot

        shoot(item.funcargs["page"], f"failed-{item.name}")
    return report
