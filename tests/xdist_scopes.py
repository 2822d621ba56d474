"""Which tests pytest-xdist keeps on one worker (a plugin, see conftest.py)."""

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """Under `--dist loadfile`, the browser tests' files make one scope: a worker runs
    them one after another, so two JupyterLabs and Chromiums never compete for the
    CPU while a test times what a user would see (e.g. the sidebar within 2 s)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class BrowserFilesTogether(LoadFileScheduling):
        def _split_scope(self, nodeid):
            scope = super()._split_scope(nodeid)
            return "tests/browser" if scope.startswith("tests/browser/") else scope

    return BrowserFilesTogether(config, log)
