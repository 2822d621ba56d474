"""Thin authenticated tornado handlers under ``/argodasf/api/``, the routes the sidebar calls.

GET state                    the clusters and drafts the kernels of this server published,
                             and the workflows on the configured Argo Server: one refresh
GET changes?since=STAMP      answers once a kernel published after STAMP (or after
                             CHANGES_WAIT seconds): the sidebar's push channel
GET workflows/<name>/steps/<step>/logs
                             the last lines (?tail=200) of one step's pods: a DASF step's
                             DaskJob pods (?component=runner|scheduler|worker), a
                             container step's pod through Argo
GET workflows/<name>/steps/<step>/report
                             a DASF step's Dask performance report (reports.py)
POST workflows/<name>/steps/<step>/dashboard
                             forwards a running DASF step's Dask dashboard to this
                             machine; answers its URL through jupyter-server-proxy
POST workflows/<name>/<action>  stop | terminate | retry | resubmit; answers the new summary
"""

from __future__ import annotations

import asyncio
import json
import re

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from .. import argo, argo_control, registry, step_dashboard, step_logs
from ..argo_settings import ArgoTarget, argo_target
from ..errors import ArgodasfError
from . import kernels

LIST_LIMIT = 20  # newest workflows shown
MAX_TAIL = 100000  # most log lines one request may ask for
STATE_ARGO_WAIT = 2.0  # seconds /state waits for Argo before answering with the last list it had
CHANGES_WAIT = 25.0  # seconds a changes request is held open
CHANGES_CHECK = 0.2  # seconds between looks at the registry
ACTIONS = ("stop", "terminate", "retry", "resubmit")
DETAILS_KEPT = 500  # failed steps whose runner traceback end is remembered


class _Handler(APIHandler):
    def answer(self, body: dict) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    async def from_argo(self, call, *args, **kwargs):
        """Run a blocking argo.py call off the event loop; its failure becomes an HTTP error."""
        target = _target()
        if target is None:
            raise tornado.web.HTTPError(503, "no Argo Server is configured (ARGO_SERVER or argodasf.argo.server)")
        try:
            return await asyncio.to_thread(call, *args, where=target, **kwargs)
        except ArgodasfError as error:  # one line, the token already scrubbed by argo.py
            raise tornado.web.HTTPError(_http_status(error), str(error)) from None

    def tail(self) -> int:
        tail = self.get_query_argument("tail", "200")
        if not re.fullmatch(r"[0-9]{1,6}", tail) or not 0 < int(tail) <= MAX_TAIL:
            raise tornado.web.HTTPError(400, f"tail must be a number of lines from 1 to {MAX_TAIL}")
        return int(tail)


def _target() -> ArgoTarget | None:
    try:
        return argo_target()
    except ArgodasfError as error:  # the server's own configuration is wrong
        raise tornado.web.HTTPError(503, str(error)) from None


def _http_status(error: ArgodasfError) -> int:
    """404 when Argo said the workflow does not exist, 409 when our own check refused
    (a retry of a running workflow), else 502 (the upstream failed)."""
    from hera.exceptions import NotFound

    # failures are raised `from None`, which hides but keeps the original in __context__
    if isinstance(error.__context__, NotFound):
        return 404
    return 409 if error.__context__ is None else 502


_failure_details: dict = {}  # runner traceback ends already read, per failed step attempt


def _with_failure_details(summary: dict) -> dict:
    """A summary whose failed DASF steps carry the end of their runner traceback;
    each step attempt's runner log is read once (Kubernetes, not Argo)."""
    if len(_failure_details) > DETAILS_KEPT:
        _failure_details.clear()
    return step_logs.with_failure_details(summary, cache=_failure_details)


def _listing_with_details(where) -> list[dict]:
    return [_with_failure_details(summary) for summary in argo.list_workflows(where=where)[:LIST_LIMIT]]


def _argo_info(target: ArgoTarget | None) -> dict:
    if target is None:
        return {"configured": False}
    return {"configured": True, "namespace": target.namespace, "ui_url": target.ui_url}


class StepLogsHandler(_Handler):
    """A DASF step's own output is in its DaskJob's pods, read with the server's
    Kubernetes credentials; Argo's log API has only its resource pod."""

    @tornado.web.authenticated
    async def get(self, name: str, step: str):
        tail = self.tail()
        component = self.get_query_argument("component", None)
        if component is not None and component not in step_logs.COMPONENTS:
            raise tornado.web.HTTPError(400, f"component must be one of: {', '.join(step_logs.COMPONENTS)}")
        steps = {found["name"]: found for found in (await self.from_argo(argo.status, name))["steps"]}
        if step not in steps:
            raise tornado.web.HTTPError(
                404, f"workflow '{name}' has no step '{step}'; its steps: {', '.join(sorted(steps)) or 'none yet'}"
            )
        if steps[step]["kind"] != "dasf":
            if component is not None:
                raise tornado.web.HTTPError(400, f"step '{step}' is a container step; component is for DASF steps")
            logs = await self.from_argo(argo.logs, name, step, tail=tail)
        else:
            component = component or "runner"
            logs = await self._dask_job_logs(name, step, component, tail)
        self.answer(
            {
                "name": name,
                "step": step,
                "kind": steps[step]["kind"],
                "component": component,
                "phase": steps[step]["phase"],
                "logs": logs,
            }
        )

    async def _dask_job_logs(self, name: str, step: str, component: str, tail: int) -> str:
        namespace = _target().namespace
        try:
            return await asyncio.to_thread(step_logs.read, name, step, component, tail, namespace)
        except ArgodasfError as error:
            # no pod yet is raised outside any except (no __context__); Kubernetes failures inside one
            raise tornado.web.HTTPError(404 if error.__context__ is None else 502, str(error)) from None


class StepDashboardHandler(_Handler):
    """The port-forward lives in this server, with its Kubernetes credentials."""

    @tornado.web.authenticated
    async def post(self, name: str, step: str):
        target = _target()
        namespace = target.namespace if target is not None else None
        try:
            dashboard = await asyncio.to_thread(step_dashboard.open_dashboard, name, step, namespace)
        except ArgodasfError as error:
            # not running / no job yet is raised outside any except; Kubernetes failures inside one
            raise tornado.web.HTTPError(409 if error.__context__ is None else 502, str(error)) from None
        self.answer(
            {"name": name, "step": step, "cluster": dashboard.cluster, "url": dashboard.proxy_url(self.base_url)}
        )


class WorkflowActionHandler(_Handler):
    @tornado.web.authenticated
    async def post(self, name: str, action: str):
        self.answer(await self.from_argo(getattr(argo_control, action), name))


class StateHandler(_Handler):
    """Everything the sidebar shows, so one refresh costs one request."""

    _listing: asyncio.Task | None = None  # the Argo call in flight, shared by all requests
    _last: list = []

    @tornado.web.authenticated
    async def get(self):
        records = registry.read_all()
        try:
            target = _target()
        except tornado.web.HTTPError as error:
            target, problem = None, error.log_message
        else:
            problem = None
        body = {
            "clusters": kernels.clusters(records),
            "drafts": kernels.drafts(records),
            "argo": _argo_info(target),
            "workflows": [],
        }
        if problem:
            body["argo"]["error"] = problem
        if target is not None:
            # the clusters must not wait on a slow Argo Server: answer with the last list after a short wait
            cls = type(self)
            # a listing of another event loop (a server started again in this process) is not reused
            stale = (
                cls._listing is None or cls._listing.done() or cls._listing.get_loop() is not asyncio.get_running_loop()
            )
            if stale:
                cls._listing = asyncio.ensure_future(self.from_argo(_listing_with_details))
                cls._listing.add_done_callback(cls._keep_listing)
            try:
                await asyncio.wait_for(asyncio.shield(cls._listing), STATE_ARGO_WAIT)
            except asyncio.TimeoutError:
                body["argo"]["error"] = "the Argo Server has not answered yet; showing the last list"
            except tornado.web.HTTPError as error:  # the sidebar still shows the clusters
                body["argo"]["error"] = error.log_message
            body["workflows"] = cls._last
        self.answer(body)

    @classmethod
    def _keep_listing(cls, task: asyncio.Task) -> None:
        """A listing that ends after its request stopped waiting is the next request's
        list: on an Argo Server slower than the wait, the sidebar still fills. Its
        failure is read here, so asyncio does not log it as unretrieved."""
        if not task.cancelled() and task.exception() is None:
            cls._last = task.result()


class ChangesHandler(_Handler):
    """Long poll: kernels publish on every change, and this answers as soon as one did."""

    @tornado.web.authenticated
    async def get(self):
        since = self.get_query_argument("since", None)  # absent: answer the current stamp at once
        waited = 0.0
        stamp = registry.fingerprint()
        while stamp == since and waited < CHANGES_WAIT:
            await asyncio.sleep(CHANGES_CHECK)
            waited += CHANGES_CHECK
            stamp = registry.fingerprint()
        self.answer({"stamp": stamp, "changed": since is not None and stamp != since})


def route_table(base_url: str) -> list[tuple]:
    from .reports import StepReportHandler  # it builds on _Handler

    api = url_path_join(base_url, "argodasf", "api")
    return [
        (
            url_path_join(api, "workflows", f"({argo.WORKFLOW_NAME})", "steps", f"({argo.WORKFLOW_NAME})", "logs"),
            StepLogsHandler,
        ),
        (
            url_path_join(api, "workflows", f"({argo.WORKFLOW_NAME})", "steps", f"({argo.WORKFLOW_NAME})", "report"),
            StepReportHandler,
        ),
        (
            url_path_join(api, "workflows", f"({argo.WORKFLOW_NAME})", "steps", f"({argo.WORKFLOW_NAME})", "dashboard"),
            StepDashboardHandler,
        ),
        (url_path_join(api, "workflows", f"({argo.WORKFLOW_NAME})", f"({'|'.join(ACTIONS)})"), WorkflowActionHandler),
        (url_path_join(api, "state"), StateHandler),
        (url_path_join(api, "changes"), ChangesHandler),
    ]
