"""Argo's template substitution with the real expr engine, for tests.

tests/argo/template_engine/main.go does what Argo's workflow controller does to a
template (util/template in argoproj/argo-workflows): it substitutes ``{{...}}`` and
``{{=...}}`` tags in the template's JSON text, evaluating expressions with the expr
engine and sprig. It is built once per source version from Debian's Go sources
(golang-go, golang-github-antonmedv-expr-dev, golang-github-masterminds-sprig-dev,
golang-github-valyala-fasttemplate-dev; ./dev.sh installs them) and then serves
requests over a pipe.

    engine = TemplateEngine.start()
    engine.substitute_object(template, {"inputs.parameters.x": "v"})
    engine.evaluate("inputs.parameters.x == 'v'", values)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any, Mapping, Optional

SOURCE = Path(__file__).parent / "template_engine" / "main.go"
BUILD_DIR = Path(__file__).parent / "template_engine" / "build"
GO_SOURCES = Path("/usr/share/gocode")
GO_PACKAGES = ("github.com/antonmedv/expr", "github.com/Masterminds/sprig", "github.com/valyala/fasttemplate")


class TemplateError(Exception):
    """Argo would fail the node with this message."""


def missing_toolchain() -> Optional[str]:
    """Why the engine cannot be built here, or None."""
    if shutil.which("go") is None:
        return "the Go compiler is not installed (apt-get install golang-go)"
    for package in GO_PACKAGES:
        if not (GO_SOURCES / "src" / package).is_dir():
            return f"the Go sources of {package} are not installed (see ./dev.sh system_packages)"
    return None


def build() -> Path:
    """The engine's binary, built when its source changed."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    binary = BUILD_DIR / f"template-engine-{digest}"
    if binary.exists():
        return binary
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with open(BUILD_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # test processes side by side (pytest-xdist) share one build
        if binary.exists():
            return binary
        gopath = BUILD_DIR / "gopath"
        package = gopath / "src" / "template_engine"
        package.mkdir(parents=True, exist_ok=True)
        shutil.copy(SOURCE, package / "main.go")
        env = {
            **os.environ,
            "GO111MODULE": "off",
            "GOPATH": f"{gopath}{os.pathsep}{GO_SOURCES}",
            "GOCACHE": str(BUILD_DIR / "cache"),
            "GOFLAGS": "",
        }
        partial = binary.with_suffix(".partial")
        subprocess.run(
            ["go", "build", "-o", str(partial), "."],
            cwd=package,
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        partial.rename(binary)
    return binary


class TemplateEngine:
    def __init__(self, binary: Path):
        self._process = subprocess.Popen(
            [str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8"
        )
        self._lock = threading.Lock()

    @classmethod
    def start(cls) -> "TemplateEngine":
        return cls(build())

    def close(self) -> None:
        self._process.stdin.close()
        self._process.wait(timeout=10)

    def _ask(self, request: dict) -> dict:
        with self._lock:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the template engine exited")
        answer = json.loads(line)
        if "error" in answer:
            raise TemplateError(answer["error"])
        return answer

    def substitute(self, text: str, values: Mapping[str, Any], allow_unresolved: bool = False) -> str:
        """``text`` (a template's JSON text) with its tags replaced, as Argo does."""
        return self._ask({"text": text, "values": dict(values), "allowUnresolved": allow_unresolved})["text"]

    def substitute_object(self, template: Any, values: Mapping[str, Any], allow_unresolved: bool = False) -> Any:
        """A JSON-able template substituted the way the controller does: marshalled to
        JSON, tags replaced in that text, and unmarshalled again."""
        return json.loads(self.substitute(json.dumps(template), values, allow_unresolved))

    def evaluate(self, expression: str, values: Mapping[str, Any]) -> Any:
        """A bare expression (a `when` clause, say) with the same environment."""
        return self._ask({"expression": expression, "values": dict(values)}).get("value")
