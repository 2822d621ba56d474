"""GET workflows/NAME/steps/STEP/report in a real Jupyter server: a DASF step's
performance report from the claim (or object store) its DaskJob names, with the
checks around it. The step writing its report on Kubernetes is test_report_on_argo.py."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from tornado.httpclient import HTTPClientError

from argodasf_jupyter import step_report
from fake_argo_server import FakeArgo, dag_workflow

pytest_plugins = ["pytest_jupyter.jupyter_server"]

TOKEN = "argo-secret-token-for-reports"
REPORT_HTML = "<!DOCTYPE html><html><title>Dask Performance Report</title><body>envelope_block</body></html>"


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"argodasf_jupyter": True}}}


@pytest.fixture
def fake_argo(monkeypatch, tmp_path):
    monkeypatch.setenv("DASK_CONFIG", str(tmp_path / "dask"))
    fake = FakeArgo(TOKEN, step_seconds=0.1).start()
    for name, value in (
        ("ARGO_SERVER", fake.address),
        ("ARGO_SECURE", "false"),
        ("ARGO_NAMESPACE", "team"),
        ("ARGO_TOKEN", TOKEN),
    ):
        monkeypatch.setenv(name, value)
    yield fake
    fake.stop()


@pytest.fixture
def claim_dir(tmp_path):
    """Where this server sees claim 'seismic-rwx' (the pods mount it at /data)."""
    import dask

    directory = tmp_path / "claim"
    (directory / "out").mkdir(parents=True)
    with dask.config.set({"argodasf.workflow.claim-dirs": [{"claim": "seismic-rwx", "directory": str(directory)}]}):
        yield directory


def report_workflow(name: str, reference) -> dict:
    """A workflow whose task 'envelope' creates a DaskJob naming ``reference`` as its
    report; its task 'stage' is a container step."""
    document = dag_workflow(name, {"envelope": [], "stage": []})
    document["spec"]["templates"][0]["dag"]["tasks"][1]["template"] = "plain"
    document["spec"]["templates"].append({**document["spec"]["templates"][1], "name": "plain"})
    metadata = {"name": "x"}
    if reference is not None:
        metadata["annotations"] = {step_report.ANNOTATION: json.dumps(reference)}
    manifest = {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskJob", "metadata": metadata}
    document["spec"]["templates"][1] = {
        "name": "step",
        "resource": {"action": "create", "manifest": yaml.safe_dump(manifest)},
    }
    return document


ON_CLAIM = {"claim": "seismic-rwx", "mount_path": "/data", "path": "out/envelope-dask-report.html"}


async def fetch(jp_fetch, route: str, **options):
    return await jp_fetch("argodasf", "api", *route.split("/"), **options)


async def refused(jp_fetch, route: str, **options) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as raised:
        await fetch(jp_fetch, route, **options)
    text = raised.value.response.body.decode()
    assert TOKEN not in text and "Traceback" not in text
    message = json.loads(text)["message"]
    assert "\n" not in message
    return raised.value.code, message


async def test_the_report_on_a_claim_is_served_as_confined_html(jp_fetch, fake_argo, claim_dir):
    (claim_dir / "out" / "envelope-dask-report.html").write_text(REPORT_HTML)
    fake_argo.add(report_workflow("seismic", ON_CLAIM), "team", created=time.time() - 60)
    response = await fetch(jp_fetch, "workflows/seismic/steps/envelope/report")
    assert response.code == 200 and response.body.decode() == REPORT_HTML
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "sandbox allow-scripts" in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" not in response.headers["Content-Security-Policy"]


async def test_the_route_needs_the_servers_token(jp_fetch, fake_argo, claim_dir):
    (claim_dir / "out" / "envelope-dask-report.html").write_text(REPORT_HTML)
    fake_argo.add(report_workflow("seismic", ON_CLAIM), "team", created=time.time() - 60)
    with pytest.raises(HTTPClientError) as raised:
        await fetch(jp_fetch, "workflows/seismic/steps/envelope/report", headers={"Authorization": ""})
    assert raised.value.code == 403 and REPORT_HTML not in raised.value.response.body.decode()


async def test_a_report_not_written_yet_or_not_asked_for_is_404(jp_fetch, fake_argo, claim_dir):
    fake_argo.add(report_workflow("seismic", ON_CLAIM), "team", created=time.time() - 60)
    code, message = await refused(jp_fetch, "workflows/seismic/steps/envelope/report")
    assert code == 404 and "no performance report of step 'envelope' at /data/out/envelope-dask-report.html" in message
    code, message = await refused(jp_fetch, "workflows/seismic/steps/nope/report")
    assert code == 404 and "has no step 'nope'; its steps: envelope, stage" in message
    fake_argo.add(report_workflow("plain", None), "team", created=time.time() - 60)
    code, message = await refused(jp_fetch, "workflows/plain/steps/envelope/report")
    assert code == 404 and "writes no performance report; promote it with --report" in message
    code, message = await refused(jp_fetch, "workflows/seismic/steps/stage/report")  # a container step
    assert code == 404 and "step 'stage' writes no performance report" in message


@pytest.mark.parametrize(
    "reference",
    [
        {**ON_CLAIM, "path": "../../../../etc/passwd"},  # outside the claim, and another name
        {**ON_CLAIM, "path": "out/../../envelope-dask-report.html"},  # outside the claim
        {**ON_CLAIM, "path": "out/other-dask-report.html"},  # another step's report
        {"url": "s3://seismic/secrets.txt"},  # not a report
        {"url": "file:///etc/envelope-dask-report.html"},  # not an object store
    ],
)
async def test_a_reference_to_anything_but_the_steps_report_is_refused(jp_fetch, fake_argo, claim_dir, reference):
    (claim_dir / "envelope-dask-report.html").write_text("outside out/, inside the test's directory")
    fake_argo.add(report_workflow("seismic", reference), "team", created=time.time() - 60)
    code, message = await refused(jp_fetch, "workflows/seismic/steps/envelope/report")
    assert code == 403 and ("not served" in message or "not one this server serves" in message)


async def test_a_report_over_the_limit_is_refused(jp_fetch, fake_argo, claim_dir, monkeypatch):
    monkeypatch.setattr(step_report, "MAX_BYTES", 16)
    (claim_dir / "out" / "envelope-dask-report.html").write_text(REPORT_HTML)
    fake_argo.add(report_workflow("seismic", ON_CLAIM), "team", created=time.time() - 60)
    code, message = await refused(jp_fetch, "workflows/seismic/steps/envelope/report")
    assert code == 413 and "more than the 16 bytes" in message


def test_a_malformed_annotation_names_no_report():
    assert step_report.from_annotation('{"claim": "c", "path": "p"}') is None
    assert step_report.from_annotation('{"url": 3}') is None
    assert step_report.from_annotation("not json") is None
    assert step_report.from_annotation(json.dumps(ON_CLAIM)) == ON_CLAIM
