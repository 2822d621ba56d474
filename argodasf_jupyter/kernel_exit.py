"""Run the session's shutdown when its kernel is asked to shut down, so the kernel can
exit on its own.

ipykernel answers a shutdown request by sending SIGTERM to every child process of the
kernel, again and again for about 14 s, before SIGKILL; Jupyter kills a kernel that has
not exited 5 s after the request (``shutdown_wait_time``). multiprocessing's resource
tracker, a child that process-based Dask workers start, ignores SIGTERM. So a kernel
that ever ran a local process cluster was always killed, and its atexit handlers
(closing clusters, withdrawing from the sidebar's registry, removing temporary
directories) never ran. The shell's ``exit_now`` is set before those signals: then the
session closes its clusters, and the resource tracker, with no worker process left to
track, is stopped.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import resource_tracker
from typing import Callable


def on_kernel_shutdown(shutdown: Callable[[], None]) -> None:
    """Call ``shutdown`` when the running IPython kernel is asked to shut down; nothing
    to watch in plain Python or a terminal IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return

    def exit_requested(change) -> None:
        if change["new"]:
            shutdown()
            stop_idle_resource_tracker()

    shell.observe(exit_requested, names="exit_now")


def stop_idle_resource_tracker() -> None:
    """Stop multiprocessing's resource tracker once no child process is left for it to
    track (it starts again by itself if one is spawned later)."""
    if multiprocessing.active_children():
        return
    tracker = resource_tracker._resource_tracker  # the module has no public stop
    if getattr(tracker, "_pid", None) is not None:
        tracker._stop()
