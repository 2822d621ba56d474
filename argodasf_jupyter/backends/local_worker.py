"""Loaded into each worker process of a local cluster (distributed's preload hook).

A worker that closes while its heartbeat to the scheduler is in flight closes that
connection itself, and distributed logs the broken heartbeat as an error with a
traceback. The worker's stderr is the kernel's, so the traceback lands in the cell
that closed the cluster; it is a false alarm there, and this drops it."""

from __future__ import annotations

import logging

from distributed.core import Status

_CLOSING = {Status.closing, Status.closing_gracefully, Status.closed}
_HEARTBEAT_FAILED = "Failed to communicate with scheduler during heartbeat"


class _HeartbeatAtCloseFilter(logging.Filter):
    def __init__(self, worker):
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.getMessage().startswith(_HEARTBEAT_FAILED) and self.worker.status in _CLOSING)


def dask_setup(worker) -> None:
    logging.getLogger("distributed.worker").addFilter(_HeartbeatAtCloseFilter(worker))
