"""Shared fixtures: every test runs with its own HOME, dask config and Jupyter
runtime dir, so nothing reads or writes the user's files, and dashboards pick
free ports so tests never collide with other Dask processes."""

from __future__ import annotations

import contextlib
import pathlib
import sys

import dask
import psutil
import pytest

# hooks the xdist controller must know, and it loads only this top-level conftest: the
# hostile suite's figures, and which tests share a worker
pytest_plugins = ["hostile.figures", "xdist_scopes"]

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared"


def pytest_collection_modifyitems(items):
    """End-to-end tests against the real Dask operator and a real browser depend on
    timing we do not control (e.g. dask/dask-kubernetes#968, an operator race that
    leaves a cluster Pending): such a test gets one more try, which the report shows
    as a rerun. A test that fails twice fails the run."""
    for item in items:
        if item.get_closest_marker("kube") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))


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
def process_snapshot():
    """The test process's child processes now (call it before and after)."""
    return child_processes


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


@contextlib.contextmanager
def interactive_shell():
    """A real IPython InteractiveShell with the extension loaded. On exit it closes
    every cluster it made and puts back the __main__ module, which the shell
    replaces (later process spawns need the real one)."""
    from IPython.core.interactiveshell import InteractiveShell

    from argodasf_jupyter import session as session_module

    main_module = sys.modules["__main__"]
    session_module._session = None
    ip = InteractiveShell.instance()
    ip.run_cell("%load_ext argodasf_jupyter", store_history=False)
    try:
        yield ip
    finally:
        session_module.current_session().close_all()
        session_module._session = None
        ip.run_cell("%unload_ext argodasf_jupyter", store_history=False)
        ip.user_ns.clear()
        InteractiveShell.clear_instance()
        sys.modules["__main__"] = main_module


@pytest.fixture
def shell():
    with interactive_shell() as ip:
        yield ip


@pytest.fixture(scope="module")
def module_shell(tmp_path_factory):
    """One shell for a whole module (e.g. a table of cases), isolated like the others."""
    runtime = tmp_path_factory.mktemp("runtime")
    with pytest.MonkeyPatch.context() as patch, dask.config.set({"argodasf.local.dashboard-address": ":0"}):
        patch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
        patch.delenv("KUBECONFIG", raising=False)
        with interactive_shell() as ip:
            yield ip


@pytest.fixture
def shared_dir():
    if not SHARED.is_dir():
        pytest.skip("../shared (reference data) is not present in this checkout")
    return SHARED


@pytest.fixture(scope="session")
def argo_templates():
    """Argo's template substitution with the real expr engine (tests/argo/template_engine.py)."""
    from argo.template_engine import TemplateEngine, missing_toolchain

    reason = missing_toolchain()
    if reason:
        pytest.skip(f"Argo's expression engine cannot be built: {reason}")
    engine = TemplateEngine.start()
    yield engine
    engine.close()
