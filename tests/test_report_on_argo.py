"""A step promoted with --report, submitted to the fake Argo Server and run by the
test-side controller on the fake Kubernetes API with the real Dask operator: its
DaskJob's runner writes the performance report on a claim, the server extension
serves it, and status says where it is."""

from __future__ import annotations

import asyncio

import pytest

from test_step_report import CELL

pytest_plugins = ["pytest_jupyter.jupyter_server"]

TOKEN = "argo-secret-token-for-reports-on-argo"
CLAIM = "seismic-rwx"


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"argodasf_jupyter": True}}}


@pytest.mark.kube
@pytest.mark.timeout(700)  # a hang guard: one step took over 240 s on a CI machine at load 9
async def test_a_daskjob_step_writes_its_report_on_a_claim_and_the_server_serves_it(
    jp_fetch, argo_templates, tmp_path, monkeypatch
):
    import dask

    from argo.stack import argo_on_kubernetes
    from argodasf_jupyter import argo, promote
    from argodasf_jupyter.draft import Draft
    from argodasf_jupyter.spec import parse_spec
    from argodasf_jupyter.workflow_widgets import StatusView

    monkeypatch.setattr(dask.config, "PATH", str(tmp_path / "home" / ".config" / "dask"))
    spec = parse_spec(
        {
            "workers": 1,
            "image": "example.org/dasf:1",
            "volumes": [{"name": "data", "claim": CLAIM, "mount_path": "/data", "working_dir": True}],
        }
    )
    with argo_on_kubernetes(tmp_path / "kube", argo_templates, token=TOKEN) as (fk, _):
        fk.create(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": CLAIM},
                "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
            }
        )
        draft = Draft("reports", str(tmp_path / "reports.dasf-workflow.json"))
        draft.add(promote.make_step("envelope", CELL, cluster=spec, outputs=["out/cube.zarr"], report=True))
        name = await asyncio.to_thread(lambda: argo.submit(draft)["name"])
        summary = await asyncio.to_thread(argo.watch, name, lambda summary: None, interval=0.5, timeout=540)
        assert summary["phase"] == "Succeeded", summary

        written = fk.volume_path(CLAIM) / "out" / "envelope-dask-report.html"
        html = written.read_text()
        assert '"envelope_block"' in html and "def envelope_block(block):" in html and "def main(" not in html

        (step,) = summary["steps"]
        assert step["report"] == {"claim": CLAIM, "mount_path": "/data", "path": "out/envelope-dask-report.html"}
        assert (
            "Dask performance report: /data/out/envelope-dask-report.html (claim seismic-rwx)"
            in StatusView(summary).fallback_text()
        )

        # this server sees the claim where the fake keeps it, not at the pods' /data
        with dask.config.set(
            {"argodasf.workflow.claim-dirs": [{"claim": CLAIM, "directory": str(fk.volume_path(CLAIM))}]}
        ):
            response = await jp_fetch("argodasf", "api", "workflows", name, "steps", "envelope", "report")
        assert response.code == 200 and response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.body.decode() == html
