"""dask-labextension's own cluster creation, pointed at our factory."""

from __future__ import annotations

import asyncio

import dask
import pytest

from argodasf_jupyter.errors import ArgodasfError


def make_cluster(cluster_defaults: dict, **kwargs):
    from dask_labextension.manager import make_cluster as labextension_make_cluster

    factory = {"module": "argodasf_jupyter.dask_factory", "class": "default_cluster", "args": [], "kwargs": kwargs}
    with dask.config.set({"labextension.factory": factory, "argodasf.cluster": cluster_defaults}):
        return asyncio.run(labextension_make_cluster({}))


def test_new_cluster_button_builds_the_configured_default_spec(no_leftover_processes):
    cluster, adaptive = make_cluster({"backend": "local", "name": "team", "workers": 1, "threads_per_worker": 2})
    try:
        workers = cluster.scheduler_info["workers"].values()
        assert [worker["nthreads"] for worker in workers] == [2]
        assert cluster.name.startswith("team-") and len(cluster.name) == len("team-") + 4
        assert adaptive is None
    finally:
        cluster.close()


def test_factory_kwargs_override_the_defaults(no_leftover_processes):
    cluster, _ = make_cluster({"backend": "local", "workers": 1}, workers=2, name="chosen")
    try:
        assert len(cluster.scheduler_info["workers"]) == 2 and cluster.name == "chosen"
    finally:
        cluster.close()


def test_an_invalid_default_fails_with_the_spec_message():
    with pytest.raises(ArgodasfError, match="threads_per_worker"):
        make_cluster({"backend": "local"}, threads_per_worker=0)
