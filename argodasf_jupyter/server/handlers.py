"""Thin authenticated tornado handlers under ``/argodasf/api/``.

    GET clusters                 clusters the kernels of this server published
    GET drafts                   the workflow draft of each kernel
    GET workflows                workflows on the configured Argo Server
    GET workflows/<name>         one workflow with the phase of each step
    GET workflows/<name>/logs    the last log lines of its pods
    GET state                    all of the above in one answer: the sidebar's refresh
"""

from __future__ import annotations

import asyncio
import json

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from .. import registry
from . import argo_proxy, kernels

# a Kubernetes object name; checked so a request can only pick a workflow, not a path
WORKFLOW_NAME = r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?"


class _Handler(APIHandler):
    def answer(self, body: dict) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def fail(self, error: argo_proxy.ArgoError) -> None:
        self.set_status(error.status)
        self.answer({"message": str(error)})

    def target(self) -> argo_proxy.ArgoTarget:
        target = argo_proxy.argo_target()
        if target is None:
            raise tornado.web.HTTPError(503, "no Argo Server is configured (ARGO_SERVER or argodasf.argo.server)")
        return target


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
        target = argo_proxy.argo_target()
        body = {"argo": _argo_info(target), "workflows": []}
        if target is not None:
            try:
                body["workflows"] = await asyncio.to_thread(argo_proxy.list_workflows, target)
            except argo_proxy.ArgoError as error:
                return self.fail(error)
        self.answer(body)


class WorkflowHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, name: str):
        try:
            self.answer(await asyncio.to_thread(argo_proxy.get_workflow, self.target(), name))
        except argo_proxy.ArgoError as error:
            self.fail(error)


class WorkflowLogsHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, name: str):
        tail_lines = self.get_query_argument("tail_lines", "200")
        if not tail_lines.isdigit():
            raise tornado.web.HTTPError(400, "tail_lines must be a number")
        try:
            logs = await asyncio.to_thread(argo_proxy.workflow_logs, self.target(), name, int(tail_lines))
        except argo_proxy.ArgoError as error:
            return self.fail(error)
        self.answer({"name": name, "logs": logs})


class StateHandler(_Handler):
    """Everything the sidebar shows, so one refresh costs one request."""

    @tornado.web.authenticated
    async def get(self):
        records = registry.read_all()
        target = argo_proxy.argo_target()
        body = {
            "clusters": kernels.clusters(records),
            "drafts": kernels.drafts(records),
            "argo": _argo_info(target),
            "workflows": [],
        }
        if target is not None:
            try:
                body["workflows"] = await asyncio.to_thread(argo_proxy.list_workflows, target)
            except argo_proxy.ArgoError as error:
                body["argo"]["error"] = str(error)
        self.answer(body)


def route_table(base_url: str) -> list[tuple]:
    api = url_path_join(base_url, "argodasf", "api")
    return [
        (url_path_join(api, "clusters"), ClustersHandler),
        (url_path_join(api, "drafts"), DraftsHandler),
        (url_path_join(api, "workflows"), WorkflowsHandler),
        (url_path_join(api, "workflows", f"({WORKFLOW_NAME})"), WorkflowHandler),
        (url_path_join(api, "workflows", f"({WORKFLOW_NAME})", "logs"), WorkflowLogsHandler),
        (url_path_join(api, "state"), StateHandler),
    ]
