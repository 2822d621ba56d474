"""Start `jupyter lab` on 127.0.0.1 in an isolated home, and Debian chromium for it.

Used by the browser tests and by benchmarks/bench_labextension.py. Nothing here
downloads a browser: Playwright drives the system chromium.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHECKOUT = Path(__file__).resolve().parents[2]
BUILT_LABEXTENSION = CHECKOUT / "argodasf_jupyter" / "labextension"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _checkout_first(base: Path) -> dict[str, str]:
    """Environment that makes the server, its kernels and the page use this checkout's
    package and built labextension, whichever copy the Python environment installed."""
    env = {"PYTHONPATH": str(CHECKOUT)}
    if (BUILT_LABEXTENSION / "package.json").exists():
        link = base / "jupyter-path" / "labextensions" / "argodasf-jupyter"
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(BUILT_LABEXTENSION)
        env["JUPYTER_PATH"] = str(base / "jupyter-path")  # searched before the environment's share/jupyter
    return env


class JupyterLab:
    """A `jupyter lab` process whose HOME, Jupyter, IPython and dask dirs are under ``base``."""

    def __init__(self, base: Path, env: dict[str, str] | None = None, refresh_interval: float = 1):
        self.base = base
        self.root = base / "notebooks"
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home = base / "home"
        config = base / "jupyter-config"
        for folder in (self.root, home):
            folder.mkdir(parents=True, exist_ok=True)
        user_settings = config / "lab" / "user-settings"
        # no news or update toasts over the screenshots
        _write_json(
            user_settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
            {"fetchNews": "false", "checkForUpdates": False},
        )
        # every cell rendered, so the tests can read each prompt after Run All (JupyterLab
        # otherwise renders only the cells in view)
        _write_json(
            user_settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings",
            {"windowingMode": "none"},
        )
        _write_json(
            user_settings / "argodasf-jupyter" / "plugin.jupyterlab-settings", {"refreshInterval": refresh_interval}
        )
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "LANG": "C.UTF-8",
            "HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(config),
            "JUPYTER_DATA_DIR": str(base / "jupyter-data"),
            "JUPYTER_RUNTIME_DIR": str(base / "jupyter-runtime"),
            "IPYTHONDIR": str(base / "ipython"),
            "DASK_CONFIG": str(home / ".config" / "dask"),
            "DASK_ARGODASF__LOCAL__DASHBOARD_ADDRESS": ":0",
            **_checkout_first(base),
            **(env or {}),
        }
        self.log_path = base / "jupyter-lab.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "JupyterLab":
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
            f"--IdentityProvider.token={self.token}",
        ]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {self.log_path.read_text()[-2000:]}")
            try:
                self.get("api/status")
                return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"jupyter lab did not start in {timeout}s: {self.log_path.read_text()[-2000:]}")

    def get(self, path: str) -> dict:
        request = urllib.request.Request(f"{self.url}/{path}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def write_notebook(self, name: str, cells: list[str]) -> None:
        notebook = {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "cells": [
                {
                    "cell_type": "code",
                    "id": f"cell-{index}",
                    "source": source,
                    "metadata": {},
                    "outputs": [],
                    "execution_count": None,
                }
                for index, source in enumerate(cells)
            ],
        }
        (self.root / name).write_text(json.dumps(notebook))

    def lab_url(self, path: str = "") -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}" if path else f"{self.url}/lab?token={self.token}"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # the server shuts its kernels down on SIGTERM
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@contextmanager
def chromium_page(default_timeout_ms: int):
    """A 1400x900 page in Debian chromium, closed with its browser afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(default_timeout_ms)
        yield page
        browser.close()
