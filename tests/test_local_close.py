"""Closing a local cluster shows nothing in the cell, even when the close crosses a
worker's heartbeat (each worker is a subprocess writing to the kernel's stderr)."""

from __future__ import annotations

import asyncio
import threading

import dask

from argodasf_jupyter.session import Session


def _hold_heartbeats(scheduler) -> threading.Event:
    """Make the scheduler answer heartbeats only after 30 s, so the close is sure to
    find one in flight; the returned event is set when the first one arrives."""
    arrived = threading.Event()
    answer = scheduler.handlers["heartbeat_worker"]

    async def slow_answer(*args, **kwargs):
        arrived.set()
        await asyncio.sleep(30)
        return answer(*args, **kwargs)

    scheduler.handlers["heartbeat_worker"] = slow_answer
    return arrived


def test_a_close_that_crosses_a_workers_heartbeat_shows_no_traceback(tmp_path, capfd, no_leftover_processes):
    with dask.config.set({"argodasf.cluster.backend": "local", "argodasf.cluster.memory-limit": "1GiB"}):
        session = Session(registry_dir=str(tmp_path))
        managed, _ = session.create_from({"name": "heartbeat", "workers": 2})
    try:
        assert managed.client.submit(sum, [1, 2]).result() == 3
        in_flight = _hold_heartbeats(managed.cluster.scheduler)
        assert in_flight.wait(60), "no worker heartbeat reached the scheduler within 60 s"
    finally:
        session.close_all()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "heartbeat" not in err, err
