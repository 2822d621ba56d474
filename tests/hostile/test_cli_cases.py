"""Hostile input through the `argodasf` command, run as a user runs it (a subprocess):
the exact last line on stderr, the exit code, no traceback, a bound on time, no
temporary files, input files unchanged, the token never shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from hostile.conftest import Outcome, files_holding, temporary_files
from hostile.faulty import DOCTOR_REASONS, FAULTS, TOKEN, FaultyServer, client_timeouts_env, hang_bound, kubeconfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRAFT_ERROR = "argodasf: error: the workflow draft {name} cannot be read ({problem}); fix or delete it"
STEP = {"name": "stage", "code": "print(1)\n"}


def notebook(*sources, raw=None) -> str:
    if raw is not None:
        return raw
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "source": source} for source in sources]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def draft(**fields) -> str:
    return json.dumps({"version": 1, "name": "wf", "steps": [STEP], **fields})


WF = "%%dasf_workflow stage --container alpine:3\necho hi\n"
# (id, files {name: text}, argv, exit code, last line of stderr)
CASES = [
    ("no-command", {}, [], 2, "argodasf: error: the following arguments are required: COMMAND"),
    (
        "unknown-command",
        {},
        ["frobnicate"],
        2,
        "argodasf: error: argument COMMAND: invalid choice: 'frobnicate' (choose from 'promote', 'render', 'submit', 'logs', 'dashboard', 'stop', 'terminate', 'retry', 'resubmit', 'publish', 'rbac', 'doctor')",
    ),
    ("render-missing", {}, ["render", "nosuch.json"], 1, "argodasf: error: no such draft or notebook: nosuch.json"),
    (
        "promote-missing",
        {},
        ["promote", "nosuch.ipynb"],
        1,
        "argodasf: error: cannot read notebook nosuch.ipynb (No such file or directory)",
    ),
    (
        "nb-not-json",
        {"nb.ipynb": "{cells"},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: notebook nb.ipynb is not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
    ),
    (
        "nb-list",
        {"nb.ipynb": "[1, 2]"},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: notebook nb.ipynb has no list of cells; is it a .ipynb file (nbformat 4)?",
    ),
    (
        "nb-cells-5",
        {"nb.ipynb": '{"cells": 5}'},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: notebook nb.ipynb has no list of cells; is it a .ipynb file (nbformat 4)?",
    ),
    (
        "nb-no-cells",
        {"nb.ipynb": "{}"},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: notebook nb.ipynb has no list of cells; is it a .ipynb file (nbformat 4)?",
    ),
    (
        "nb-source-number",
        {"nb.ipynb": '{"cells": [{"cell_type": "code", "source": 5}]}'},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: notebook nb.ipynb: the source of cell 1 is not text",
    ),
    (
        "nb-no-source",
        {"nb.ipynb": '{"cells": [{"cell_type": "code"}]}'},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: the workflow draft 'nb' has no steps yet; promote a cell with %%dasf_workflow NAME",
    ),
    (
        "nb-cell-not-object",
        {"nb.ipynb": '{"cells": [5, "x", null]}'},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: the workflow draft 'nb' has no steps yet; promote a cell with %%dasf_workflow NAME",
    ),
    (
        "nb-retires",
        {"nb.ipynb": notebook("%%dasf_workflow s1 --retires 2 --container alpine:3\necho\n")},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: cell 1: unrecognized arguments: --retires 2; did you mean --retries?",
    ),
    (
        "nb-open-quote",
        {"nb.ipynb": notebook("%%dasf_workflow 's1 --container alpine:3\necho\n")},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: cell 1: the magic line cannot be split (No closing quotation); check its quotes",
    ),
    (
        "nb-bad-step",
        {"nb.ipynb": notebook("%%dasf_workflow S_1 --container alpine:3\necho\n")},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: the step name 'S_1' is not a valid Kubernetes name; use lowercase letters, digits and '-', starting and ending with a letter or digit",
    ),
    (
        "nb-step-code",
        {"nb.ipynb": notebook('%%dasf_workflow \'a"""\\nimport os\' --container alpine:3\necho\n')},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: the step name 'a\"\"\"\\nimport os' is not a valid Kubernetes name; use lowercase letters, digits and '-', starting and ending with a letter or digit",
    ),
    (
        "nb-outputs-root",
        {"nb.ipynb": notebook("%%dasf_workflow s1 --outputs / --container alpine:3\necho\n")},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: --outputs '/' names no particular file or directory; give the path it reads or writes, e.g. /shared/out.zarr",
    ),
    (
        "nb-workers-adapt",
        {"nb.ipynb": notebook("%%dasf_workflow s1 --workers 2 --adapt 1:3\nx = 1\n")},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: give either --workers or --adapt, not both",
    ),
    (
        "nb-cluster-inf",
        {"nb.ipynb": notebook("%%dasf_cluster\nmemory_limit: .inf\n", WF)},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: the cluster of cell 1: memory_limit 'inf' is not a size; write it like 4GiB, 512MiB or 'auto'",
    ),
    (
        "nb-cluster-true",
        {"nb.ipynb": notebook("%%dasf_cluster\nworkers: true\n", WF)},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: the cluster of cell 1: 'workers' should be a valid integer (got True)",
    ),
    (
        "nb-cluster-dup",
        {"nb.ipynb": notebook("%%dasf_cluster\nworkers: 1\nworkers: 3\n", WF)},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: the %%dasf_cluster cell body is not valid YAML at line 2: the key 'workers' is given twice",
    ),
    (
        "nb-cluster-cpu",
        {"nb.ipynb": notebook("%%dasf_cluster\ncpu: lots\n", WF)},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: the cluster of cell 1: cpu 'lots' is not a CPU amount; write cores (2, 0.5) or millicores (500m), at most 1024 cores",
    ),
    (
        "nb-cluster-flag",
        {"nb.ipynb": notebook("%%dasf_cluster --wokers 2\n", WF)},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: cell 1: unrecognized arguments: --wokers; did you mean --workers?",
    ),
    (
        "nb-braces-kept",
        {"nb.ipynb": notebook("%%dasf_workflow {n} --container alpine:3\necho\n")},
        ["promote", "nb.ipynb"],
        1,
        "argodasf: error: the step name '{n}' is not a valid Kubernetes name; use lowercase letters, digits and '-', starting and ending with a letter or digit",
    ),
    (
        "draft-list",
        {"d.dasf-workflow.json": "[]"},
        ["render", "d.dasf-workflow.json"],
        1,
        DRAFT_ERROR.format(name="d.dasf-workflow.json", problem="not a JSON object"),
    ),
    (
        "draft-not-json",
        {"d.dasf-workflow.json": "{"},
        ["render", "d.dasf-workflow.json"],
        1,
        DRAFT_ERROR.format(
            name="d.dasf-workflow.json",
            problem="Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
    ),
    (
        "draft-steps-5",
        {"d.dasf-workflow.json": draft(steps=5)},
        ["render", "d.dasf-workflow.json"],
        1,
        DRAFT_ERROR.format(name="d.dasf-workflow.json", problem="steps: Input should be a valid list"),
    ),
    (
        "draft-steps-dict",
        {"d.dasf-workflow.json": draft(steps={"a": 1})},
        ["render", "d.dasf-workflow.json"],
        1,
        DRAFT_ERROR.format(name="d.dasf-workflow.json", problem="steps: Input should be a valid list"),
    ),
    (
        "draft-version",
        {"d.dasf-workflow.json": draft(version=2)},
        ["render", "d.dasf-workflow.json"],
        1,
        DRAFT_ERROR.format(name="d.dasf-workflow.json", problem="version 2 is not 1"),
    ),
    (
        "draft-name-code",
        {"d.dasf-workflow.json": draft(name='x"""\nimport os; os.system("touch pwned")\n"""')},
        ["render", "d.dasf-workflow.json", "-o", "wf.py"],
        1,
        DRAFT_ERROR.format(
            name="d.dasf-workflow.json",
            problem='name: the draft name \'x"""\\nimport os; os.system("touch pwned")\\n"""\' must be at most 20 lowercase letters, digits and \'-\', starting with a letter',
        ),
    ),
    (
        "draft-step-code",
        {"d.dasf-workflow.json": draft(steps=[{**STEP, "name": 'a"""\nimport os\n"""'}])},
        ["render", "d.dasf-workflow.json", "-o", "wf.py"],
        1,
        DRAFT_ERROR.format(
            name="d.dasf-workflow.json",
            problem='steps: the step name \'a"""\\nimport os\\n"""\' is not a valid Kubernetes name; use lowercase letters, digits and \'-\', starting and ending with a letter or digit',
        ),
    ),
    (
        "draft-param-code",
        {"d.dasf-workflow.json": draft(steps=[{**STEP, "parameters": {'x"""; import os': 1}}])},
        ["render", "d.dasf-workflow.json", "-o", "wf.py"],
        1,
        DRAFT_ERROR.format(
            name="d.dasf-workflow.json",
            problem="steps: step 'stage' uses 'x\"\"\"; import os' as a variable name, which Python cannot",
        ),
    ),
    (
        "draft-after-path",
        {"d.dasf-workflow.json": draft(steps=[{**STEP, "after": ["../x"]}])},
        ["render", "d.dasf-workflow.json"],
        1,
        DRAFT_ERROR.format(
            name="d.dasf-workflow.json",
            problem="steps: the --after step name '../x' is not a valid Kubernetes name; use lowercase letters, digits and '-', starting and ending with a letter or digit",
        ),
    ),
    (
        "draft-unknown-key",
        {"d.dasf-workflow.json": draft(owner="me")},
        ["render", "d.dasf-workflow.json"],
        1,
        DRAFT_ERROR.format(name="d.dasf-workflow.json", problem="owner: Extra inputs are not permitted"),
    ),
    (
        "draft-step-no-code",
        {"d.dasf-workflow.json": draft(steps=[{"name": "stage"}])},
        ["render", "d.dasf-workflow.json"],
        1,
        DRAFT_ERROR.format(name="d.dasf-workflow.json", problem="steps.0.code: Field required"),
    ),
    (
        "draft-binary",
        {"d.dasf-workflow.json": "\udcff\udcfe"},
        ["render", "d.dasf-workflow.json"],
        1,
        DRAFT_ERROR.format(name="d.dasf-workflow.json", problem="Expecting value: line 1 column 1 (char 0)"),
    ),
    (
        "render-to-missing-dir",
        {"d.dasf-workflow.json": draft()},
        ["render", "d.dasf-workflow.json", "-o", "/nonexistent/wf.yaml"],
        1,
        "argodasf: error: cannot write '/nonexistent/wf.yaml' (No such file or directory); give a file path in an existing, writable directory",
    ),
    (
        "render-onto-dir",
        {"d.dasf-workflow.json": draft(), "adir.yaml/keep": ""},
        ["render", "d.dasf-workflow.json", "-o", "adir.yaml"],
        1,
        "argodasf: error: cannot write 'adir.yaml' (Is a directory); give a file path in an existing, writable directory",
    ),
    (
        "render-suffix",
        {"d.dasf-workflow.json": draft()},
        ["render", "d.dasf-workflow.json", "-o", "wf.txt"],
        1,
        "argodasf: error: cannot export to 'wf.txt'; use a .yaml or a .py file name",
    ),
    (
        "submit-no-argo",
        {"d.dasf-workflow.json": draft()},
        ["submit", "d.dasf-workflow.json"],
        1,
        "argodasf: error: no Argo Server is configured; set ARGO_SERVER=host:port (and ARGO_TOKEN) or argodasf.argo.server; the draft is kept",
    ),
    (
        "rbac-bad-namespace",
        {},
        ["rbac", "--namespace", "Team_A"],
        1,
        "argodasf: error: the namespace 'Team_A' is not a valid Kubernetes name; use lowercase letters, digits and '-', starting and ending with a letter or digit",
    ),
    (
        "rbac-bad-account",
        {},
        ["rbac", "--namespace", "team", "--service-account", "../sa"],
        1,
        "argodasf: error: the service account '../sa' is not a valid Kubernetes name; use lowercase letters, digits and '-', starting and ending with a letter or digit",
    ),
    (
        "doctor-unknown-flag",
        {},
        ["doctor", "--namspace", "x"],
        2,
        "argodasf doctor: error: unrecognized arguments: --namspace x",
    ),
    (
        "doctor-bad-namespace",
        {},
        ["doctor", "--namespace", "Team_A"],
        1,
        "argodasf: error: the namespace 'Team_A' is not a valid Kubernetes name; use lowercase letters, digits and '-', starting and ending with a letter or digit",
    ),
    (
        "doctor-no-kubeconfig",
        {},
        ["doctor", "--namespace", "team"],
        1,
        "fix: set KUBECONFIG or create ~/.kube/config for your cluster, or use backend: local",
    ),
]

ARGO_MESSAGES = {
    "hang": "did not answer within 1 s; try again later, or raise argodasf.argo.timeout",
    "slow": "did not answer within 1 s; try again later, or raise argodasf.argo.timeout",
    "close": "cannot reach the Argo Server at {argo}; check ARGO_SERVER and that the server runs",
    "401": "rejected the credentials (401); set ARGO_TOKEN to a valid token",
    "403": "not allowed in namespace 'argo' (403); the token's service account needs access to workflows there",
    "409": "a workflow of that name already exists in 'argo' (409); submit again for a new name",
    "500": "failed: Server returned status code 500 with message: `denied for Bearer <token>`",
    "nonjson": "gave an answer that is not Argo's (JSONDecodeError); check ARGO_SERVER and ARGO_BASE_HREF",
    "ndjson-bad": "gave an answer that is not Argo's (JSONDecodeError); check ARGO_SERVER and ARGO_BASE_HREF",
    "list": "gave an answer that is not Argo's (TypeError); check ARGO_SERVER and ARGO_BASE_HREF",
    "wrongshape": "gave an answer that is not Argo's (ValidationError); check ARGO_SERVER and ARGO_BASE_HREF",
}


def argodasf(tmp_path, *argv, env=None, bound=20.0) -> tuple[subprocess.CompletedProcess, float]:
    environment = {
        **os.environ,
        "PYTHONPATH": ROOT,
        "HOME": str(tmp_path / "home"),
        "DASK_CONFIG": str(tmp_path / "home" / "dask"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "DASK_ARGODASF__ARGO__TIMEOUT": "1",
        "DASK_ARGODASF__KUBERNETES__REQUEST_TIMEOUT": "1",
        **(env or {}),
    }
    for name in ("KUBECONFIG", "ARGO_SERVER", "ARGO_TOKEN", "ARGO_NAMESPACE"):
        if name not in (env or {}):
            environment.pop(name, None)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "argodasf_jupyter.cli", *argv],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=bound + 30,
    )
    return done, time.monotonic() - started


def outcome_of(tmp_path, done, seconds, bound) -> Outcome:
    lines = done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or [""]
    return Outcome(lines[-1].replace(str(tmp_path), "{tmp}"), done.stdout + done.stderr, seconds, bound=bound)


def write_files(tmp_path, files: dict) -> dict:
    (tmp_path / "home").mkdir(exist_ok=True)
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return {name: (tmp_path / name).read_bytes() for name in files}


@pytest.mark.parametrize("files, argv, code, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input(tmp_path, files, argv, code, expected):
    before = write_files(tmp_path, files)
    done, seconds = argodasf(tmp_path, *argv)
    outcome_of(tmp_path, done, seconds, 20.0).check(expected)
    assert done.returncode == code
    assert {name: (tmp_path / name).read_bytes() for name in files} == before
    assert temporary_files(tmp_path) == [] and not (tmp_path / "pwned").exists() and not (tmp_path / "wf.py").exists()


@pytest.mark.parametrize("fault", FAULTS)
def test_submit_to_a_faulty_argo(tmp_path, fault):
    write_files(tmp_path, {"d.dasf-workflow.json": draft()})
    with FaultyServer(fault, delay=5) as server:
        env = {
            "ARGO_SERVER": server.address,
            "ARGO_SECURE": "false",
            "ARGO_TOKEN": TOKEN,
            **client_timeouts_env(fault),
        }
        done, _ = argodasf(tmp_path, "submit", "d.dasf-workflow.json", env=env, bound=hang_bound(fault, 20.0))
        outcome = outcome_of(tmp_path, done, server.seconds_since_first_request(), hang_bound(fault, 8.0))
        outcome.message = outcome.message.replace(f"http://{server.address}", "{argo}")
        message = ARGO_MESSAGES[fault]
        if not message.startswith("cannot"):
            message = (
                "the Argo Server at {argo} "
                if not message.startswith("not allowed") and not message.startswith("a workflow")
                else ""
            ) + message
        outcome.check(f"argodasf: error: submitting workflow 'wf': {message}")
        assert done.returncode == 1 and server.requests
    assert files_holding(TOKEN, tmp_path) == []


@pytest.mark.parametrize("fault", FAULTS)
def test_doctor_against_a_faulty_kubernetes(tmp_path, fault):
    with FaultyServer(fault, delay=5) as server:
        env = {
            "KUBECONFIG": kubeconfig(tmp_path / "kubeconfig", server.address),
            **client_timeouts_env(fault),
        }
        done, _ = argodasf(tmp_path, "doctor", env=env, bound=hang_bound(fault, 12.0))
        outcome = outcome_of(tmp_path, done, server.seconds_since_first_request(), hang_bound(fault, 12.0))
        first = done.stdout.splitlines()[0] if done.stdout else ""
        outcome.message = first
        outcome.check(
            f"[FAIL] Kubernetes credentials  credentials found but the API server did not answer "
            f"({DOCTOR_REASONS[fault]})"
        )
        assert done.returncode == 1
    assert files_holding(TOKEN, tmp_path) == [str(tmp_path / "kubeconfig")]


def test_doctor_help_is_shown(tmp_path):
    done, seconds = argodasf(tmp_path, "doctor", "--help")
    assert done.returncode == 0 and "usage: argodasf doctor [-h] [--namespace NAMESPACE]" in done.stdout
    outcome = outcome_of(tmp_path, done, seconds, 20.0)
    outcome.message = "help"
    outcome.check("help")
