"""Fixtures shared by the workflow tests (imported by name into their modules)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def scheduler_address():
    """A small in-process Dask cluster that step scripts in subprocesses can reach over TCP."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=":0") as cluster:
        yield cluster.scheduler_address
