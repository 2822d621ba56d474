"""The cluster widget and the sidebar as a user sees them, in JupyterLab in Debian chromium.

Every shipped notebook runs with Run All to the end without an error cell. A cluster
made from the form, and a Scale from its widget, show in the sidebar within 2 s; the
first Dashboard click opens dask-labextension's panes; at a 500 px notebook width no
control of the widget is cut off; in the dark theme every text the extension draws
has a contrast of at least 4.5:1 against its background. Screenshots of each state,
light and dark, go to artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from fake_argo_server import FakeArgo
from lab_server import CHROMIUM, JupyterLab, chromium_page
from test_sidebar import cell, run_cell, shoot
from ui_checks import MIN_CONTRAST, low_contrast, menu, set_theme

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (apt-get install chromium)"
    ),
]

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SHIPPED = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
TOKEN = "widgets-test-argo-token"
PUSH_SECONDS = 2.0
NOTEBOOK_WIDTH = 500
FIRST_CELL_SECONDS = 120  # a kernel that never answers fails here, not after the whole wait


@pytest.fixture(scope="module")
def fake_argo():
    fake = FakeArgo(TOKEN, step_seconds=1).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, fake_argo):
    env = {"ARGO_SERVER": fake_argo.address, "ARGO_TOKEN": TOKEN, "ARGO_SECURE": "false", "ARGO_NAMESPACE": "team"}
    server = JupyterLab(tmp_path_factory.mktemp("lab"), env=env).start()
    for name in SHIPPED:
        shutil.copy(NOTEBOOKS / name, server.root / name)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_kernels_left(lab):
    yield
    shut_down_kernels(lab)  # each test's kernels (and so its clusters) end with it


@pytest.fixture(scope="module")
def page(lab):
    with chromium_page(60_000) as page:
        yield page


def shut_down_kernels(lab: JupyterLab) -> None:
    """End every kernel (and so its clusters) before the next notebook runs."""
    for session in lab.get("api/sessions"):
        request = urllib.request.Request(
            f"{lab.url}/api/sessions/{session['id']}", method="DELETE", headers={"Authorization": f"token {lab.token}"}
        )
        urllib.request.urlopen(request, timeout=30).close()


def open_notebook(page, lab: JupyterLab, name: str) -> None:
    page.goto(lab.lab_url(name) + "&reset")  # a fresh workspace: only this notebook open
    page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()


def kernel_idle(lab: JupyterLab, name: str) -> bool:
    """The Jupyter server's view: the notebook's kernel reported idle last."""
    states = [session["kernel"]["execution_state"] for session in lab.get("api/sessions") if session["path"] == name]
    return states == ["idle"]


def error_outputs(page) -> list[str]:
    """Texts of outputs that are Python errors (tracebacks or one-line magic errors)."""
    texts = page.locator(
        ".jp-NotebookPanel .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
        ".jp-NotebookPanel .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
    )
    return [
        text
        for text in texts.all_inner_texts()
        if re.search(r"Traceback \(most recent call last\)|^\w*(Error|Exception)\b", text, re.M)
    ]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", SHIPPED)
def test_run_all_reaches_the_end_without_an_error(lab, page, name):
    # Opening the notebook starts its kernel (the last test's were shut down), so Run All
    # runs in a fresh one, without a restart first: when the restart came 0.2 s after the
    # kernel's first connection, jupyter_server could not read the browser's messages on
    # the websocket the restart reopened (struct.error in deserialize_binary_message, after
    # "Replacing stale connection"), and the page never heard from the kernel again.
    open_notebook(page, lab, name)
    # Shipped outputs carry execution counts: clear them, so every [n] seen is this run's.
    menu(page, "Edit", "Clear Outputs of All Cells")
    menu(page, "Run", "Run All Cells")
    prompts = page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt")
    numbered = lambda text: re.fullmatch(r"\[\d+\]:", text.strip())  # noqa: E731
    deadline, quiet = time.monotonic() + 600, 0
    first_cell_by = time.monotonic() + FIRST_CELL_SECONDS
    while time.monotonic() < deadline:
        texts = prompts.all_inner_texts()
        if error_outputs(page) or (texts and all(numbered(text) for text in texts)):
            break
        if not any(numbered(text) for text in texts) and time.monotonic() > first_cell_by:
            status = page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator").first.get_attribute(
                "data-status"
            )
            pytest.fail(f"{name}: no cell ran within {FIRST_CELL_SECONDS} s of Run All (kernel status {status})")
        # Run All stops at an error: nothing runs and the kernel stays idle. The server's
        # view of the kernel decides: JupyterLab (with ipykernel 7) can leave a finished
        # cell's prompt at [*] when its reply and idle status cross a widget message.
        started = any(numbered(text) for text in texts)
        quiet = quiet + 1 if started and kernel_idle(lab, name) else 0
        if quiet >= 5:
            break
        page.wait_for_timeout(1000)
    stem = name.removesuffix(".ipynb")
    shoot(page, f"runall-{stem}-light")
    errors = error_outputs(page)
    assert not errors, f"{name}: an error cell after Run All: {errors[0][-600:]}"
    cells = page.locator(".jp-NotebookPanel .jp-CodeCell")
    texts = prompts.all_inner_texts()
    ran = lambda index: "*" in texts[index] and cells.nth(index).locator(".jp-OutputArea-output").count() > 0  # noqa: E731
    unfinished = [index for index, text in enumerate(texts) if not numbered(text) and not ran(index)]
    if unfinished:
        last = cells.nth(max(unfinished[0] - 1, 0))
        output = last.locator(".jp-OutputArea").inner_text()[-600:]
        pytest.fail(f"{name}: Run All stopped before code cell {unfinished[0]}; the cell before it shows: {output}")
    stderr = " ".join(
        page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
    )
    assert "heartbeat from unregistered worker" not in stderr
    if name.startswith("01-"):  # the quickstart leaves a live cluster and its card
        page.locator(".argodasf-card[data-status='running']").last.wait_for()
        scroll_to(page.locator(".argodasf-card").last)
        shoot(page, f"runall-{stem}-widget-light")
        set_theme(page, "JupyterLab Dark")
        shoot(page, f"runall-{stem}-widget-dark")
        problems = low_contrast(page)
        set_theme(page, "JupyterLab Light")
        assert not problems, f"below {MIN_CONTRAST}:1 in the dark theme: {problems[:8]}"


def scroll_to(locator, tries=5):
    """Scroll to what ``locator`` finds now: the widget renders its card anew while the
    cluster's view refreshes, and a card replaced mid-scroll is found again."""
    from playwright.sync_api import Error

    for attempt in range(tries):
        try:
            return locator.scroll_into_view_if_needed()
        except Error as error:
            if "not attached to the DOM" not in str(error) or attempt == tries - 1:
                raise


FORM_CELLS = [
    "import argodasf_jupyter\n%load_ext argodasf_jupyter",
    'argodasf_jupyter.cluster_form(name="formed", backend="local", workers=1, memory_limit="1GiB")',
]


def labelled(scope, label: str):
    """The ipywidgets text field with this description."""
    return scope.locator(".widget-text").filter(
        has=scope.page.locator(".widget-label", has_text=re.compile(f"^{label}$"))
    )


def sidebar_row(page, name: str):
    return page.locator(f"#argodasf-sidebar .argodasf-clusters [data-cluster='{name}']")


def seconds_until(locator, timeout: float = 30) -> float:
    started = time.monotonic()
    locator.wait_for(timeout=timeout * 1000)
    return time.monotonic() - started


def set_notebook_width(page, width: int) -> None:
    """Resize the window until the notebook panel is ``width`` pixels wide."""
    for _ in range(6):
        current = page.locator(".jp-NotebookPanel").bounding_box()["width"]
        if abs(current - width) <= 3:
            return
        viewport = page.viewport_size
        page.set_viewport_size({"width": int(viewport["width"] + width - current), "height": viewport["height"]})
        page.wait_for_timeout(500)
    assert abs(page.locator(".jp-NotebookPanel").bounding_box()["width"] - width) <= 3  # panel widths snap


def cut_off_controls(page) -> list[str]:
    """Controls of the cluster widget that stick out of the output area or clip their label."""
    return page.evaluate("""() => {
      const problems = [];
      for (const widget of document.querySelectorAll('.argodasf-cluster')) {
        const area = widget.closest('.jp-OutputArea-output').getBoundingClientRect();
        for (const control of widget.querySelectorAll('button, input, .widget-label, a')) {
          const box = control.getBoundingClientRect();
          if (!box.width) continue;
          const label = control.textContent.trim() || control.value || control.tagName;
          if (box.left < area.left - 0.5 || box.right > area.right + 0.5) problems.push(`${label} outside`);
          if (control.scrollWidth > control.clientWidth + 1) problems.push(`${label} clipped`);
        }
      }
      return problems;
    }""")


@pytest.mark.timeout(600)
def test_form_scale_dashboard_narrow_width_and_dark_contrast(lab, page):
    lab.write_notebook("form.ipynb", FORM_CELLS)
    open_notebook(page, lab, "form.ipynb")
    page.locator(".lm-TabBar-tab[data-id='argodasf-sidebar']").click()
    page.locator("#argodasf-sidebar").get_by_text("No cluster yet").wait_for()
    run_cell(page, 0)
    run_cell(page, 1)
    form = cell(page, 1).locator(".argodasf-cluster-form")
    # the form follows its own choices: no range while not adaptive, no image for local
    assert form.locator(".widget-hslider").is_hidden() and labelled(form, "Workers").is_visible()
    assert labelled(form, "Image").is_hidden()
    shoot(page, "form-light")

    form.get_by_role("button", name="Create").click()
    card = cell(page, 1).locator(".argodasf-card[data-status='running']")
    card.wait_for(timeout=90_000)
    assert seconds_until(sidebar_row(page, "formed")) < PUSH_SECONDS
    shoot(page, "cluster-created-light")

    widget = cell(page, 1).locator(".argodasf-cluster")
    labelled(widget, "Workers").locator("input").fill("2")
    widget.get_by_role("button", name="Scale").click()
    assert seconds_until(sidebar_row(page, "formed").locator(".argodasf-target", has_text="/2 ")) < PUSH_SECONDS
    widget.get_by_text("Scaling to 2 workers").wait_for()
    sidebar_row(page, "formed").locator(".argodasf-workers", has_text=re.compile("^2$")).wait_for(timeout=60_000)
    card.locator(".argodasf-workers", has_text=re.compile("^2$")).wait_for(timeout=30_000)
    row = sidebar_row(page, "formed")
    assert "form.ipynb" in row.inner_text() and "threads" in row.inner_text() and "GiB" in row.inner_text()
    shoot(page, "cluster-scaled-light")

    # the first Dashboard click opens the Dask panes
    row.get_by_role("button", name="Dashboard").click()
    page.locator(".dask-DaskDashboard-widget").first.wait_for(timeout=20_000)
    shoot(page, "dashboard-light")
    page.get_by_role("tab", name="form.ipynb").click()

    # the sidebar's Scale goes through the owning kernel, and the widget follows
    row.locator(".argodasf-scale-input").fill("1")
    row.get_by_role("button", name="Scale").click()
    assert seconds_until(row.locator(".argodasf-target", has_text="/1 ")) < PUSH_SECONDS
    card.locator(".argodasf-target", has_text=re.compile("^1$")).wait_for(timeout=10_000)

    set_notebook_width(page, NOTEBOOK_WIDTH)
    widget.scroll_into_view_if_needed()
    assert cut_off_controls(page) == []
    shoot(page, "cluster-500px-light")
    page.set_viewport_size({"width": 1400, "height": 900})

    set_theme(page, "JupyterLab Dark")
    widget.scroll_into_view_if_needed()
    shoot(page, "cluster-dark")
    problems = low_contrast(page)
    assert not problems, f"below {MIN_CONTRAST}:1 in the dark theme: {json.dumps(problems[:8])}"
    set_notebook_width(page, NOTEBOOK_WIDTH)
    shoot(page, "cluster-500px-dark")
    assert cut_off_controls(page) == []
    page.set_viewport_size({"width": 1400, "height": 900})

    row.get_by_role("button", name="Close").click()
    row.wait_for(state="detached", timeout=10_000)
    assert cell(page, 1).locator(".argodasf-card[data-status='closed']").count() == 1
    shoot(page, "cluster-closed-dark")
    set_theme(page, "JupyterLab Light")
