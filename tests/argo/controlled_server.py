"""The strict fake Argo Server with workflows that really run: submitted workflows
are stored as Workflow objects on the fake Kubernetes API, where the controller
(./controller) runs them, and the server answers Argo's API from those objects.

Routes (Argo Server's paths and shapes): create, list (labelSelector), get, delete,
PUT stop / terminate / retry / resubmit, log (one JSON line per log line of each pod
node), the workflow-events watch stream, and create/list of cron-workflows and
workflow-templates (validated strictly and kept; nothing schedules them here).
"""

from __future__ import annotations

import json
import time
from contextlib import suppress
from urllib.parse import parse_qs, urlparse

from kube.fakekube import errors
from kube.fakekube.resources import PODS
from kube.fakekube.selectors import matcher

from .controller import WorkflowController
from .controller.operator import FINAL
from .controller.names import pod_name
from .controller.scope import unresolved_tags
from .fake_server import StrictFakeArgo
from .schemas import validate_published

NODE_FIELDS = ("displayName", "templateName", "phase", "name", "id")


def node_selector(text: str):
    """Argo's node field selector (Kubernetes field selector syntax: terms joined by
    ',' must all hold; ``=``/``==`` and ``!=``) over a node's fields."""
    terms = []
    for term in text.split(","):
        key, operator, value = next((term.partition(op) for op in ("!=", "==", "=") if op in term), (term, "", ""))
        if not operator or key.strip() not in NODE_FIELDS:
            raise errors.bad_request(f"invalid nodeFieldSelector term '{term}'")
        terms.append((key.strip(), operator != "!=", value.strip()))
    return lambda node: all((str(node.get(key, "")) == value) == equal for key, equal, value in terms)


WATCH_SECONDS = 600  # a watch stream ends by itself after this
# route -> (kind, the request body's field)
PUBLISHED = {"cron-workflows": ("CronWorkflow", "cronWorkflow"), "workflow-templates": ("WorkflowTemplate", "template")}


class ControlledFakeArgo(StrictFakeArgo):
    def __init__(self, token: str, fake_kubernetes, engine):
        super().__init__(token)
        self.kube = fake_kubernetes
        self.controller = WorkflowController(fake_kubernetes, engine)
        self.published: dict[tuple[str, str, str], dict] = {}  # (kind, namespace, name) -> object

    def start(self) -> "ControlledFakeArgo":
        self.controller.start()
        return super().start()

    def stop(self) -> None:
        super().stop()
        self.controller.stop()

    @property
    def resource(self):
        return self.controller.resource

    # -- the store the base class reads ------------------------------------------------

    @property
    def workflows(self) -> dict:
        items, _ = self.kube.store.list(self.resource)
        return {(item["metadata"]["namespace"], item["metadata"]["name"]): item for item in items}

    @workflows.setter
    def workflows(self, value) -> None:  # the base class starts with an empty dict
        pass

    def view(self, workflow: dict) -> dict:
        return workflow

    def add(self, workflow: dict, namespace: str, created: float | None = None) -> dict:
        from .schemas import validate_workflow

        validate_workflow(workflow)
        placeholder = {
            "metadata": {
                "name": "placeholder",
                "namespace": namespace,
                "uid": "placeholder",
                "creationTimestamp": "placeholder",
                **workflow.get("metadata", {}),
            },
            "spec": workflow["spec"],
        }
        from .controller.scope import global_values

        problems = unresolved_tags(workflow, global_values(placeholder))
        if problems:
            raise ValueError(problems[0])
        workflow = {**workflow, "metadata": {**workflow.get("metadata", {}), "namespace": namespace}}
        workflow.pop("status", None)
        return self.kube.store.create(self.resource, namespace, workflow)

    # -- routes the base class lacks -----------------------------------------------------

    def logs(self, workflow: dict, query: dict) -> list[str]:
        wanted = query.get("podName", [None])[0]
        tail = int(query.get("logOptions.tailLines", ["0"])[0] or 0)
        name, namespace = workflow["metadata"]["name"], workflow["metadata"]["namespace"]
        nodes = sorted(
            (node for node in (workflow.get("status") or {}).get("nodes", {}).values() if node["type"] == "Pod"),
            key=lambda node: node.get("startedAt", ""),
        )
        lines = []
        for node in nodes:
            pod = pod_name(name, node["name"], node.get("templateName", ""))
            if wanted and pod != wanted:
                continue
            text = self.controller.logs(namespace, pod, workflow["metadata"]["uid"]).splitlines()
            for line in text[-tail:] if tail else text:
                lines.append(json.dumps({"result": {"content": line, "podName": pod}}))
        return lines

    def shut_down(self, namespace: str, name: str, strategy: str) -> dict:
        def change(current):
            return {**current, "spec": {**current["spec"], "shutdown": strategy}}

        return self.kube.store.update(self.resource, namespace, name, change)

    def retry(self, namespace: str, name: str, restart_successful: bool = False, node_field_selector: str = "") -> dict:
        """Argo's retry (FormulateRetryWorkflow): failed pod nodes, and with
        restartSuccessful the nodes the field selector matches, are dropped (their
        parents run again), and their pods are deleted so they can be created again."""
        current = self.kube.store.get(self.resource, namespace, name)
        selected = node_selector(node_field_selector) if restart_successful and node_field_selector else None

        def reset(node):
            return (node["type"] in ("Pod", "Retry") and node["phase"] in ("Failed", "Error")) or (
                selected is not None and selected(node)
            )

        failed_run = (current.get("status") or {}).get("phase") in ("Failed", "Error")
        for node in ((current.get("status") or {}).get("nodes") or {}).values() if failed_run else ():
            if node["type"] == "Pod" and reset(node):
                with suppress(errors.ApiError):
                    self.kube.store.delete(PODS, namespace, pod_name(name, node["name"], node.get("templateName")))

        def change(current):
            status = current.get("status") or {}
            if status.get("phase") not in ("Failed", "Error"):
                raise errors.bad_request("workflow must be Failed/Error to retry")
            nodes = status.get("nodes", {})
            dropped = {key for key, node in nodes.items() if reset(node)}
            kept = {}
            for key, node in nodes.items():
                if key in dropped:
                    continue
                node = {**node, "children": [child for child in node.get("children", []) if child not in dropped]}
                if node["type"] == "DAG" and node["phase"] in ("Failed", "Error"):
                    node = {k: v for k, v in node.items() if k not in ("finishedAt", "message")} | {"phase": "Running"}
                kept[key] = node
            rest = {k: v for k, v in status.items() if k not in ("finishedAt", "message")}
            spec = {k: v for k, v in current["spec"].items() if k != "shutdown"}
            return {**current, "spec": spec, "status": {**rest, "phase": "Running", "nodes": kept}}

        return self.kube.store.update(self.resource, namespace, name, change)

    def resubmit(self, namespace: str, name: str) -> dict:
        """Argo's resubmit: a new workflow, named after the old one, with its spec."""
        old = self.workflows.get((namespace, name))
        if old is None:
            raise errors.not_found(self.resource, name)
        metadata = {"generateName": f"{name}-", "labels": dict(old["metadata"].get("labels") or {})}
        spec = {key: value for key, value in old["spec"].items() if key != "shutdown"}
        return self.add(
            {"apiVersion": old["apiVersion"], "kind": "Workflow", "metadata": metadata, "spec": spec}, namespace
        )

    def publish(self, kind: str, document: dict, namespace: str) -> dict:
        """Keep a CronWorkflow or WorkflowTemplate after validating it as Argo would."""
        validate_published(document)
        metadata = document["metadata"]
        if (kind, namespace, metadata["name"]) in self.published:
            raise errors.ApiError(409, "AlreadyExists", f'{kind} "{metadata["name"]}" already exists', {})
        stored = {**document, "metadata": {**metadata, "namespace": namespace, "uid": f"uid-{len(self.published)}"}}
        self.published[(kind, namespace, metadata["name"])] = stored
        return stored

    def _handler_class(self):
        fake = self
        base = super()._handler_class()

        class Handler(base):
            def _route(self, method: str):
                url = urlparse(self.path)
                parts = url.path.strip("/").split("/")
                query = parse_qs(url.query)
                if self.headers.get("Authorization") != f"Bearer {fake.token}" or fake.fault or fake.delay:
                    return super()._route(method)
                if method == "GET" and parts[:3] == ["api", "v1", "workflow-events"] and len(parts) == 4:
                    fake.requests.append(
                        {
                            "method": method,
                            "path": url.path,
                            "query": query,
                            "authorization": self.headers.get("Authorization"),
                        }
                    )
                    return self._watch(parts[3], query)
                if parts[:2] == ["api", "v1"] and len(parts) == 4 and parts[2] in PUBLISHED:
                    return self._published(method, parts[2], parts[3])
                if parts[:3] != ["api", "v1", "workflows"] or len(parts) < 4:
                    return super()._route(method)
                namespace, rest = parts[3], parts[4:]
                if method == "GET" and not rest:
                    fake.requests.append(
                        {
                            "method": method,
                            "path": url.path,
                            "query": query,
                            "authorization": self.headers.get("Authorization"),
                        }
                    )
                    selector = query.get("listOptions.labelSelector", [None])[0]
                    items, _ = fake.kube.store.list(fake.resource, namespace, matcher(selector))
                    return self._send(200, {"metadata": {}, "items": items or None})
                if method in ("DELETE", "PUT") and rest:
                    fake.requests.append(
                        {
                            "method": method,
                            "path": url.path,
                            "query": query,
                            "authorization": self.headers.get("Authorization"),
                        }
                    )
                    try:
                        return self._act(method, namespace, rest)
                    except errors.ApiError as error:
                        code = {404: 5, 400: 3, 409: 6}.get(error.code, 2)
                        return self._send(error.code, {"code": code, "message": error.status()["message"]})
                if method == "GET" and rest[1:] == ["log"]:
                    fake.requests.append(
                        {
                            "method": method,
                            "path": url.path,
                            "query": query,
                            "authorization": self.headers.get("Authorization"),
                        }
                    )
                    workflow = fake.workflows.get((namespace, rest[0]))
                    if workflow is None:
                        return self._send(404, {"code": 5, "message": f'workflows.argoproj.io "{rest[0]}" not found'})
                    return self._send(200, "".join(line + "\n" for line in fake.logs(workflow, query)))
                return super()._route(method)

            def _act(self, method, namespace, rest):
                name = rest[0]
                if method == "DELETE" and not rest[1:]:
                    fake.kube.store.delete(fake.resource, namespace, name)
                    return self._send(200, {})
                if method == "PUT" and rest[1:] in (["stop"], ["terminate"]):
                    strategy = "Stop" if rest[1] == "stop" else "Terminate"
                    return self._send(200, fake.shut_down(namespace, name, strategy))
                if method == "PUT" and rest[1:] == ["retry"]:
                    request = self._json_body()
                    return self._send(
                        200,
                        fake.retry(
                            namespace,
                            name,
                            bool(request.get("restartSuccessful")),
                            request.get("nodeFieldSelector") or "",
                        ),
                    )
                if method == "PUT" and rest[1:] == ["resubmit"]:
                    return self._send(200, fake.resubmit(namespace, name))
                return self._send(404, {"code": 5, "message": "not found"})

            def _watch(self, namespace, query):
                fields = query.get("listOptions.fieldSelector", [None])[0]
                match = matcher(query.get("listOptions.labelSelector", [None])[0], fields)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")
                self.end_headers()
                store, since = fake.kube.store, fake.kube.store.resource_version
                items, _ = store.list(fake.resource, namespace, match)
                end = time.monotonic() + WATCH_SECONDS
                try:
                    for item in items:
                        self._event("ADDED", item)
                    while time.monotonic() < end and not store.closed:
                        for event in store.events_after(since, 0.5):
                            since = event.resource_version
                            if (
                                event.resource == fake.resource.qualified
                                and event.namespace == namespace
                                and match(event.object)
                            ):
                                self._event(event.type, event.object)
                                if event.type == "DELETED" or (
                                    fields and (event.object.get("status") or {}).get("phase") in FINAL
                                ):
                                    return
                except (BrokenPipeError, ConnectionResetError, errors.Gone):
                    return

            def _event(self, kind, workflow):
                self.wfile.write((json.dumps({"result": {"type": kind, "object": workflow}}) + "\n").encode())
                self.wfile.flush()

            def _json_body(self) -> dict:
                length = int(self.headers.get("Content-Length", 0))
                return json.loads(self.rfile.read(length)) if length else {}

            def _published(self, method, route, namespace):
                kind, field = PUBLISHED[route]
                fake.requests.append(
                    {
                        "method": method,
                        "path": self.path,
                        "query": {},
                        "authorization": self.headers.get("Authorization"),
                    }
                )
                if method == "GET":
                    items = [item for (k, ns, _), item in fake.published.items() if k == kind and ns == namespace]
                    return self._send(200, {"metadata": {}, "items": items or None})
                if method != "POST":
                    return self._send(405, {"code": 12, "message": "method not allowed"})
                try:
                    return self._send(200, fake.publish(kind, self._json_body()[field], namespace))
                except errors.ApiError as error:
                    return self._send(error.code, {"code": 6, "message": error.status()["message"]})
                except Exception as error:  # a validation error, as Argo's 400
                    return self._send(400, {"code": 3, "message": str(error)})

            def do_DELETE(self):
                self._route("DELETE")

            def do_PUT(self):
                self._route("PUT")

        return Handler
