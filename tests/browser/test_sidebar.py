"""The Argo-DASF sidebar in a real JupyterLab, driven in Debian chromium.

A notebook makes a local cluster with %%dasf_cluster and the sidebar lists it with
its worker count; the promote command (context menu, dialog) turns two cells into
steps drawn in the sidebar's DAG; `%dasf_workflow submit` sends the draft to a fake
Argo Server and the sidebar follows its steps from Running to Succeeded.
Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from fake_argo_server import FakeArgo
from lab_server import CHROMIUM, JupyterLab, chromium_page
from ui_checks import MIN_CONTRAST, low_contrast, set_theme

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (apt-get install chromium)"
    ),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
TOKEN = "browser-test-argo-token"
NAMESPACE = "team"
CELLS = [
    "%load_ext argodasf_jupyter",
    "%%dasf_cluster\nname: browser\nbackend: local\nworkers: 2",
    "import dask.array as da\ntotal = float(da.ones((1000, 1000), chunks=250).sum().compute())\ntotal",
    "mean = total / 1e6\nmean",
    "%dasf_workflow submit",
]


@pytest.fixture(scope="module")
def fake_argo():
    fake = FakeArgo(TOKEN, step_seconds=3).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, fake_argo):
    env = {"ARGO_SERVER": fake_argo.address, "ARGO_TOKEN": TOKEN, "ARGO_SECURE": "false", "ARGO_NAMESPACE": NAMESPACE}
    server = JupyterLab(tmp_path_factory.mktemp("lab"), env=env).start()
    server.write_notebook("pipeline.ipynb", CELLS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(lab):
    with chromium_page(60_000) as page:
        yield page


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def cell(page, index: int):
    return page.locator(".jp-NotebookPanel .jp-Cell").nth(index)


def select(page, index: int, button: str = "left") -> None:
    target = cell(page, index)
    target.locator(".jp-InputArea-prompt").click(button=button)  # the prompt selects without editing
    page.locator(".jp-NotebookPanel .jp-Cell.jp-mod-active >> nth=0").wait_for()
    assert "jp-mod-active" in target.get_attribute("class")


def run_cell(page, index: int, expect_output: str | None = None) -> None:
    prompt = cell(page, index).locator(".jp-InputArea-prompt")
    # Just after a notebook opens its kernel can report idle before it takes requests,
    # and a run asked for then is dropped: ask again while the cell shows neither [*] nor [n].
    for _ in range(10):
        select(page, index)
        page.locator(".jp-NotebookPanel-toolbar [data-command='notebook:run-cell-and-select-next']").click()
        try:
            prompt.filter(has_text=re.compile(r"\[(\*|\d+)\]")).wait_for(timeout=3_000)
            break
        except PlaywrightTimeout:
            continue
    prompt.filter(has_text=re.compile(r"\[\d+\]")).wait_for()
    if expect_output:
        cell(page, index).locator(".jp-OutputArea-output").filter(has_text=expect_output).wait_for()


def promote(page, index: int, name: str, after: str) -> None:
    select(page, index, button="right")
    page.get_by_role("menuitem", name="Promote cell to workflow step").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".argodasf-promote-name").fill(name)
    dialog.locator(".argodasf-promote-after").fill(after)
    dialog.get_by_role("button", name="Promote and run").click()


def test_sidebar_follows_clusters_draft_and_workflows(lab, page, fake_argo):
    page.goto(lab.lab_url("pipeline.ipynb"))
    page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
    page.locator(".lm-TabBar-tab[data-id='argodasf-sidebar']").click()
    sidebar = page.locator("#argodasf-sidebar")
    sidebar.get_by_text("No cluster yet").wait_for()

    # a %%dasf_cluster cell: the cluster appears in the sidebar with its worker count
    run_cell(page, 0)
    run_cell(page, 1, expect_output="browser")
    row = sidebar.locator(".argodasf-clusters [data-cluster='browser']")
    row.locator(".argodasf-workers").filter(has_text="2").wait_for()
    assert "local" in row.inner_text() and row.get_by_role("button", name="Dashboard").is_visible()
    shoot(page, "01-cluster")

    # the promote dialog starts in the name field and explains a bad name in place
    select(page, 2, button="right")
    page.get_by_role("menuitem", name="Promote cell to workflow step").click()
    dialog = page.locator(".jp-Dialog")
    assert page.evaluate("() => document.activeElement.classList.contains('argodasf-promote-name')")
    page.keyboard.type("1step")
    dialog.locator(".argodasf-promote-problem", has_text="starting with a letter").wait_for()
    assert dialog.get_by_role("button", name="Promote and run").is_disabled()
    shoot(page, "02-promote-invalid-name-light")
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="detached")

    # the promote command, from the cell's context menu: the steps appear in the DAG
    promote(page, 2, "total", "")
    sidebar.locator(".argodasf-dag [data-step='total']").wait_for()
    promote(page, 3, "mean", "total")
    sidebar.locator(".argodasf-dag [data-step='mean']").wait_for()
    assert cell(page, 3).locator(".jp-InputArea-editor").inner_text().startswith("%%dasf_workflow mean --after total")
    edge = sidebar.locator(".argodasf-dag .argodasf-edge")
    assert edge.count() == 1 and edge.get_attribute("marker-end") == "url(#argodasf-arrow)"
    assert sidebar.locator(".argodasf-dag marker#argodasf-arrow path").count() == 1
    assert sidebar.locator(".argodasf-dag [data-step='mean']").get_attribute("data-kind") in ("dasf", "container")
    assert sidebar.locator(".argodasf-dag [data-step='mean']").get_attribute("data-phase") == "not run"
    shoot(page, "02-draft-dag")

    # submit to the fake Argo Server: the sidebar polls while it runs and shows each phase
    run_cell(page, 4, expect_output="submitted workflow")
    workflow = sidebar.locator(".argodasf-workflows .argodasf-workflow").first
    workflow.locator(".argodasf-chip[data-step='total'][data-phase='Running']").wait_for()
    shoot(page, "03-workflow-running")
    workflow.locator(".argodasf-chip[data-step='mean'][data-phase='Succeeded']").wait_for(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('#argodasf-sidebar .argodasf-workflow')?.dataset.phase === 'Succeeded'"
    )
    shoot(page, "04-workflow-succeeded")
    # the DAG draws each step's last-run status
    for step in ("total", "mean"):
        sidebar.locator(f".argodasf-dag [data-step='{step}'][data-phase='Succeeded']").wait_for()
    assert "last run" in sidebar.locator(".argodasf-legend").inner_text()
    assert workflow.locator(".argodasf-chip").count() == 2
    link = workflow.locator("a.argodasf-name").get_attribute("href")
    assert link.startswith(f"http://{fake_argo.address}/workflows/{NAMESPACE}/")
    assert TOKEN not in page.content()

    set_theme(page, "JupyterLab Dark")
    shoot(page, "05-workflow-succeeded-dark")
    problems = low_contrast(page)
    set_theme(page, "JupyterLab Light")
    assert not problems, f"below {MIN_CONTRAST}:1 in the dark theme: {problems[:8]}"
