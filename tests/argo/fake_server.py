"""A fake Argo Server that validates strictly and can be told to fail.

It extends the fake used by the server-extension tests (which keeps workflows
and moves their DAG tasks through phases on a clock) with the strict schema of
./schemas.py and with faults: an HTTP status to answer every request with, or a
delay longer than the client's timeout.
"""

from __future__ import annotations

import io
import time

from fake_argo_server import FakeArgo

from .schemas import validate_workflow


class StrictFakeArgo(FakeArgo):
    def __init__(self, token: str, step_seconds: float = 0.3):
        super().__init__(token, step_seconds)
        self.fault: int | None = None  # HTTP status answered to every request
        self.delay: float = 0.0  # seconds to wait before answering
        self.bodies: list[bytes] = []  # raw bodies of POST requests

    def add(self, workflow: dict, namespace: str, created: float | None = None) -> dict:
        validate_workflow(workflow)
        return super().add(workflow, namespace, created)

    def _handler_class(self):
        fake = self
        base = super()._handler_class()

        class Handler(base):
            def _route(self, method: str):
                if fake.delay:
                    time.sleep(fake.delay)
                if fake.fault is not None:
                    return self._send(fake.fault, {"code": 2, "message": f"injected fault {fake.fault}"})
                if method == "POST":
                    # keep a copy of the body for assertions, then hand it on
                    length = int(self.headers.get("Content-Length", 0))
                    body = self.rfile.read(length)
                    fake.bodies.append(body)
                    self.rfile = io.BytesIO(body)
                return super()._route(method)

        return Handler
