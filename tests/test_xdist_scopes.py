"""Under `--dist loadfile` each file runs on one worker, and all browser files on the same one
(tests/xdist_scopes.py)."""

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent
TWO_TESTS = "def test_one():\n    pass\n\ndef test_two():\n    pass\n"


@pytest.mark.one_environment
def test_browser_files_share_one_worker_and_other_files_spread(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    for path in ("tests/browser/test_a.py", "tests/browser/test_b.py", "tests/test_c.py", "tests/test_d.py"):
        (pytester.path / path).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / path).write_text(TWO_TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "xdist_scopes", "-p", "no:cacheprovider", "-n", "3", "--dist", "loadfile", "-v", "tests"
    )
    assert result.ret == 0, result.stdout.str()
    workers = {}
    for worker, nodeid in re.findall(r"\[(gw\d+)\] \[ *\d+%\] PASSED (\S+)", result.stdout.str()):
        workers.setdefault(nodeid.split("::")[0], set()).add(worker)
    assert sorted(workers) == [
        "tests/browser/test_a.py",
        "tests/browser/test_b.py",
        "tests/test_c.py",
        "tests/test_d.py",
    ], result.stdout.str()
    assert all(len(found) == 1 for found in workers.values()), workers
    assert workers["tests/browser/test_a.py"] == workers["tests/browser/test_b.py"]
    assert "scheduling tests via BrowserFilesTogether" in result.stdout.str()
