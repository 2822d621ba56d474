"""The embedded default: a Dask cluster of processes on this machine."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import traceback
import warnings

import dask
from dask.utils import format_bytes, parse_bytes

from ..config import settings
from ..errors import ArgodasfError
from ..spec import ClusterSpec


def _total_memory() -> int:
    import psutil

    return psutil.virtual_memory().total


def check(spec: ClusterSpec) -> None:
    if spec.connect:
        raise ArgodasfError(
            f"connect: true attaches to a Kubernetes cluster; set backend: kubernetes, or drop connect to create '{spec.name}' locally"
        )
    if spec.keep:
        raise ArgodasfError(
            "keep: true needs a Kubernetes cluster; a local cluster always ends with its kernel, so drop keep"
        )
    most = spec.adapt.maximum if spec.adapt is not None else spec.initial_workers
    limit = settings().local.max_workers
    if most > limit:
        raise ArgodasfError(
            f"{most} local workers is more than this machine's limit of {limit}; "
            "use fewer workers, or raise argodasf.local.max-workers"
        )
    if spec.memory_limit != "auto" and parse_bytes(spec.memory_limit) > _total_memory():
        raise ArgodasfError(
            f"memory_limit {spec.memory_limit} per worker is more than this machine has "
            f"({format_bytes(_total_memory())}); use a smaller memory_limit or 'auto'"
        )
    if spec.gpu and importlib.util.find_spec("dask_cuda") is None:
        raise ArgodasfError("gpu: true on the local backend needs dask-cuda (pip install dask-cuda); or set gpu: false")


class _CancelledFeedFilter(logging.Filter):
    """Drops the traceback distributed logs when a scheduler closes while a progress
    bar still feeds from it (Scheduler.feed is cancelled in its sleep): closing the
    cluster is what cancels it, so the traceback is a false alarm in the user's cell."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or not isinstance(record.exc_info[1], asyncio.CancelledError):
            return True
        frames = traceback.extract_tb(record.exc_info[2])
        return not any(frame.name == "feed" and frame.filename.endswith("scheduler.py") for frame in frames)


def _quiet_cancelled_feeds() -> None:
    scheduler_log = logging.getLogger("distributed.scheduler")
    if not any(isinstance(existing, _CancelledFeedFilter) for existing in scheduler_log.filters):
        scheduler_log.addFilter(_CancelledFeedFilter())


def start(spec: ClusterSpec, progress) -> object:
    progress("creating")
    _quiet_cancelled_feeds()  # the scheduler of a local cluster logs in this process
    options = dict(
        name=spec.name,
        n_workers=spec.initial_workers,
        threads_per_worker=spec.threads_per_worker,
        memory_limit=spec.memory_limit,
        dashboard_address=settings().local.dashboard_address,
        env=dict(spec.env),
        preload=[*dask.config.get("distributed.worker.preload"), "argodasf_jupyter.backends.local_worker"],
    )
    with warnings.catch_warnings():
        # "port 8787 is in use, using another one" is expected with several clusters
        warnings.simplefilter("ignore", UserWarning)
        if spec.gpu:
            from dask_cuda import LocalCUDACluster

            options.pop("threads_per_worker")
            cluster = LocalCUDACluster(rmm_pool_size=spec.rmm_pool_size, **options)
        else:
            from distributed import LocalCluster

            cluster = LocalCluster(**options)
    try:
        if spec.adapt is not None:
            cluster.adapt(minimum=spec.adapt.minimum, maximum=spec.adapt.maximum)
        progress(f"workers {len(cluster.scheduler_info.get('workers', {}))}/{spec.initial_workers}")
    except BaseException:
        cluster.close()
        raise
    return cluster
