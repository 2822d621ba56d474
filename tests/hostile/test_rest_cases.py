"""Hostile input through the REST API of a real Jupyter server (pytest-jupyter):
malformed registry files, bad query values and names, faulty Argo Servers. Each
case: the exact answer, never an HTTP 500, a bound on time, the token never in a
body, a header or the server's log."""

from __future__ import annotations

import json
import os
import time

import dask
import pytest
from tornado.httpclient import HTTPClientError

from argodasf_jupyter import registry
from argodasf_jupyter.server import handlers
from hostile.conftest import Outcome, files_holding
from hostile.faulty import ANSWER_TIMEOUT, FAULTS, TOKEN, FaultyServer, client_timeouts, hang_bound

pytest_plugins = ["pytest_jupyter.jupyter_server"]

PID = os.getpid()  # alive: a bad file of a live process must be skipped for its shape, not its pid
BAD_RECORDS = {
    "list": b"[]",
    "null": b"null",
    "string": b'"kernel"',
    "empty": b"",
    "not-json": b"{pid: 1",
    "binary": b"\xff\xfe\x00garbage",
    "pid-text": b'{"pid": "abc"}',
    "pid-huge": json.dumps({"pid": 10**30}).encode(),
    "pid-negative": b'{"pid": -1}',
    "pid-zero": b'{"pid": 0}',
    "pid-float": b'{"pid": 1.5}',
    "pid-missing": b'{"clusters": []}',
    "clusters-text": json.dumps({"pid": PID, "clusters": "x"}).encode(),
    "clusters-numbers": json.dumps({"pid": PID, "clusters": [1, 2]}).encode(),
    "draft-number": json.dumps({"pid": PID, "draft": 5}).encode(),
    "draft-list": json.dumps({"pid": PID, "draft": [1]}).encode(),
    "submitted-map": json.dumps({"pid": PID, "submitted": {"a": 1}}).encode(),
}
GOOD_CLUSTER = {"name": "dasf", "backend": "local", "status": "running", "workers": 1}
EXPECTED_STATE = {
    "clusters": [{**GOOD_CLUSTER, "kernel_id": None, "pid": PID}],
    "drafts": [],
    "argo": {"configured": False},
    "workflows": [],
}

TAIL = "tail must be a number of lines from 1 to 100000"
QUERY_CASES = [
    ("tail-superscript", "²"),
    ("tail-devanagari", "५"),
    ("tail-text", "abc"),
    ("tail-negative", "-1"),
    ("tail-zero", "0"),
    ("tail-huge", "99999999"),
    ("tail-float", "1e3"),
    ("tail-two-numbers", "5 5"),
]
NAME_CASES = ["Bad_Name", "..", "%2E%2E", "-etl", "etl%2F..%2Fversion", "etl%00", "a" * 300]

STEP_LOGS = "workflows/wf-abc/steps/s/logs"
ARGO_DOING = {STEP_LOGS: "reading workflow 'wf-abc'", "state": "listing workflows"}
FAULT_TEXT = {
    "hang": "the Argo Server at {argo} did not answer within 1 s; try again later, or raise argodasf.argo.timeout",
    "slow": "the Argo Server at {argo} did not answer within 1 s; try again later, or raise argodasf.argo.timeout",
    "close": "cannot reach the Argo Server at {argo}; check ARGO_SERVER and that the server runs",
    "401": "the Argo Server at {argo} rejected the credentials (401); set ARGO_TOKEN to a valid token",
    "403": "not allowed in namespace 'team' (403); the token's service account needs access to workflows there",
    "409": "a workflow of that name already exists in 'team' (409); submit again for a new name",
    "500": "the Argo Server at {argo} failed: Server returned status code 500 with message: `denied for Bearer <token>`",
    "nonjson": "the Argo Server at {argo} gave an answer that is not Argo's (JSONDecodeError); check ARGO_SERVER and ARGO_BASE_HREF",
    "ndjson-bad": "the Argo Server at {argo} gave an answer that is not Argo's (JSONDecodeError); check ARGO_SERVER and ARGO_BASE_HREF",
    "list": "the Argo Server at {argo} gave an answer that is not Argo's (TypeError); check ARGO_SERVER and ARGO_BASE_HREF",
    "wrongshape": "the Argo Server at {argo} gave an answer that is not Argo's (ValidationError); check ARGO_SERVER and ARGO_BASE_HREF",
}
ARGO_CASES = [(f"{route.replace('/', '-')}-{fault}", route, fault) for route in ARGO_DOING for fault in FAULTS]


def argo_expected(route: str, fault: str) -> tuple[int, str]:
    """(status, message): the message is the error's, or for /state its argo.error."""
    if route == "state":
        return 200, f"{ARGO_DOING[route]}: {FAULT_TEXT[fault]}"
    return 502, f"{ARGO_DOING[route]}: {FAULT_TEXT[fault]}"


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"argodasf_jupyter": True}}}


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch, tmp_path):
    for name in ("ARGO_SERVER", "ARGO_TOKEN", "ARGO_NAMESPACE", "ARGO_SECURE", "ARGO_BASE_HREF"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DASK_CONFIG", str(tmp_path / "dask"))
    with dask.config.set({"argodasf.argo.timeout": 1}):
        yield


async def fetch(jp_fetch, route: str, bound: float = 10.0, **params) -> Outcome:
    started = time.monotonic()
    try:
        response = await jp_fetch("argodasf", "api", *route.split("/"), params=params)
        status, body, headers = response.code, response.body.decode(), str(response.headers)
    except HTTPClientError as error:
        status = error.code
        body = error.response.body.decode(errors="replace") if error.response else ""
        headers = str(error.response.headers) if error.response else ""
    seconds = time.monotonic() - started
    try:
        message = json.loads(body).get("message") or ""
    except ValueError:
        message = body
    return Outcome(message, f"{body}\n{headers}", seconds, status=status, bound=bound), status, body


@pytest.fixture
def good_record():
    registry.publish([GOOD_CLUSTER])
    yield
    registry.withdraw()


@pytest.mark.parametrize("record", list(BAD_RECORDS))
async def test_malformed_registry_files_are_skipped(jp_fetch, good_record, record, caplog):
    path = os.path.join(registry.registry_dir(), "kernel-12345678.json")
    with open(path, "wb") as stream:
        stream.write(BAD_RECORDS[record])
    outcome, status, body = await fetch(jp_fetch, "state")
    outcome.message = json.dumps(json.loads(body)) if status == 200 else f"HTTP {status}"
    outcome.output += caplog.text
    outcome.check(json.dumps(EXPECTED_STATE))
    assert os.path.exists(path)  # not ours to delete: its process may be alive


@pytest.mark.parametrize("tail", [case[1] for case in QUERY_CASES], ids=[case[0] for case in QUERY_CASES])
async def test_bad_tail_is_400(jp_fetch, tail, caplog):
    outcome, status, _ = await fetch(jp_fetch, STEP_LOGS, tail=tail)
    outcome.output += caplog.text
    outcome.check(TAIL)
    assert status == 400


@pytest.mark.parametrize("name", NAME_CASES, ids=range(len(NAME_CASES)))
async def test_a_name_that_is_not_a_kubernetes_name_matches_no_route(jp_fetch, name):
    with FaultyServer("500") as server:
        os.environ["ARGO_SERVER"], os.environ["ARGO_SECURE"] = server.address, "false"
        try:
            outcome, status, _ = await fetch(jp_fetch, f"workflows/{name}/steps/s/logs")
        finally:
            del os.environ["ARGO_SERVER"], os.environ["ARGO_SECURE"]
        outcome.message = f"HTTP {status}"
        outcome.check("HTTP 404")
        assert server.requests == []


@pytest.mark.parametrize("route, fault", [case[1:] for case in ARGO_CASES], ids=[case[0] for case in ARGO_CASES])
async def test_faulty_argo(jp_fetch, monkeypatch, route, fault, caplog):
    # /state waits for the listing's own answer here: its short wait is the next test's case
    monkeypatch.setattr(handlers, "STATE_ARGO_WAIT", ANSWER_TIMEOUT + 30)
    with FaultyServer(fault, delay=5) as server, dask.config.set(client_timeouts(fault)):
        monkeypatch.setenv("ARGO_SERVER", server.address)
        monkeypatch.setenv("ARGO_SECURE", "false")
        monkeypatch.setenv("ARGO_NAMESPACE", "team")
        monkeypatch.setenv("ARGO_TOKEN", TOKEN)
        outcome, status, body = await fetch(jp_fetch, route, bound=hang_bound(fault, 4.0))
        if route == "state":
            outcome.message = json.loads(body)["argo"].get("error", "")
            assert "clusters" in json.loads(body)
        outcome.message = outcome.message.replace(f"http://{server.address}", "{argo}")
        outcome.output += caplog.text
        expected_status, expected = argo_expected(route, fault)
        outcome.check(expected)
        assert status == expected_status
        assert server.requests


async def test_state_answers_the_clusters_without_waiting_for_a_hanging_argo(jp_fetch, monkeypatch, good_record):
    with FaultyServer("hang") as server, dask.config.set({"argodasf.argo.timeout": 30}):
        monkeypatch.setenv("ARGO_SERVER", server.address)
        monkeypatch.setenv("ARGO_SECURE", "false")
        # well short of the Argo timeout: /state answered after its own short wait
        outcome, status, body = await fetch(jp_fetch, "state", bound=handlers.STATE_ARGO_WAIT + 8)
        answer = json.loads(body)
        outcome.message = answer["argo"]["error"]
        outcome.check("the Argo Server has not answered yet; showing the last list")
        assert status == 200 and answer["clusters"] == EXPECTED_STATE["clusters"]


def test_no_file_of_the_server_or_the_registry_holds_the_token(tmp_path):
    assert files_holding(TOKEN, os.environ["JUPYTER_RUNTIME_DIR"], tmp_path) == []
