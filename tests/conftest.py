"""Shared fixtures: every test runs with its own HOME, dask config and Jupyter
runtime dir, so nothing reads or writes the user's files, and dashboards pick
free ports so tests never collide with other Dask processes."""

from __future__ import annotations

import pathlib

import dask
import psutil
import pytest

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DASK_CONFIG", str(home / ".config" / "dask"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    for name in ("ARGO_SERVER", "ARGO_TOKEN", "ARGO_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    with dask.config.set({"argodasf.local.dashboard-address": ":0"}):
        yield


def _is_helper(process: psutil.Process) -> bool:
    """multiprocessing's resource tracker lives for the whole test run by design."""
    try:
        return "resource_tracker" in " ".join(process.cmdline())
    except psutil.Error:
        return True


def child_processes() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True) if not _is_helper(child)}


@pytest.fixture
def no_leftover_processes():
    """Fails the test when it leaves a child process (worker, nanny) running."""
    before = child_processes()
    yield
    leftover = child_processes() - before
    if leftover:
        psutil.wait_procs([psutil.Process(pid) for pid in leftover if psutil.pid_exists(pid)], timeout=10)
        leftover = {pid for pid in child_processes() - before if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE}
    assert not leftover, f"processes left running: {sorted(leftover)}"


@pytest.fixture
def shell():
    """A real IPython InteractiveShell with the extension loaded; closes every
    cluster it made when the test ends."""
    from IPython.core.interactiveshell import InteractiveShell

    from argodasf_jupyter import session as session_module

    session_module._session = None
    ip = InteractiveShell.instance()
    ip.run_cell("%load_ext argodasf_jupyter", store_history=False)
    yield ip
    session_module.current_session().close_all()
    session_module._session = None
    ip.run_cell("%unload_ext argodasf_jupyter", store_history=False)
    ip.user_ns.clear()
    InteractiveShell.clear_instance()


@pytest.fixture
def shared_dir():
    if not SHARED.is_dir():
        pytest.skip("../shared (reference data) is not present in this checkout")
    return SHARED
