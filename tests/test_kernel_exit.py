"""A kernel that runs a local process cluster shuts down on its own: its session
closes the cluster and stops multiprocessing's resource tracker when the shutdown
request comes, so ipykernel finds no child process left to signal, and Jupyter has no
kernel to kill."""

from __future__ import annotations

import pathlib

import psutil
from jupyter_client import KernelManager

CLUSTER = "%load_ext argodasf_jupyter\n%dasf_cluster exiting --workers 2 --backend local --memory 1GiB\n"
NO_CHILDREN = "Kernel has no children."  # ipykernel's debug log, before it signals any


def _shut_down(code: str, log: pathlib.Path) -> tuple[str, list[int]]:
    """Run ``code`` in a fresh kernel, ask it to shut down; its debug log and the pids
    of its children as they were before the request."""
    manager = KernelManager(kernel_name="python3", shutdown_wait_time=120)
    with log.open("w") as stream:
        manager.start_kernel(extra_arguments=["--debug"], stderr=stream, stdout=stream)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        reply = client.execute_interactive(code, timeout=300)
        assert reply["content"]["status"] == "ok", reply["content"]
        children = [child.pid for child in psutil.Process(manager.provisioner.pid).children(recursive=True)]
    finally:
        client.stop_channels()
        manager.shutdown_kernel()  # graceful: the shutdown request, then up to 120 s
    return log.read_text(), children


def test_a_kernel_with_a_local_cluster_has_no_child_left_when_ipykernel_looks(tmp_path):
    log, children = _shut_down(CLUSTER, tmp_path / "kernel.log")
    assert len(children) >= 3  # the resource tracker and the two workers' nannies at least
    assert NO_CHILDREN in log, log[-3000:]
    assert "Sending <Signals.SIGTERM" not in log
    assert not [pid for pid in children if psutil.pid_exists(pid)]


def test_the_check_sees_children_that_ipykernel_has_to_signal(tmp_path):
    """The check above can fail: a cluster the session does not own (made directly)
    leaves the tracker and the workers for ipykernel to signal."""
    code = "from distributed import LocalCluster\ncluster = LocalCluster(n_workers=1, dashboard_address=':0')\n"
    log, _ = _shut_down(code, tmp_path / "kernel.log")
    assert NO_CHILDREN not in log and "Sending <Signals.SIGTERM" in log
