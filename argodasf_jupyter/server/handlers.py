"""Thin authenticated tornado handlers under ``/argodasf/api/``.

    GET clusters                 clusters the kernels of this server published
    GET drafts                   the workflow draft of each kernel
    GET workflows                workflows on the configured Argo Server
    GET workflows/<name>         one workflow with the phase of each step
    GET workflows/<name>/logs    the last log lines of its pods (?tail=200)
    GET state                    all of the above in one answer: the sidebar's refresh
    GET changes?since=STAMP      answers once a kernel published after STAMP (or after
                                 CHANGES_WAIT seconds): the sidebar's push channel
"""

from __future__ import annotations

import asyncio
import json
import re

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from .. import argo, registry
from ..errors import ArgodasfError
from . import argo_proxy, kernels

LIST_LIMIT = 20  # newest workflows shown
MAX_TAIL = 100000  # most log lines one request may ask for
STATE_ARGO_WAIT = 2.0  # seconds /state waits for Argo before answering with the last list it had
CHANGES_WAIT = 25.0  # seconds a changes request is held open
CHANGES_CHECK = 0.2  # seconds between looks at the registry


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


def _target() -> argo_proxy.ArgoTarget | None:
    try:
        return argo_proxy.argo_target()
    except ArgodasfError as error:  # the server's own configuration is wrong
        raise tornado.web.HTTPError(503, str(error)) from None


def _http_status(error: ArgodasfError) -> int:
    """404 when Argo said the workflow does not exist, else 502 (the upstream failed)."""
    from hera.exceptions import NotFound

    # argo.explain raises `from None`, which hides but keeps the original in __context__
    return 404 if isinstance(error.__context__, NotFound) else 502


def _argo_info(target: argo_proxy.ArgoTarget | None) -> dict:
    if target is None:
        return {"configured": False}
    return {"configured": True, "namespace": target.namespace, "ui_url": target.ui_url}


class ClustersHandler(_Handler):
    @tornado.web.authenticated
    def get(self):
        self.answer({"clusters": kernels.clusters(registry.read_all())})


class DraftsHandler(_Handler):
    @tornado.web.authenticated
    def get(self):
        self.answer({"drafts": kernels.drafts(registry.read_all())})


class WorkflowsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self):
        target = _target()
        workflows = await self.from_argo(argo.list_workflows) if target else []
        self.answer({"argo": _argo_info(target), "workflows": workflows[:LIST_LIMIT]})


class WorkflowHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, name: str):
        self.answer(await self.from_argo(argo.status, name))


class WorkflowLogsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, name: str):
        tail = self.get_query_argument("tail", "200")
        if not re.fullmatch(r"[0-9]{1,6}", tail) or not 0 < int(tail) <= MAX_TAIL:
            raise tornado.web.HTTPError(400, f"tail must be a number of lines from 1 to {MAX_TAIL}")
        self.answer({"name": name, "logs": await self.from_argo(argo.logs, name, tail=int(tail))})


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
            stale = cls._listing is None or cls._listing.done() or cls._listing.get_loop() is not asyncio.get_running_loop()
            if stale:
                cls._listing = asyncio.ensure_future(self.from_argo(argo.list_workflows))
                # a failure after the wait is read here, so asyncio does not log it as unretrieved
                cls._listing.add_done_callback(lambda task: task.cancelled() or task.exception())
            try:
                cls._last = (await asyncio.wait_for(asyncio.shield(cls._listing), STATE_ARGO_WAIT))[:LIST_LIMIT]
            except asyncio.TimeoutError:
                body["argo"]["error"] = "the Argo Server has not answered yet; showing the last list"
            except tornado.web.HTTPError as error:  # the sidebar still shows the clusters
                body["argo"]["error"] = error.log_message
            body["workflows"] = cls._last
        self.answer(body)


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
    api = url_path_join(base_url, "argodasf", "api")
    return [
        (url_path_join(api, "clusters"), ClustersHandler),
        (url_path_join(api, "drafts"), DraftsHandler),
        (url_path_join(api, "workflows"), WorkflowsHandler),
        (url_path_join(api, "workflows", f"({argo.WORKFLOW_NAME})"), WorkflowHandler),
        (url_path_join(api, "workflows", f"({argo.WORKFLOW_NAME})", "logs"), WorkflowLogsHandler),
        (url_path_join(api, "state"), StateHandler),
        (url_path_join(api, "changes"), ChangesHandler),
    ]
