"""Following and steering a submitted run from the sidebar, in a real JupyterLab
driven in Debian chromium: a real DASF step fails with a traceback on the fake
Kubernetes API (real Dask operator), its workflow run by the fake Argo Server's
controller; the sidebar shows the traceback's end, the step's runner log, and its
Retry and Stop buttons change the run's phase as Argo does.
Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import os

import dask
import pytest

from argodasf_jupyter import argo, promote
from argodasf_jupyter.draft import Draft
from argodasf_jupyter.spec import parse_spec
from lab_server import CHROMIUM, JupyterLab, chromium_page
from test_sidebar import shoot
from ui_checks import MIN_CONTRAST, low_contrast, set_theme

pytestmark = [
    pytest.mark.browser,
    pytest.mark.kube,
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (apt-get install chromium)"
    ),
]

TOKEN = "browser-steer-argo-token"
STEP = """
import os
print("runner says: reading trace headers", flush=True)
if os.path.exists(hold):
    import time
    time.sleep(90)
raise ValueError("trace header 7 is corrupt")
"""


@pytest.fixture
def stack(tmp_path, monkeypatch, argo_templates):
    from argo.stack import argo_on_kubernetes

    monkeypatch.setattr(dask.config, "PATH", str(tmp_path / "home" / ".config" / "dask"))
    with argo_on_kubernetes(tmp_path / "kube", argo_templates, token=TOKEN) as (fk, server):
        yield fk, server


@pytest.fixture
def lab(tmp_path, stack):
    names = ("ARGO_SERVER", "ARGO_TOKEN", "ARGO_SECURE", "ARGO_NAMESPACE", "KUBECONFIG")
    server = JupyterLab(tmp_path / "lab", env={name: os.environ[name] for name in names}).start()
    yield server
    server.stop()


@pytest.fixture
def page(lab):
    with chromium_page(120_000) as page:
        yield page


def test_sidebar_shows_a_failed_steps_traceback_and_logs_and_steers_the_run(lab, page, tmp_path):
    hold = tmp_path / "hold"
    draft = Draft("steer", str(tmp_path / "steer.dasf-workflow.json"))
    draft.add(promote.make_step("qc", STEP, values={"hold": str(hold)}, cluster=parse_spec({"workers": 1})))
    name = argo.submit(draft)["name"]

    page.goto(lab.lab_url())
    page.locator(".lm-TabBar-tab[data-id='argodasf-sidebar']").click()
    row = page.locator(f"#argodasf-sidebar .argodasf-workflow[data-workflow='{name}']")
    row.locator(".argodasf-chip[data-step='qc']").wait_for()

    # the failed step's reason and the end of its runner traceback
    page.wait_for_function(f"() => document.querySelector(\"[data-workflow='{name}']\")?.dataset.phase === 'Failed'")
    traceback = row.locator(".argodasf-failure[data-step='qc'] .argodasf-failure-traceback")
    traceback.filter(has_text="ValueError: trace header 7 is corrupt").wait_for()
    assert (
        row.get_by_role("button", name="Retry").is_visible() and row.get_by_role("button", name="Resubmit").is_visible()
    )
    assert row.get_by_role("button", name="Stop").count() == 0
    shoot(page, "10-steer-failed-traceback")

    # the step's log view: the runner's own output, read from its DaskJob's pod
    row.locator(".argodasf-chip[data-step='qc'] .argodasf-chip-logs").click()
    log = row.locator(".argodasf-log[data-step='qc']")
    log.locator(".argodasf-log-text").filter(has_text="runner says: reading trace headers").wait_for()
    assert log.locator(".argodasf-log-component").input_value() == "runner"
    assert log.get_attribute("data-following") == "false"  # the step ended: no more reads
    shoot(page, "11-steer-step-log")

    # Retry runs the failed step again (this time it waits on the hold file); the log view follows it
    hold.write_text("hold the retried step")
    row.get_by_role("button", name="Retry").click()
    row.locator(".argodasf-chip[data-step='qc'][data-phase='Running']").wait_for()
    assert row.get_attribute("data-phase") == "Running"
    row.get_by_role("button", name="Stop").wait_for()
    assert row.locator(".argodasf-failure").count() == 0
    page.wait_for_function(
        f"() => document.querySelector(\"[data-workflow='{name}'] .argodasf-log\")?.dataset.following === 'true'"
    )
    shoot(page, "12-steer-retried-running")

    # Terminate asks first; cancelling leaves the run alone
    row.get_by_role("button", name="Terminate").click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("exit handler does not run").wait_for()
    shoot(page, "13-steer-terminate-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="detached")
    assert row.get_attribute("data-phase") == "Running"

    # Stop: the running step is stopped and the run fails with Argo's message
    row.get_by_role("button", name="Stop").click()
    page.wait_for_function(f"() => document.querySelector(\"[data-workflow='{name}']\")?.dataset.phase === 'Failed'")
    row.locator(".argodasf-message").filter(has_text="Stopped with strategy 'Stop'").wait_for()
    page.wait_for_function(
        f"() => document.querySelector(\"[data-workflow='{name}'] .argodasf-log\")?.dataset.following === 'false'"
    )
    assert TOKEN not in page.content()
    shoot(page, "14-steer-stopped")

    set_theme(page, "JupyterLab Dark")
    shoot(page, "15-steer-stopped-dark")
    problems = low_contrast(page)
    set_theme(page, "JupyterLab Light")
    assert not problems, f"below {MIN_CONTRAST}:1 in the dark theme: {problems[:8]}"
