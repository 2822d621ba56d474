"""The live dashboard of a running DASF step: a port-forward, through the fake
Kubernetes API's pods/portforward, to the scheduler of the step's DaskJob that the real
Dask operator made; it answers while the step runs and closes once the step ended."""

from __future__ import annotations

import urllib.error
import urllib.request

import dask
import pytest

from argodasf_jupyter import promote, step_dashboard, step_jobs, workflow
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.spec import parse_spec
from kube.harness import FakeKubernetes

pytestmark = [pytest.mark.kube, pytest.mark.timeout(300)]
pytest_plugins = ["pytest_jupyter.jupyter_server"]

# runs until the test removes the hold file from the volume the step's pods mount
HELD_STEP = """
import os, time
print("step holds", flush=True)
while os.path.exists("/hold/hold"):
    time.sleep(0.2)
"""
HOLD_VOLUME = {"name": "hold", "claim": "hold", "mount_path": "/hold"}


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"argodasf_jupyter": True, "jupyter_server_proxy": True}}}


@pytest.fixture
def fake_kubernetes(tmp_path, monkeypatch):
    monkeypatch.setattr(dask.config, "PATH", str(tmp_path / "home" / ".config" / "dask"))
    with FakeKubernetes(tmp_path / "kube") as fk:
        yield fk


def start_held_step(fk, workflow_name: str):
    """A DaskJob whose runner holds until ``release(fk)``; its name."""
    from kr8s.objects import new_class

    hold(fk)
    step = promote.make_step("attribute", HELD_STEP, cluster=parse_spec({"workers": 1, "volumes": [HOLD_VOLUME]}))
    name = workflow.job_name(workflow_name, step.name)
    labels = {step_jobs.LABEL_WORKFLOW: workflow_name, step_jobs.LABEL_STEP: step.name}
    new_class("DaskJob", "kubernetes.dask.org/v1", asyncio=False)(
        workflow.dask_job_manifest(step, name, {}, labels=labels)
    ).create()
    return name


def hold(fk) -> None:
    """The claim the held step's pods mount, with the file that holds it."""
    claim = {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}
    fk.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "hold"}, "spec": claim})
    (fk.volume_path("hold") / "hold").write_text("hold")


def release(fk) -> None:
    (fk.volume_path("hold") / "hold").unlink()


def holding(fk, name: str) -> bool:
    runner = f"{name}-runner"
    return fk.get("pods", runner) is not None and "step holds" in fk.pod_log(runner)


def job_status(fk, name: str):
    return (fk.get("daskjobs", name) or {}).get("status", {}).get("jobStatus")


def status_page(port: int) -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=30) as response:
        return response.status, response.read().decode("utf-8", "replace")


def test_the_dashboard_of_a_running_step_answers_until_the_step_ends(fake_kubernetes, shell, capsys):
    fk = fake_kubernetes
    name = start_held_step(fk, "wf-dash")
    fk.wait_for(lambda: holding(fk, name), timeout=180, message=lambda: f"job status {job_status(fk, name)}")

    dashboard = step_dashboard.open_dashboard("wf-dash", "attribute")
    assert dashboard.cluster == name and dashboard.proxy_url("/lab-base/") == f"/lab-base/proxy/{dashboard.port}/status"
    code, page = status_page(dashboard.port)
    assert code == 200 and "Dask" in page
    assert step_dashboard.open_dashboard("wf-dash", "attribute") == dashboard  # one forward per cluster
    shell.run_line_magic("load_ext", "argodasf_jupyter")
    capsys.readouterr()
    assert shell.run_line_magic("dasf_workflow", "dashboard wf-dash attribute") == dashboard
    assert f"/proxy/{dashboard.port}/status on this Jupyter server" in capsys.readouterr().out
    assert any(pod.startswith(f"{name}-scheduler") for _, pod in fk.api.forwarding)  # through pods/portforward

    release(fk)
    fk.wait_for(lambda: job_status(fk, name) == "Successful", timeout=120, message=lambda: job_status(fk, name))
    fk.wait_for(lambda: dashboard not in step_dashboard.open_dashboards(), timeout=60, message="forward still open")
    with pytest.raises(urllib.error.URLError):
        status_page(dashboard.port)
    with pytest.raises(ArgodasfError, match="is not running .its DaskJob is Successful.; a step's dashboard lives"):
        step_dashboard.open_dashboard("wf-dash", "attribute")


def test_a_step_without_a_daskjob_is_one_line(fake_kubernetes, capsys):
    from argodasf_jupyter import cli

    with pytest.raises(ArgodasfError, match="^no DaskJob for step 'x' of workflow 'wf-none' yet"):
        step_dashboard.open_dashboard("wf-none", "x")
    assert cli.main(["dashboard", "wf-none", "x"]) == 1
    assert capsys.readouterr().err.startswith("argodasf: error: no DaskJob for step 'x' of workflow 'wf-none' yet")


async def test_the_sidebar_route_opens_the_dashboard_through_the_jupyter_server(jp_fetch, fake_kubernetes, monkeypatch):
    import asyncio
    import json

    from tornado.httpclient import HTTPClientError

    monkeypatch.delenv("ARGO_SERVER", raising=False)
    fk = fake_kubernetes
    route = ("argodasf", "api", "workflows", "wf-proxy", "steps", "attribute", "dashboard")
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch(*route, method="POST", body="")
    assert refused.value.code == 409 and "no DaskJob for step 'attribute'" in refused.value.response.body.decode()

    name = await asyncio.to_thread(start_held_step, fk, "wf-proxy")
    await asyncio.to_thread(fk.wait_for, lambda: holding(fk, name), 180)
    opened = json.loads((await jp_fetch(*route, method="POST", body="")).body)
    assert opened["cluster"] == name and opened["url"].endswith("/status")
    port = opened["url"].split("/proxy/")[1].split("/")[0]
    page = await jp_fetch("proxy", port, "status")  # through jupyter-server-proxy, with the server's token
    assert page.code == 200 and "Dask" in page.body.decode("utf-8", "replace")
    release(fk)


def test_a_step_submitted_through_argo_has_its_dashboard_while_it_runs(argo_templates, tmp_path, monkeypatch):
    """The user's road: the draft submitted to Argo, whose controller creates the step's
    DaskJob on the fake API, where the real operator runs it."""
    from argo.stack import argo_on_kubernetes
    from argodasf_jupyter import argo
    from argodasf_jupyter.draft import Draft

    monkeypatch.setattr(dask.config, "PATH", str(tmp_path / "home" / ".config" / "dask"))
    with argo_on_kubernetes(tmp_path / "kube", argo_templates) as (fk, _):
        hold(fk)
        draft = Draft("dash", str(tmp_path / "dash.dasf-workflow.json"))
        cluster = parse_spec({"workers": 1, "volumes": [HOLD_VOLUME]})
        draft.add(promote.make_step("attribute", HELD_STEP, cluster=cluster))
        name = argo.submit(draft)["name"]
        job = workflow.job_name(name, "attribute")
        fk.wait_for(lambda: holding(fk, job), timeout=180, message=lambda: f"job status {job_status(fk, job)}")
        dashboard = step_dashboard.open_dashboard(name, "attribute")
        assert dashboard.cluster == job
        code, page = status_page(dashboard.port)
        assert code == 200 and "Dask" in page
        release(fk)
        fk.wait_for(lambda: dashboard not in step_dashboard.open_dashboards(), timeout=120, message="forward open")
