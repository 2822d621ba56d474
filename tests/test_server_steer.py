"""Following and steering a run through the server extension (real Jupyter server):
one step's logs, stop / terminate / retry / resubmit, and failed steps' tracebacks.

The fast tests use the plain fake Argo Server and unreachable servers; the kube test
runs a real DASF step that fails, through the fake Argo Server's controller on the
fake Kubernetes API with the real Dask operator.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from tornado.httpclient import HTTPClientError

from argodasf_jupyter.server.handlers import MAX_TAIL
from fake_argo_server import FakeArgo, dag_workflow

pytest_plugins = ["pytest_jupyter.jupyter_server"]

TOKEN = "argo-secret-token-for-steering"
DASK_JOB = "apiVersion: kubernetes.dask.org/v1\nkind: DaskJob\nmetadata:\n  name: x\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"argodasf_jupyter": True}}}


def use_argo(monkeypatch, address: str) -> None:
    for name, value in (
        ("ARGO_SERVER", address),
        ("ARGO_SECURE", "false"),
        ("ARGO_NAMESPACE", "team"),
        ("ARGO_TOKEN", TOKEN),
    ):
        monkeypatch.setenv(name, value)


@pytest.fixture
def fake_argo(monkeypatch):
    fake = FakeArgo(TOKEN, step_seconds=0.2).start()
    use_argo(monkeypatch, fake.address)
    yield fake
    fake.stop()


@pytest.fixture
def unreachable_kubernetes(tmp_path, monkeypatch):
    """A kubeconfig whose API server port nobody listens on."""
    path = tmp_path / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "gone",
                "clusters": [{"name": "gone", "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "me", "namespace": "team"}}],
                "users": [{"name": "me", "user": {"token": "kube-secret-token"}}],
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(path))


def dasf_workflow(name: str, failing: bool = False) -> dict:
    """A workflow whose one task ('fail-qc' when failing, else 'qc') creates a DaskJob."""
    document = dag_workflow(name, {"fail-qc" if failing else "qc": []})
    document["spec"]["templates"][1] = {"name": "step", "resource": {"action": "create", "manifest": DASK_JOB}}
    return document


async def call(jp_fetch, route: str, method: str = "GET", **params):
    body = b"" if method == "POST" else None
    response = await jp_fetch("argodasf", "api", *route.split("/"), method=method, body=body, params=params)
    text = response.body.decode()
    assert TOKEN not in text and "kube-secret-token" not in text
    return json.loads(text)


async def refused(jp_fetch, route: str, method: str = "GET", **params) -> tuple[int, str]:
    """The status and one-line message of a refused request."""
    with pytest.raises(HTTPClientError) as raised:
        await call(jp_fetch, route, method, **params)
    text = raised.value.response.body.decode()
    assert TOKEN not in text and "Traceback" not in text
    message = json.loads(text)["message"]
    assert "\n" not in message
    return raised.value.code, message


async def test_step_logs_check_step_component_and_tail(jp_fetch, fake_argo):
    fake_argo.add(dag_workflow("etl", {"load": [], "train": ["load"]}), "team", created=time.time() - 60)
    route = "workflows/etl/steps/load/logs"
    assert await refused(jp_fetch, route, component="driver") == (
        400,
        "component must be one of: runner, scheduler, worker",
    )
    for tail in ("0", str(MAX_TAIL + 1), "ten", "-5"):
        assert await refused(jp_fetch, route, tail=tail) == (
            400,
            f"tail must be a number of lines from 1 to {MAX_TAIL}",
        )
    assert await refused(jp_fetch, "workflows/etl/steps/deploy/logs") == (
        404,
        "workflow 'etl' has no step 'deploy'; its steps: load, train",
    )
    code, message = await refused(jp_fetch, route, component="worker")
    assert code == 400 and "container step" in message

    container = await call(jp_fetch, route, tail="5")
    assert (container["kind"], container["phase"], container["component"]) == ("container", "Succeeded", None)
    log_request = fake_argo.requests[-1]
    assert log_request["path"].endswith("/workflows/team/etl/log")
    assert log_request["query"]["logOptions.tailLines"] == ["5"]


async def test_argo_down_or_failing_is_one_line(jp_fetch, monkeypatch):
    use_argo(monkeypatch, f"127.0.0.1:{free_port()}")
    code, message = await refused(jp_fetch, "workflows/etl/steps/load/logs")
    assert code == 502 and message.startswith("reading workflow 'etl': cannot reach the Argo Server")
    code, message = await refused(jp_fetch, "workflows/etl/retry", method="POST")
    assert code == 502 and "cannot reach the Argo Server" in message

    with failing_server() as address:
        use_argo(monkeypatch, address)
        for route, method in (("workflows/etl/steps/load/logs", "GET"), ("workflows/etl/stop", "POST")):
            code, message = await refused(jp_fetch, route, method)
            assert code == 502 and "failed" in message and "etcdserver: request timed out" in message, message


async def test_dasf_step_logs_with_kubernetes_unreachable(jp_fetch, fake_argo, unreachable_kubernetes):
    fake_argo.add(dasf_workflow("seis"), "team", created=time.time() - 60)
    code, message = await refused(jp_fetch, "workflows/seis/steps/qc/logs", component="scheduler")
    assert code == 502 and message == "cannot reach the Kubernetes API server to read step logs; check KUBECONFIG"


async def test_a_failed_dasf_step_keeps_argos_message_when_its_log_cannot_be_read(
    jp_fetch, fake_argo, unreachable_kubernetes
):
    fake_argo.add(dasf_workflow("seis", failing=True), "team", created=time.time() - 60)
    (one,) = (await call(jp_fetch, "state"))["workflows"]
    assert [(step["name"], step["kind"], step["phase"]) for step in one["steps"]] == [("fail-qc", "dasf", "Failed")]
    before = len(fake_argo.requests)
    for _ in range(3):
        state = await call(jp_fetch, "state")
        assert state["workflows"][0]["steps"][0]["phase"] == "Failed"
    listings = [request for request in fake_argo.requests[before:] if request["path"] == "/api/v1/workflows/team"]
    assert len(fake_argo.requests) - before == len(listings) <= 3  # one listing per refresh, nothing per workflow


async def test_actions_need_a_token_and_a_known_verb(jp_fetch, fake_argo):
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch(
            "argodasf", "api", "workflows", "etl", "stop", method="POST", body=b"", headers={"Authorization": ""}
        )
    assert raised.value.code == 403
    dashboard = ("argodasf", "api", "workflows", "etl", "steps", "load", "dashboard")
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch(*dashboard, method="POST", body=b"", headers={"Authorization": ""})
    assert raised.value.code == 403
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch("argodasf", "api", "workflows", "etl", "delete", method="POST", body=b"")
    assert raised.value.code == 404
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch("argodasf", "api", "workflows", "etl", "stop")
    assert raised.value.code == 405
    assert not [request for request in fake_argo.requests if request["method"] != "GET"]


class _Failing(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _fail(self):
        body = json.dumps({"code": 2, "message": "etcdserver: request timed out"}).encode()
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = _fail


class failing_server:
    """An HTTP server that answers everything with an Argo-style 500."""

    def __enter__(self) -> str:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


# -- a real DASF step that fails, on the fake Kubernetes with the real operator -------

FAILING_STEP = """
import os
print("runner says: reading trace headers", flush=True)
if os.path.exists(hold):
    import time
    time.sleep(120)
raise ValueError("trace header 7 is corrupt")
"""


async def wait_for(jp_fetch, name: str, done, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while True:  # as the sidebar follows a run: through its refresh, state
        listed = [summary for summary in (await call(jp_fetch, "state"))["workflows"] if summary["name"] == name]
        summary = listed[0] if listed else {"name": name, "phase": "not listed"}
        if done(summary) or time.monotonic() > deadline:
            return summary
        await asyncio.sleep(0.5)


@pytest.mark.kube
@pytest.mark.timeout(400)
async def test_failed_dasf_step_logs_then_retry_stop_and_resubmit(jp_fetch, argo_templates, tmp_path, monkeypatch):
    import dask

    from argo.stack import argo_on_kubernetes
    from argodasf_jupyter import argo, promote
    from argodasf_jupyter.draft import Draft
    from argodasf_jupyter.spec import parse_spec

    monkeypatch.setattr(dask.config, "PATH", str(tmp_path / "home" / ".config" / "dask"))
    hold = tmp_path / "hold"
    with argo_on_kubernetes(tmp_path / "kube", argo_templates, token=TOKEN):
        draft = Draft("steer", str(tmp_path / "steer.dasf-workflow.json"))
        draft.add(promote.make_step("qc", FAILING_STEP, values={"hold": str(hold)}, cluster=parse_spec({"workers": 1})))
        name = await asyncio.to_thread(lambda: argo.submit(draft)["name"])
        failed = await wait_for(jp_fetch, name, lambda summary: summary["phase"] in ("Failed", "Error"))
        step = failed["steps"][0]
        assert (failed["phase"], step["kind"], step["phase"]) == ("Failed", "dasf", "Failed"), failed
        assert "ValueError: trace header 7 is corrupt" in step["message"], step["message"]
        state = await call(jp_fetch, "state")
        assert "ValueError: trace header 7 is corrupt" in state["workflows"][0]["steps"][0]["message"]

        logs = await call(jp_fetch, f"workflows/{name}/steps/qc/logs", tail="50")
        assert (logs["kind"], logs["component"], logs["phase"]) == ("dasf", "runner", "Failed")
        assert "runner says: reading trace headers" in logs["logs"] and "Traceback" in logs["logs"]
        code, message = await refused(jp_fetch, f"workflows/{name}/steps/qc/logs", component="scheduler")
        assert code == 404 and "no scheduler pod" in message  # the operator removed the finished cluster

        hold.write_text("keep the retried step running")
        retried = await call(jp_fetch, f"workflows/{name}/retry", "POST")
        assert retried["name"] == name and retried["phase"] == "Running"
        running = await wait_for(
            jp_fetch, name, lambda summary: summary["steps"] and summary["steps"][0]["phase"] == "Running"
        )
        assert running["phase"] == "Running"
        code, message = await refused(jp_fetch, f"workflows/{name}/retry", "POST")
        assert code == 409 and "only a Failed or Error workflow can be retried" in message

        await call(jp_fetch, f"workflows/{name}/stop", "POST")
        stopped = await wait_for(jp_fetch, name, lambda summary: summary["phase"] in argo.FINAL_PHASES, timeout=120)
        assert stopped["phase"] in ("Failed", "Error") and "Stopped" in (stopped["message"] or ""), stopped

        hold.unlink()
        again = await call(jp_fetch, f"workflows/{name}/resubmit", "POST")
        assert again["name"] != name and again["name"].startswith(f"{name}-")
        assert (await wait_for(jp_fetch, again["name"], lambda s: s["phase"] in argo.FINAL_PHASES))["phase"] == "Failed"
