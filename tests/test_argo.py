"""Submission to a fake Argo Server that validates strictly; status, logs, faults."""

from __future__ import annotations

import json
import socket

import pytest

from argodasf_jupyter import argo, promote, workflow
from argodasf_jupyter.draft import Draft
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.spec import parse_spec
from argodasf_jupyter.workflow_widgets import StatusView
from argo.fake_server import StrictFakeArgo

TOKEN = "s3cr3t-token-value"


@pytest.fixture
def fake(monkeypatch):
    server = StrictFakeArgo(TOKEN, step_seconds=0.2).start()
    monkeypatch.setenv("ARGO_SERVER", server.address)
    monkeypatch.setenv("ARGO_SECURE", "false")
    monkeypatch.setenv("ARGO_TOKEN", TOKEN)
    monkeypatch.setenv("ARGO_NAMESPACE", "team")
    yield server
    server.stop()


@pytest.fixture
def draft(tmp_path):
    draft = Draft("seismic", str(tmp_path / "seismic.dasf-workflow.json"))
    shared = parse_spec({"volumes": [{"name": "shared", "claim": "seismic", "mount_path": "/shared"}]})
    draft.add(promote.make_step("stage", "echo staged\n", container="alpine:3", cluster=shared, outputs=["/shared/in"]))
    draft.add(
        promote.make_step(
            "envelope", "print(path)\n", values={"path": "/shared/in"}, inputs=["/shared/in"], cluster=shared, retries=1
        )
    )
    return draft


def test_submit_sends_a_valid_workflow_with_the_token_only_in_the_header(fake, draft):
    record = argo.submit(draft, {"path": "/shared/other"})
    assert record["namespace"] == "team" and record["name"].startswith("seismic-")
    assert record["url"] == f"http://{fake.address}/workflows/team/{record['name']}"
    stored = fake.workflows[("team", record["name"])]
    assert stored["spec"]["arguments"]["parameters"] == [{"name": "path", "value": "/shared/other"}]
    assert stored["metadata"]["namespace"] == "team"
    (post,) = [request for request in fake.requests if request["method"] == "POST"]
    assert post["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN.encode() not in fake.bodies[0]
    assert TOKEN not in json.dumps(record)


def test_status_view_follows_the_phases_until_the_workflow_ends(fake, draft):
    name = argo.submit(draft)["name"]
    seen = []
    view = StatusView(name=name)
    shown = view.update

    def update(summary):
        seen.append((summary["phase"], tuple((step["name"], step["phase"]) for step in summary["steps"])))
        shown(summary)

    view.update = update
    view.follow(interval=0.05).join(timeout=30)
    assert view.finished and view.summary["phase"] == "Succeeded"
    assert {step["name"]: step["phase"] for step in view.summary["steps"]} == {
        "stage": "Succeeded",
        "envelope": "Succeeded",
    }
    phases = [phase for phase, _ in seen]
    assert "Running" in phases and phases[-1] == "Succeeded"
    assert ("Running", (("stage", "Running"),)) in seen  # envelope waits for stage
    assert "Succeeded" in view.fallback_text() and name in view.fallback_html()


def test_watch_list_and_logs(fake, draft):
    name = argo.submit(draft)["name"]
    updates = []
    final = argo.watch(name, updates.append, interval=0.05, timeout=30)
    assert final["phase"] == "Succeeded" and len(updates) >= 2
    listed = argo.list_workflows("seismic")
    assert [item["name"] for item in listed] == [name]
    (get_list,) = [
        request
        for request in fake.requests
        if request["path"] == "/api/v1/workflows/team" and request["method"] == "GET"
    ]
    assert get_list["query"]["listOptions.labelSelector"] == ["argodasf.io/draft=seismic"]
    assert "stage: Succeeded" in argo.logs(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "fault, expected",
    [
        (401, "rejected the credentials (401); set ARGO_TOKEN"),
        (403, "not allowed in namespace 'team' (403)"),
        (409, "already exists in 'team' (409)"),
        (500, "failed: Server returned status code 500"),
        (503, "failed: Server returned status code 503"),
        ("down", "cannot reach the Argo Server at http://127.0.0.1:"),
        ("timeout", "did not answer within 0.3 s"),
        ("bad token", "rejected the credentials (401)"),
    ],
)
def test_every_fault_is_one_line_without_the_token_and_keeps_the_draft(fake, draft, monkeypatch, fault, expected):
    before = open(draft.path, "rb").read()
    if fault == "down":
        monkeypatch.setenv("ARGO_SERVER", f"127.0.0.1:{_free_port()}")
    elif fault == "timeout":
        monkeypatch.setattr(argo, "timeout", lambda: 0.3)
        fake.delay = 1.0
    elif fault == "bad token":
        monkeypatch.setenv("ARGO_TOKEN", "wrong-" + TOKEN)
    else:
        fake.fault = fault
    with pytest.raises(ArgodasfError) as caught:
        argo.submit(draft)
    message = str(caught.value)
    assert expected in message
    assert message.startswith("submitting workflow 'seismic': ")
    assert "\n" not in message and TOKEN not in message
    assert open(draft.path, "rb").read() == before
    assert fake.workflows == {}


def test_the_token_is_scrubbed_even_when_a_server_echoes_it(fake, draft, monkeypatch):
    monkeypatch.setattr(fake, "fault", 500)
    original = fake._handler_class

    def echoing():
        handler = original()

        class Echo(handler):
            def _send(self, status, body):
                return super()._send(status, {"message": f"bad header {self.headers.get('Authorization')}"})

        return Echo

    fake._server.RequestHandlerClass = echoing()
    with pytest.raises(ArgodasfError) as caught:
        argo.status("anything")
    assert "<token>" in str(caught.value) and TOKEN not in str(caught.value)


def test_no_server_configured_is_a_clear_error(draft, monkeypatch):
    monkeypatch.delenv("ARGO_SERVER", raising=False)
    with pytest.raises(ArgodasfError, match="no Argo Server is configured; set ARGO_SERVER"):
        argo.submit(draft)


def test_status_of_an_unknown_workflow(fake):
    with pytest.raises(ArgodasfError, match="reading workflow 'nope': not found in namespace 'team' \\(404\\)"):
        argo.status("nope")


def test_exports_never_contain_the_token(fake, draft, tmp_path):
    for name in ("wf.yaml", "wf.py"):
        path = workflow.export(draft, str(tmp_path / name))
        assert TOKEN not in open(path).read()
