"""A step's script and how it is delivered: runtime.py plus the step's data, so the
executor and runner are embedded verbatim; in a container it travels compressed in
argument chunks, and ``run_script`` runs it in a fresh process exactly as a DaskJob
runner will."""

from __future__ import annotations

import base64
import os
import pprint
import subprocess
import sys
import tempfile
import zlib
from typing import Any, Mapping

from . import runtime, step_report
from .errors import ArgodasfError
from .promote import Step

# argv chunks stay far below Linux's 128 KiB limit for one argument
CHUNK_CHARS = 65536
# runs the compressed step script given as argv; no '{{' (Argo) and no '$(' (kubelet)
PYTHON_BOOTSTRAP = (
    "import base64,sys,zlib;"
    "source=zlib.decompress(base64.b64decode(''.join(sys.argv[1:]))).decode('utf-8');"
    "sys.argv[1:]=[];"
    "exec(compile(source,'argodasf_step.py','exec'),{'__name__':'__main__'})"
)
SHELL_BOOTSTRAP = 'printf %s "$@" | base64 -d | sh'


def runtime_source() -> str:
    with open(runtime.__file__, encoding="utf-8") as stream:
        return stream.read()


def step_payload(step: Step) -> dict:
    return {
        "name": step.name,
        "code": runtime.encode_text(step.code),
        "parameters": dict(step.parameters),
        "outputs": list(step.outputs),
        "gpu": bool(step.cluster.gpu),
        "names": dict(step.names),
        "report": step_report.path(step),
    }


def render_script(step: Step) -> str:
    """The complete, self-contained script of a DASF step."""
    return (
        runtime_source().rstrip("\n")
        + "\n\n\n# -- the promoted step ------------------------------------------------------\n"
        + f"STEP = {pprint.pformat(step_payload(step), width=100)}\n\n"
        + 'if __name__ == "__main__":\n    raise SystemExit(main(STEP))\n'
    )


def _chunks(text: str) -> list[str]:
    return [text[start : start + CHUNK_CHARS] for start in range(0, len(text), CHUNK_CHARS)] or [""]


def runner_container(step: Step, python: str = "python") -> dict:
    """command and args that run the step in a container: the script travels
    compressed and base64-encoded, in argument chunks."""
    if step.kind == "container":
        encoded = base64.b64encode(step.code.encode("utf-8")).decode("ascii")
        return {"command": ["sh", "-c", SHELL_BOOTSTRAP, "argodasf"], "args": _chunks(encoded)}
    packed = base64.b64encode(zlib.compress(render_script(step).encode("utf-8"), 9)).decode("ascii")
    # args, not command: the image's entrypoint (which installs EXTRA_PIP_PACKAGES) must run
    return {"args": [python, "-c", PYTHON_BOOTSTRAP, *_chunks(packed)]}


def parameter_environment(step: Step, parameters: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Environment variables that hand parameter values to the runner."""
    values = dict(step.parameters)
    values.update(parameters or {})
    return {
        runtime.parameter_env(name): runtime.encode_text(runtime.argo_parameter_text(values[name]))
        for name in step.parameters
    }


def run_script(
    step: Step,
    address: str,
    parameters: Mapping[str, Any] | None = None,
    cwd: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    """Run the step's exact script in a fresh process against the scheduler at
    ``address``, the way the DaskJob runner runs it. Output is captured (stdout
    and stderr interleaved)."""
    with tempfile.TemporaryDirectory(prefix="argodasf-step-") as directory:
        path = os.path.join(directory, f"{step.name}.py")
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(render_script(step))
        env = dict(os.environ, DASK_SCHEDULER_ADDRESS=address, **parameter_environment(step, parameters))
        try:
            return subprocess.run(
                [sys.executable, path],
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as expired:
            output = expired.stdout or ""
            output = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
            return subprocess.CompletedProcess(
                expired.cmd, -9, output + f"\nargodasf: timed out after {timeout:.0f}s\n"
            )


def replay(step: Step, address: str, cwd: str | None = None, timeout: float | None = None) -> str:
    """Run the step script as the job will; raise with its log tail if it fails."""
    result = run_script(step, address, cwd=cwd, timeout=timeout or step.deadline)
    if result.returncode != 0:
        tail = " | ".join(line for line in result.stdout.strip().splitlines()[-3:])
        raise ArgodasfError(f"--replay of step '{step.name}' exited with {result.returncode}; not promoted: {tail}")
    return result.stdout
