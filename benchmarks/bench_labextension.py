"""Cost of the JupyterLab extension: bundle size and the sidebar's refresh traffic.

    python benchmarks/bench_labextension.py [--json rows.json]

1. Bundle: the production build in argodasf_jupyter/labextension/static (build it
   with `jlpm build:prod` in labextension/). JupyterLab, Lumino and React are shared
   with the host and not bundled, so every byte there is our own code. Goal: < 100 KB.
2. Refresh: a real JupyterLab in Debian chromium with the sidebar open and a fake
   Argo Server; counts the browser's requests to /argodasf/api/ over a window while
   nothing runs (goal: 0) and while a workflow runs (goal: one per refresh interval),
   and times the server's answer to one refresh (GET /argodasf/api/state).
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
    return {"files": len(files), "bytes": raw, "gzip_bytes": gzipped, "goal_bytes": GOAL_BYTES,
            "within_goal": raw < GOAL_BYTES}


def count_requests(page, seconds: float) -> int:
    seen = []
    listener = lambda request: seen.append(request.url) if "/argodasf/api/" in request.url else None  # noqa: E731
    page.on("request", listener)
    page.wait_for_timeout(seconds * 1000)  # unlike time.sleep, lets Playwright deliver events
    page.remove_listener("request", listener)
    return len(seen)


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

            fake.add(dag_workflow("bench-run", {"load": [], "train": ["load"]}), "bench")
            sidebar.get_by_title("Refresh").click()
            sidebar.locator("[data-workflow='bench-run']").wait_for(timeout=30_000)  # Pending: it runs
            running = count_requests(page, seconds)
            browser.close()
        latency = state_latency(lab)
    finally:
        lab.stop()
        fake.stop()
    return {"window_seconds": seconds, "interval_seconds": INTERVAL, "requests_while_idle": idle,
            "requests_while_running": running, "requests_per_interval_while_running": running * INTERVAL / seconds,
            "state_request_ms": round(latency, 1)}


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    bundle, refresh = bundle_size(), refresh_cost(WINDOW)
    report([
        row("labextension bundle, our own code", bundle["bytes"] / 1024, None, "KB", "< 100"),
        row("labextension bundle, gzipped", bundle["gzip_bytes"] / 1024, None, "KB", "-"),
        row(f"sidebar requests in {WINDOW:.0f} s while nothing runs", refresh["requests_while_idle"], None,
            "requests", "0"),
        row(f"sidebar requests per {INTERVAL:.0f} s interval while a workflow runs",
            refresh["requests_per_interval_while_running"], None, "requests", "<= 1"),
        row("one sidebar refresh: GET /argodasf/api/state", refresh["state_request_ms"], None, "ms", "-"),
    ], args.json)


if __name__ == "__main__":
    main()
