"""A small fake Argo Server on 127.0.0.1 for the server-extension and browser tests.

It speaks the few routes the sidebar's proxy uses (list, get, log) and accepts
creates, validating each submitted workflow with hera's Argo models. A workflow
runs on a clock: the DAG tasks of its entrypoint advance one dependency level every
``step_seconds``, so a poller sees Pending -> Running -> Succeeded. A task whose name
starts with ``fail`` ends Failed, and the workflow with it.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _levels(tasks: list[dict]) -> dict[str, int]:
    """Dependency level of each DAG task (0 for tasks that depend on nothing)."""
    after = {task["name"]: task.get("dependencies") or [] for task in tasks}
    levels: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in levels:
            levels[name] = 1 + max((level(parent) for parent in after[name]), default=-1)
        return levels[name]

    for name in after:
        level(name)
    return levels


class FakeArgo:
    def __init__(self, token: str, step_seconds: float = 2.0):
        self.token = token
        self.step_seconds = step_seconds
        self.workflows: dict[tuple[str, str], dict] = {}
        self.requests: list[dict] = []  # method, path, authorization of every request
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> "FakeArgo":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, workflow: dict, namespace: str, created: float | None = None) -> dict:
        """Store a workflow manifest as if it had been submitted at ``created``."""
        from hera.workflows.models import Workflow

        Workflow.model_validate(workflow)  # reject what a real server would reject
        metadata = workflow.setdefault("metadata", {})
        if "name" not in metadata:
            metadata["name"] = metadata.get("generateName", "workflow-") + f"{len(self.workflows):05d}"
        metadata["namespace"] = namespace
        metadata["uid"] = f"uid-{len(self.workflows)}"
        metadata["creationTimestamp"] = _iso(created or time.time())
        workflow["_created"] = created or time.time()
        self.workflows[(namespace, metadata["name"])] = workflow
        return self.view(workflow)

    def _tasks(self, workflow: dict) -> list[dict]:
        spec = workflow.get("spec", {})
        for template in spec.get("templates", []):
            if template.get("name") == spec.get("entrypoint") and template.get("dag"):
                return template["dag"]["tasks"]
        return []

    def view(self, workflow: dict) -> dict:
        """The workflow with the status the clock gives it now."""
        created = workflow["_created"]
        elapsed = time.time() - created
        tasks = self._tasks(workflow)
        levels = _levels(tasks)
        name = workflow["metadata"]["name"]
        nodes, failed, done = {}, False, 0
        for task in tasks:
            start = created + self.step_seconds * (levels[task["name"]] + 0.5)
            if elapsed < start - created:
                continue
            end = start + self.step_seconds
            finished = time.time() >= end
            phase = "Running"
            if finished:
                phase = "Failed" if task["name"].startswith("fail") else "Succeeded"
                failed |= phase == "Failed"
                done += 1
            node_id = f"{name}-{abs(hash(task['name'])) % 10**10}"
            nodes[node_id] = {
                "id": node_id,
                "name": f"{name}.{task['name']}",
                "displayName": task["name"],
                "type": "Pod",
                "phase": phase,
                "templateName": task.get("template"),
                "startedAt": _iso(start),
                "finishedAt": _iso(end) if finished else None,
            }
        status: dict = {"phase": "Pending", "nodes": nodes}
        if elapsed >= self.step_seconds * 0.5:
            status.update(phase="Running", startedAt=_iso(created + self.step_seconds * 0.5))
        if tasks and (done == len(tasks) or failed):
            last = max(node["finishedAt"] for node in nodes.values() if node["finishedAt"])
            status.update(phase="Failed" if failed else "Succeeded", finishedAt=last)
        status["progress"] = f"{done}/{len(tasks)}"
        return {key: value for key, value in workflow.items() if not key.startswith("_")} | {"status": status}

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, body) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str):
                url = urlparse(self.path)
                fake.requests.append(
                    {
                        "method": method,
                        "path": url.path,
                        "query": parse_qs(url.query),
                        "authorization": self.headers.get("Authorization"),
                    }
                )
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._send(401, {"code": 16, "message": "token not valid"})
                parts = url.path.strip("/").split("/")
                if parts[:3] != ["api", "v1", "workflows"] or len(parts) < 4:
                    return self._send(404, {"code": 5, "message": "not found"})
                namespace, rest = parts[3], parts[4:]
                if method == "POST" and not rest:
                    length = int(self.headers.get("Content-Length", 0))
                    request = json.loads(self.rfile.read(length))
                    try:
                        return self._send(200, fake.add(request["workflow"], namespace))
                    except Exception as exc:  # a validation error, as Argo's 400
                        return self._send(400, {"code": 3, "message": str(exc)})
                if method != "GET":
                    return self._send(405, {"code": 12, "message": "method not allowed"})
                if not rest:
                    items = [fake.view(wf) for (ns, _), wf in fake.workflows.items() if ns == namespace]
                    return self._send(200, {"metadata": {}, "items": items or None})
                workflow = fake.workflows.get((namespace, rest[0]))
                if workflow is None:
                    return self._send(404, {"code": 5, "message": f'workflows.argoproj.io "{rest[0]}" not found'})
                if rest[1:] == ["log"]:
                    lines = [
                        json.dumps(
                            {"result": {"podName": node["name"], "content": f"{node['displayName']}: {node['phase']}"}}
                        )
                        for node in fake.view(workflow)["status"]["nodes"].values()
                    ]
                    return self._send(200, "\n".join(lines) + "\n")
                if not rest[1:]:
                    return self._send(200, fake.view(workflow))
                return self._send(404, {"code": 5, "message": "not found"})

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

        return Handler


def dag_workflow(name: str, tasks: dict[str, list[str]]) -> dict:
    """A minimal DAG workflow manifest: task name -> the tasks it runs after."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "dag": {
                        "tasks": [
                            {"name": task, "template": "step", **({"dependencies": after} if after else {})}
                            for task, after in tasks.items()
                        ]
                    },
                },
                {"name": "step", "container": {"image": "python:3.11", "command": ["true"]}},
            ],
        },
    }
