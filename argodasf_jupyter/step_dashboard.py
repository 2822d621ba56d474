"""The live Dask dashboard of a running DASF step, reached from the browser through the
Jupyter server.

A step's scheduler runs in the cluster, behind a Service only the cluster can reach, so
a kr8s port-forward brings its dashboard port to this machine's loopback, and
jupyter-server-proxy (installed with dask-labextension) serves that at
``<base_url>proxy/<port>/status``. The scheduler is the newest DaskJob's cluster of the
step, or the workflow's shared DaskCluster (``cluster: shared``). Port-forwards live on
an event loop of their own thread (kr8s keeps one on the loop that started it); each
ends once its DaskJob or DaskCluster is no longer running.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Optional

from . import step_jobs
from .errors import ArgodasfError

CLUSTERS = "daskclusters.kubernetes.dask.org"
DASHBOARD_PORT_NAME = "http-dashboard"  # the operator's name for the scheduler Service's port
DEFAULT_DASHBOARD_PORT = 8787
JOB_RUNNING = ("ClusterCreated", "Running")
WATCH_INTERVAL = 2.0  # seconds between looks at whether a forwarded step still runs
LOOKS_UNANSWERED = 30  # looks in a row the API server may fail before a forward is closed


@dataclass(frozen=True)
class StepDashboard:
    workflow: str
    step: str
    cluster: str  # the DaskCluster whose scheduler serves it
    port: int  # the loopback port the forward listens on

    def proxy_url(self, base_url: str = "/") -> str:
        """The dashboard's status page through the Jupyter server."""
        return f"{base_url.rstrip('/')}/proxy/{self.port}/status"


async def _running_cluster(api, workflow: str, step: str, namespace: Optional[str]):
    """(cluster name, namespace) of the scheduler that serves ``step`` while it runs."""
    jobs = await step_jobs.labelled(api, step_jobs.JOBS, workflow, step, namespace)
    if jobs:
        job = jobs[-1]
        status = (job.raw.get("status") or {}).get("jobStatus")
        if status not in JOB_RUNNING:
            raise ArgodasfError(
                f"step '{step}' of workflow '{workflow}' is not running (its DaskJob is {status or 'not started'}); "
                "a step's dashboard lives only while it runs, its performance report stays"
            )
        return (job.raw.get("status") or {}).get("clusterName") or job.name, job.namespace
    shared = [
        cluster
        for cluster in await step_jobs.labelled(api, CLUSTERS, workflow, None, namespace)
        if step_jobs.LABEL_STEP not in cluster.labels
    ]
    if not shared:
        raise ArgodasfError(f"no DaskJob for step '{step}' of workflow '{workflow}' yet; it may not have started")
    return shared[-1].name, shared[-1].namespace


async def _still_running(api, cluster: str, namespace: str) -> bool:
    found = [item async for item in api.get(CLUSTERS, cluster, namespace=namespace)]
    return bool(found) and (found[0].raw.get("status") or {}).get("phase") == "Running"


async def _dashboard_port(api, cluster: str, namespace: str):
    from kr8s.asyncio.objects import Service

    service = await Service.get(f"{cluster}-scheduler", namespace=namespace, api=api)
    ports = service.raw["spec"].get("ports", [])
    named = [port["port"] for port in ports if port.get("name") == DASHBOARD_PORT_NAME]
    return service, (named[0] if named else DEFAULT_DASHBOARD_PORT)


class DashboardForwards:
    """The port-forwards this process keeps open, one per running cluster."""

    def __init__(self):
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._lock = threading.Lock()
        self._open: dict[tuple[str, str], tuple[StepDashboard, object]] = {}
        self._watchers: set[asyncio.Task] = set()  # asyncio keeps only weak references to tasks

    def open(self, workflow: str, step: str, namespace: Optional[str] = None) -> StepDashboard:
        """A forward to the dashboard of ``step`` while it runs (the one already open
        for its cluster, when there is one)."""
        loop = self._started_loop()
        return step_jobs.call("open the step's dashboard", self._open_forward, workflow, step, namespace, loop=loop)

    def _started_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="argodasf-dashboards", daemon=True).start()
            return self._loop

    async def _open_forward(self, api, workflow: str, step: str, namespace: Optional[str]) -> StepDashboard:
        cluster, cluster_namespace = await _running_cluster(api, workflow, step, namespace)
        key = (cluster_namespace, cluster)
        if key in self._open:
            return self._open[key][0]
        service, remote_port = await _dashboard_port(api, cluster, cluster_namespace)
        forward = service.portforward(remote_port=remote_port, local_port="auto")
        port = await forward.start()
        dashboard = StepDashboard(workflow, step, cluster, port)
        self._open[key] = (dashboard, forward)
        watcher = asyncio.get_running_loop().create_task(self._close_when_done(api, key))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return dashboard

    async def _close_when_done(self, api, key: tuple[str, str]) -> None:
        unanswered = 0
        while key in self._open:
            await asyncio.sleep(WATCH_INTERVAL)
            try:
                running = await _still_running(api, key[1], key[0])
            except Exception:  # an API server that does not answer now may answer at the next look
                unanswered += 1
                running = unanswered < LOOKS_UNANSWERED
            else:
                unanswered = 0
            if not running:
                await self._close(key)

    async def _close(self, key: tuple[str, str]) -> None:
        if key in self._open:
            _, forward = self._open.pop(key)
            await forward.stop()

    def opened(self) -> list[StepDashboard]:
        return [dashboard for dashboard, _ in self._open.values()]


_forwards = DashboardForwards()


def open_dashboard(workflow: str, step: str, namespace: Optional[str] = None) -> StepDashboard:
    """Plain-Python entry: forward the dashboard of a running DASF step to this machine."""
    return _forwards.open(workflow, step, namespace)


def open_dashboards() -> list[StepDashboard]:
    """The step dashboards this process forwards now."""
    return _forwards.opened()
