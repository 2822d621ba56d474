"""Asking for a running workflow's status again and again starts one poller, not one per call."""

from __future__ import annotations

import threading
import time

from fake_argo_server import FakeArgo, dag_workflow

TOKEN = "poller-test-token"


def pollers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "argodasf-status" and thread.is_alive()]


def test_five_status_calls_on_a_running_workflow_start_one_poller(shell, monkeypatch):
    fake = FakeArgo(TOKEN, step_seconds=6).start()
    try:
        monkeypatch.setenv("ARGO_SERVER", fake.address)
        monkeypatch.setenv("ARGO_SECURE", "false")
        monkeypatch.setenv("ARGO_NAMESPACE", "team")
        monkeypatch.setenv("ARGO_TOKEN", TOKEN)
        fake.add(dag_workflow("run", {"load": [], "train": ["load"]}), "team")
        before = len(pollers())
        for _ in range(5):
            assert shell.run_cell("%dasf_workflow status run").success
        assert len(pollers()) - before == 1
        started, requests = time.monotonic(), len(fake.requests)
        time.sleep(4)
        rate = (len(fake.requests) - requests) / (time.monotonic() - started)
        assert rate <= 1.0  # one poller every 2 s, not five
    finally:
        fake.stop()
