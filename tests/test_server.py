"""The server extension's REST API, in a real Jupyter server (pytest-jupyter)."""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest
from tornado.httpclient import HTTPClientError

from argodasf_jupyter import registry
from fake_argo_server import FakeArgo, dag_workflow

pytest_plugins = ["pytest_jupyter.jupyter_server"]

TOKEN = "argo-secret-token-for-tests"
ROUTES = ["state", "changes", "workflows/etl/steps/load/logs"]


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"argodasf_jupyter": True}}}


@pytest.fixture(autouse=True)
def no_argo(monkeypatch, tmp_path):
    for name in ("ARGO_SERVER", "ARGO_TOKEN", "ARGO_NAMESPACE", "ARGO_SECURE", "ARGO_BASE_HREF"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DASK_CONFIG", str(tmp_path / "dask"))


@pytest.fixture
def fake_argo(monkeypatch):
    fake = FakeArgo(TOKEN, step_seconds=0.5).start()
    monkeypatch.setenv("ARGO_SERVER", fake.address)
    monkeypatch.setenv("ARGO_SECURE", "false")
    monkeypatch.setenv("ARGO_NAMESPACE", "team")
    monkeypatch.setenv("ARGO_TOKEN", TOKEN)
    yield fake
    fake.stop()


async def get(jp_fetch, route, **params):
    response = await jp_fetch("argodasf", "api", *route.split("/"), params=params)
    text = response.body.decode()
    assert TOKEN not in text and TOKEN not in str(response.headers)
    return json.loads(text)


async def failure(jp_fetch, route) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch("argodasf", "api", *route.split("/"))
    body = raised.value.response.body.decode() if raised.value.response else ""
    assert TOKEN not in body
    return raised.value.code, body


@pytest.mark.parametrize("route", ROUTES)
async def test_every_route_refuses_a_request_without_a_token(jp_fetch, route):
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch("argodasf", "api", *route.split("/"), headers={"Authorization": ""})
    assert raised.value.code == 403


async def test_the_state_holds_the_clusters_and_drafts_of_live_kernels_in_the_registry(jp_fetch, tmp_path):
    cluster = {
        "name": "dasf",
        "backend": "local",
        "status": "running",
        "workers": 3,
        "dashboard_link": "http://127.0.0.1:8787/status",
    }
    draft = {"name": "seismic", "path": "work.ipynb", "steps": [{"name": "load", "kind": "dasf", "after": []}]}
    registry.publish([cluster], draft=draft)
    dead = os.path.join(registry.registry_dir(), "kernel-999999999.json")
    with open(dead, "w") as stream:
        json.dump({"version": 1, "pid": 999999999, "clusters": [{"name": "gone"}], "draft": None}, stream)

    state = await get(jp_fetch, "state")
    clusters, drafts = state["clusters"], state["drafts"]

    assert [(item["name"], item["workers"], item["pid"]) for item in clusters] == [("dasf", 3, os.getpid())]
    assert drafts == [{**draft, "kernel_id": None, "pid": os.getpid()}]
    assert not os.path.exists(dead)
    registry.withdraw()


async def test_without_an_argo_server_workflows_are_empty_and_details_unavailable(jp_fetch):
    body = await get(jp_fetch, "state")
    assert (body["argo"], body["workflows"]) == ({"configured": False}, [])
    code, _ = await failure(jp_fetch, "workflows/etl/steps/load/logs")
    assert code == 503


async def test_proxy_lists_workflows_with_their_steps_and_holds_the_token(jp_fetch, fake_argo):
    fake_argo.add(dag_workflow("etl", {"load": [], "train": ["load"]}), "team", created=time.time() - 60)

    state = await get(jp_fetch, "state")
    logs = await get(jp_fetch, "workflows/etl/steps/train/logs")

    assert state["argo"]["configured"] and state["argo"]["namespace"] == "team"
    assert [(item["name"], item["phase"]) for item in state["workflows"]] == [("etl", "Succeeded")]
    (one,) = state["workflows"]
    assert [(step["name"], step["phase"]) for step in one["steps"]] == [("load", "Succeeded"), ("train", "Succeeded")]
    assert one["ui_url"] == f"http://{fake_argo.address}/workflows/team/etl"
    assert (logs["step"], logs["kind"], logs["phase"]) == ("train", "container", "Succeeded")
    assert {request["authorization"] for request in fake_argo.requests} == {f"Bearer {TOKEN}"}


async def test_proxy_follows_a_running_workflow_through_its_phases(jp_fetch, fake_argo):
    fake_argo.add(dag_workflow("run", {"load": [], "train": ["load"]}), "team")
    seen = []
    for _ in range(40):
        phase = (await get(jp_fetch, "state"))["workflows"][0]["phase"]
        if not seen or seen[-1] != phase:
            seen.append(phase)
        if phase == "Succeeded":
            break
        time.sleep(0.1)
    assert seen[-2:] == ["Running", "Succeeded"]


async def test_a_failed_step_fails_the_workflow(jp_fetch, fake_argo):
    fake_argo.add(dag_workflow("bad", {"fail-load": []}), "team", created=time.time() - 60)
    (body,) = (await get(jp_fetch, "state"))["workflows"]
    assert body["phase"] == "Failed" and body["steps"][0]["phase"] == "Failed"


async def test_unknown_workflow_is_404(jp_fetch, fake_argo):
    code, body = await failure(jp_fetch, "workflows/missing/steps/load/logs")
    assert code == 404 and "not found" in body


@pytest.mark.parametrize("name", ["Bad_Name", "..", "etl%2F..%2F..%2Fother", "-etl"])
async def test_a_request_cannot_choose_where_the_proxy_connects(jp_fetch, fake_argo, name):
    code, _ = await failure(jp_fetch, f"workflows/{name}/steps/load/logs")
    assert code == 404
    assert fake_argo.requests == []


async def test_a_rejected_token_is_reported_without_showing_it(jp_fetch, fake_argo, monkeypatch):
    monkeypatch.setenv("ARGO_TOKEN", TOKEN + "-wrong")
    code, body = await failure(jp_fetch, "workflows/etl/steps/load/logs")
    assert code == 502 and "Argo Server" in body
    state = await get(jp_fetch, "state")
    assert "error" in state["argo"] and TOKEN + "-wrong" not in json.dumps(state)


async def test_the_state_fills_with_workflows_from_an_argo_server_slower_than_its_wait(
    jp_fetch, fake_argo, monkeypatch
):
    """Each listing takes longer than /state waits for it: the listing that ended after
    one request stopped waiting is what the next request shows."""
    from argodasf_jupyter.server import handlers

    fake_argo.add(dag_workflow("slow-etl", {"load": []}), "team")
    listing = handlers._listing_with_details

    def slow_listing(where):
        time.sleep(handlers.STATE_ARGO_WAIT + 1)
        return listing(where)

    monkeypatch.setattr(handlers, "_listing_with_details", slow_listing)
    shown = []
    for _ in range(4):
        state = await get(jp_fetch, "state")
        shown.append([workflow["name"] for workflow in state["workflows"]])
        await asyncio.sleep(1.5)  # the sidebar's next refresh; the listing in flight ends meanwhile
    assert ["slow-etl"] in shown, shown
    assert state["argo"]["error"] == "the Argo Server has not answered yet; showing the last list"
