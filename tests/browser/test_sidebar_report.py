"""The sidebar's Report link of a step promoted with --report, in a real JupyterLab
driven in Debian chromium: it points at the server's report route, and the page
opens the report there with the browser's own login."""

from __future__ import annotations

import os
import time

import pytest

from fake_argo_server import FakeArgo
from lab_server import CHROMIUM, JupyterLab, chromium_page
from test_server_reports import ON_CLAIM, REPORT_HTML, report_workflow

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (apt-get install chromium)"
    ),
]

TOKEN = "browser-report-argo-token"


def test_a_reported_step_links_its_report_and_the_link_opens_it(tmp_path):
    claim = tmp_path / "claim"
    (claim / "out").mkdir(parents=True)
    (claim / "out" / "envelope-dask-report.html").write_text(REPORT_HTML)
    fake = FakeArgo(TOKEN, step_seconds=0.1).start()
    fake.add(report_workflow("seismic", ON_CLAIM), "team", created=time.time() - 60)
    env = {
        "ARGO_SERVER": fake.address,
        "ARGO_TOKEN": TOKEN,
        "ARGO_SECURE": "false",
        "ARGO_NAMESPACE": "team",
        "DASK_ARGODASF__WORKFLOW__CLAIM_DIRS": repr([{"claim": ON_CLAIM["claim"], "directory": str(claim)}]),
    }
    lab = JupyterLab(tmp_path / "lab", env=env).start()
    try:
        with chromium_page(60_000) as page:
            page.goto(lab.lab_url())
            page.locator(".lm-TabBar-tab[data-id='argodasf-sidebar']").click()
            row = page.locator("#argodasf-sidebar .argodasf-workflow[data-workflow='seismic']")
            link = row.locator(".argodasf-chip[data-step='envelope'] a.argodasf-chip-report")
            link.wait_for()
            assert row.locator(".argodasf-chip[data-step='stage'] a.argodasf-chip-report").count() == 0
            href = link.get_attribute("href")
            assert href == f"{lab.url}/argodasf/api/workflows/seismic/steps/envelope/report"
            response = page.goto(href)  # the session's cookie, no token in the URL
            assert response.status == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
            assert page.title() == "Dask Performance Report"
    finally:
        lab.stop()
        fake.stop()
