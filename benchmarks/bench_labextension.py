"""Cost of the JupyterLab extension: bundle size and the sidebar's refresh traffic.

    python benchmarks/bench_labextension.py [--json rows.json]

1. Bundle: the production build in argodasf_jupyter/labextension/static (build it
   with `jlpm build:prod` in labextension/). JupyterLab, Lumino and React are shared
   with the host and not bundled, so every byte there is our own code. Goal: < 100 KB.
2. Refresh: a real JupyterLab in Debian chromium with the sidebar open and a fake
   Argo Server; counts the browser's refreshes (GET /argodasf/api/state) over a window
   while nothing runs (goal: 0) and while a workflow runs (goal: one per refresh
   interval), and the held-open requests that carry kernels' changes (GET
   /argodasf/api/changes, one per 25 s while nothing changes); times the server's
   answer to one refresh, and how long a kernel's publish takes to show in the sidebar.
"""

from __future__ import annotations

import gzip
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "browser")]

from common import arguments, report, row  # noqa: E402
from fake_argo_server import FakeArgo, dag_workflow  # noqa: E402
from lab_server import JupyterLab, launch_chromium  # noqa: E402

STATIC = ROOT / "argodasf_jupyter" / "labextension" / "static"
GOAL_BYTES = 100 * 1024
TOKEN = "bench-token"
INTERVAL = 1.0  # seconds: the sidebar's refreshInterval setting during the run
WINDOW = 10.0  # seconds of each request count


def bundle_size() -> dict:
    files = sorted(STATIC.glob("*.js"))
    if not files:
        raise SystemExit(f"no build in {STATIC}: run `jlpm build:prod` in labextension/")
    raw = sum(path.stat().st_size for path in files)
    gzipped = sum(len(gzip.compress(path.read_bytes(), 9)) for path in files)
    return {
        "files": len(files),
        "bytes": raw,
        "gzip_bytes": gzipped,
        "goal_bytes": GOAL_BYTES,
        "within_goal": raw < GOAL_BYTES,
    }


def count_requests(page, seconds: float) -> dict[str, int]:
    seen = {"state": 0, "changes": 0}

    def listener(request):
        for route in seen:
            if f"/argodasf/api/{route}" in request.url:
                seen[route] += 1

    page.on("request", listener)
    page.wait_for_timeout(seconds * 1000)  # unlike time.sleep, lets Playwright deliver events
    page.remove_listener("request", listener)
    return seen


def push_latency(page, lab: JupyterLab) -> float:
    """Seconds from a kernel's publish (a registry record) to its cluster in the sidebar."""
    from argodasf_jupyter import registry

    directory = str(lab.base / "jupyter-runtime" / "argodasf")
    cluster = {"name": "bench-push", "backend": "local", "status": "running", "workers": 1, "dashboard_link": None}
    started = time.perf_counter()
    registry.publish([cluster], directory=directory)
    page.locator("#argodasf-sidebar [data-cluster='bench-push']").wait_for(timeout=30_000)
    elapsed = time.perf_counter() - started
    registry.withdraw(directory)
    return elapsed


def state_latency(lab: JupyterLab, repeats: int = 20) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        lab.get("argodasf/api/state")
    return (time.perf_counter() - started) / repeats * 1000


def refresh_cost(seconds: float) -> dict:
    from playwright.sync_api import sync_playwright

    fake = FakeArgo(TOKEN, step_seconds=seconds * 10).start()  # a workflow that outlasts the window
    env = {"ARGO_SERVER": fake.address, "ARGO_TOKEN": TOKEN, "ARGO_SECURE": "false", "ARGO_NAMESPACE": "bench"}
    lab = JupyterLab(Path(tempfile.mkdtemp(prefix="bench-lab-")), env=env, refresh_interval=INTERVAL).start()
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page()
            page.goto(lab.lab_url())
            page.locator(".lm-TabBar-tab[data-id='argodasf-sidebar']").click()
            sidebar = page.locator("#argodasf-sidebar")
            sidebar.get_by_text("No workflows in namespace bench").wait_for(timeout=60_000)
            page.wait_for_timeout(1000)  # let the opening refresh finish
            idle = count_requests(page, seconds)
            pushed = push_latency(page, lab)

            fake.add(dag_workflow("bench-run", {"load": [], "train": ["load"]}), "bench")
            sidebar.get_by_title("Refresh").click()
            sidebar.locator("[data-workflow='bench-run']").wait_for(timeout=30_000)  # Pending: it runs
            running = count_requests(page, seconds)
            browser.close()
        latency = state_latency(lab)
    finally:
        lab.stop()
        fake.stop()
    return {
        "window_seconds": seconds,
        "interval_seconds": INTERVAL,
        "requests_while_idle": idle["state"],
        "held_open_while_idle": idle["changes"],
        "requests_while_running": running["state"],
        "requests_per_interval_while_running": running["state"] * INTERVAL / seconds,
        "state_request_ms": round(latency, 1),
        "push_seconds": round(pushed, 2),
    }


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    bundle, refresh = bundle_size(), refresh_cost(WINDOW)
    report(
        [
            row("labextension bundle, our own code", bundle["bytes"] / 1024, None, "KB", "< 100"),
            row("labextension bundle, gzipped", bundle["gzip_bytes"] / 1024, None, "KB", "-"),
            row(
                f"sidebar requests in {WINDOW:.0f} s while nothing runs",
                refresh["requests_while_idle"],
                None,
                "requests",
                "0",
            ),
            row(
                f"sidebar requests per {INTERVAL:.0f} s interval while a workflow runs",
                refresh["requests_per_interval_while_running"],
                None,
                "requests",
                "<= 1",
            ),
            row(
                f"held-open change requests in {WINDOW:.0f} s while nothing runs",
                refresh["held_open_while_idle"],
                None,
                "requests",
                "<= 1",
            ),
            row("one sidebar refresh: GET /argodasf/api/state", refresh["state_request_ms"], None, "ms", "-"),
            row("a kernel's publish shown in the sidebar", refresh["push_seconds"], None, "s", "< 2"),
        ],
        args.json,
    )


if __name__ == "__main__":
    main()
