"""Hostile input through the real magics in a real IPython shell, against healthy
and faulty Kubernetes and Argo servers: the exact one-line message, no traceback,
a bound on time, nothing left behind, the draft unchanged, the token never shown."""

from __future__ import annotations

import json
import os
import time

import dask
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from argodasf_jupyter import promote
from argodasf_jupyter.draft import Draft
from hostile.conftest import Outcome, files_holding, temporary_files
from hostile.faulty import DOCTOR_REASONS, FAULTS, TOKEN, FaultyServer, client_timeouts, hang_bound, kubeconfig

NAME_RULE = (
    "is not a valid Kubernetes name; use lowercase letters, digits and '-', starting and ending with a letter or digit"
)
WF_RULE = "is not a Kubernetes name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
K8S_HINT = "check them with argodasf doctor"

# (id, cell, expected message)
INPUT_CASES = [
    (
        "workers-true",
        "%%dasf_cluster\nworkers: true",
        "the cluster spec: 'workers' should be a valid integer (got True)",
    ),
    (
        "workers-float",
        "%%dasf_cluster\nworkers: 2.5",
        "the cluster spec: 'workers' should be a valid integer (got 2.5)",
    ),
    (
        "threads-string",
        "%%dasf_cluster\nthreads_per_worker: '2'",
        "the cluster spec: 'threads_per_worker' should be a valid integer (got '2')",
    ),
    (
        "duplicate-key",
        "%%dasf_cluster\nworkers: 1\nworkers: 2",
        "the %%dasf_cluster cell body is not valid YAML at line 2: the key 'workers' is given twice",
    ),
    (
        "memory-inf",
        "%%dasf_cluster\nmemory_limit: .inf",
        "the cluster spec: memory_limit 'inf' is not a size; write it like 4GiB, 512MiB or 'auto'",
    ),
    (
        "memory-1e400",
        "%%dasf_cluster\nmemory_limit: 1e400",
        "the cluster spec: memory_limit '1e400' is not a size; write it like 4GiB, 512MiB or 'auto'",
    ),
    (
        "memory-list",
        "%%dasf_cluster\nmemory_limit: [4GiB]",
        "the cluster spec: memory_limit 'list' is not a size; write it like 4GiB, 512MiB or 'auto'",
    ),
    (
        "memory-map",
        "%%dasf_cluster\nmemory_limit: {size: 4GiB}",
        "the cluster spec: memory_limit 'dict' is not a size; write it like 4GiB, 512MiB or 'auto'",
    ),
    (
        "memory-huge",
        "%dasf_cluster --memory 99999PiB",
        "the cluster spec: memory_limit '99999PiB' is above 1PiB; write the size of one worker, e.g. 4GiB",
    ),
    (
        "memory-negative",
        "%dasf_cluster --memory=-4GiB",
        "the cluster spec: memory_limit '-4GiB' is below 128MiB; a Dask worker needs more",
    ),
    (
        "cpu-lots",
        "%%dasf_cluster\ncpu: lots",
        "the cluster spec: cpu 'lots' is not a CPU amount; write cores (2, 0.5) or millicores (500m), at most 1024 cores",
    ),
    (
        "cpu-zero",
        "%%dasf_cluster\ncpu: 0",
        "the cluster spec: cpu '0' is not a CPU amount; write cores (2, 0.5) or millicores (500m), at most 1024 cores",
    ),
    (
        "cpu-list",
        "%%dasf_cluster\ncpu: [1]",
        "the cluster spec: cpu 'list' is not a CPU amount; write cores (2, 0.5) or millicores (500m), at most 1024 cores",
    ),
    ("workers-and-adapt", "%dasf_cluster --workers 2 --adapt 1:3", "give either --workers or --adapt, not both"),
    ("adapt-words", "%dasf_cluster --adapt one:two", "--adapt 'one:two' must be MIN:MAX, e.g. --adapt 1:4"),
    ("workers-abc", "%dasf_cluster --workers abc", "argument --workers: invalid int value: 'abc'"),
    (
        "as-dash",
        "%dasf_cluster --as bad-prefix",
        "--as 'bad-prefix' makes names Python cannot use (bad-prefix_cluster, bad-prefix_client, bad-prefix_executor); use letters, digits and '_', starting with a letter",
    ),
    (
        "as-digit",
        "%dasf_cluster --as 1st",
        "--as '1st' makes names Python cannot use (1st_cluster, 1st_client, 1st_executor); use letters, digits and '_', starting with a letter",
    ),
    ("braces-literal", "%dasf_cluster {n}", f"the cluster spec: the cluster name '{{n}}' {NAME_RULE}"),
    ("dollar-literal", "%dasf_cluster $n", f"the cluster spec: the cluster name '$n' {NAME_RULE}"),
    ("quoted-name", "%dasf_cluster 'Bad Name'", f"the cluster spec: the cluster name 'Bad Name' {NAME_RULE}"),
    ("open-quote", "%dasf_cluster 'abc", "the magic line cannot be split (No closing quotation); check its quotes"),
    (
        "namespace-path",
        "%dasf_cluster --namespace ../kube-system",
        f"the cluster spec: the namespace '../kube-system' {NAME_RULE}",
    ),
    ("flag-typo", "%dasf_cluster --wrokers 2", "unrecognized arguments: --wrokers; did you mean --workers?"),
    ("body-list", "%%dasf_cluster\n[1, 2]", "the %%dasf_cluster cell body must be YAML 'key: value' lines, got a list"),
    ("close-unknown", "%dasf_close nosuch", "no cluster named 'nosuch' in this kernel (clusters: none)"),
    ("doctor-extra", "%dasf_doctor extra", "unrecognized arguments: extra"),
    ("doctor-namespace", "%dasf_doctor --namespace ../x", f"the namespace '../x' {NAME_RULE}"),
    # %%dasf_workflow
    (
        "step-underscore",
        "%%dasf_workflow bad_name --container alpine:3\necho hi",
        f"the step name 'bad_name' {NAME_RULE}",
    ),
    ("step-quotes", '%%dasf_workflow \'x"""\' --container alpine:3\necho hi', f'the step name \'x"""\' {NAME_RULE}'),
    (
        "outputs-root",
        "%%dasf_workflow s1 --outputs / --container alpine:3\necho hi",
        "--outputs '/' names no particular file or directory; give the path it reads or writes, e.g. /shared/out.zarr",
    ),
    (
        "inputs-dot",
        "%%dasf_workflow s1 --inputs . --container alpine:3\necho hi",
        "--inputs '.' names no particular file or directory; give the path it reads or writes, e.g. /shared/out.zarr",
    ),
    (
        "retries-typo",
        "%%dasf_workflow s1 --retires 2 --container alpine:3\necho hi",
        "unrecognized arguments: --retires 2; did you mean --retries?",
    ),
    (
        "retries-negative",
        "%%dasf_workflow s1 --retries=-1 --container alpine:3\necho hi",
        "--retries -1 is out of range; use 0..20",
    ),
    (
        "timeout-float",
        "%%dasf_workflow s1 --timeout 1e20 --container alpine:3\necho hi",
        "argument --timeout: invalid int value: '1e20'",
    ),
    (
        "timeout-huge",
        "%%dasf_workflow s1 --timeout 100000000000000000000 --container alpine:3\necho hi",
        "--timeout 100000000000000000000 is out of range; use 1..2592000 seconds (30 days)",
    ),
    (
        "after-unknown",
        "%%dasf_workflow s1 --after stgae --container alpine:3\necho hi",
        "step 's1' runs after 'stgae', which is not in the draft: did you mean 'stage'?",
    ),
    (
        "after-bad-name",
        "%%dasf_workflow s1 --after ../x --container alpine:3\necho hi",
        f"the --after step name '../x' {NAME_RULE}",
    ),
    (
        "after-itself",
        "%%dasf_workflow s1 --after s1 --container alpine:3\necho hi",
        "step 's1' cannot run after itself; remove it from --after",
    ),
    (
        "workflow-workers-adapt",
        "%%dasf_workflow s1 --workers 2 --adapt 1:3\nx = 1",
        "give either --workers or --adapt, not both",
    ),
    ("workflow-no-name", "%%dasf_workflow\nx = 1", "the following arguments are required: name"),
    # %dasf_workflow
    (
        "command-unknown",
        "%dasf_workflow nosuch",
        "argument command: invalid choice: 'nosuch' (choose from 'show', 'export', 'remove', 'clear', 'run', 'submit', 'status', 'logs', 'dashboard', 'list', 'check', 'stop', 'terminate', 'retry', 'resubmit', 'publish')",
    ),
    (
        "remove-unknown",
        "%dasf_workflow remove stgae",
        "no step 'stgae' in the workflow draft 'nb'; did you mean 'stage'?",
    ),
    ("remove-arity", "%dasf_workflow remove", "usage: %dasf_workflow remove STEP"),
    ("export-suffix", "%dasf_workflow export wf.txt", "cannot export to 'wf.txt'; use a .yaml or a .py file name"),
    (
        "export-missing-dir",
        "%dasf_workflow export /nonexistent/dir/wf.yaml",
        "cannot write '/nonexistent/dir/wf.yaml' (No such file or directory); give a file path in an existing, writable directory",
    ),
    (
        "export-onto-dir",
        "%dasf_workflow export {tmp}/adir.py",
        "cannot write '{tmp}/adir.py' (Is a directory); give a file path in an existing, writable directory",
    ),
    (
        "status-nothing",
        "%dasf_workflow status",
        "no workflow submitted from this kernel yet; name one: %dasf_workflow status NAME",
    ),
    (
        "run-not-local",
        "%dasf_workflow run",
        "use `%dasf_workflow run --local` to run here, or `%dasf_workflow submit` for Argo",
    ),
    ("param-no-equals", "%dasf_workflow run --local --param novalue", "--param 'novalue' must be NAME=VALUE"),
    (
        "param-int-abc",
        "%dasf_workflow run --local --param n=abc",
        "--param n=abc: the default of 'n' is 3; give a value of type int",
    ),
    (
        "param-braces",
        "%dasf_workflow run --local --param 'x={{workflow.name}}'",
        "unknown parameter 'x'; the workflow's parameters are: n",
    ),
    (
        "param-dollar",
        "%dasf_workflow run --local --param n=$n",
        "--param n=$n: the default of 'n' is 3; give a value of type int",
    ),
]

# with no Argo Server configured: names are checked before anything else
NAME_CASES = [
    (
        "status-path",
        "%dasf_workflow status ../../../api/v1/version",
        f"workflow name '../../../api/v1/version' {WF_RULE}",
    ),
    ("status-encoded", "%dasf_workflow status ..%2F..%2Fversion", f"workflow name '..%2F..%2Fversion' {WF_RULE}"),
    ("status-upper", "%dasf_workflow status WF", f"workflow name 'WF' {WF_RULE}"),
    ("logs-path", "%dasf_workflow logs ../x", f"workflow name '../x' {WF_RULE}"),
    ("logs-step-path", "%dasf_workflow logs wf-abc ../../x", f"step name '../../x' {WF_RULE}"),
    ("logs-query", "%dasf_workflow logs 'wf?x=1'", f"workflow name 'wf?x=1' {WF_RULE}"),
]

ARGO = "http://{address}"
ARGO_EXPECTED = {
    # (command, fault) -> message; {argo} is the server's URL
    "status": ("reading workflow 'wf-abc'", "%dasf_workflow status wf-abc"),
    "logs": ("reading the logs of 'wf-abc'", "%dasf_workflow logs wf-abc"),
    "list": ("listing workflows", "%dasf_workflow list"),
    "submit": ("submitting workflow 'nb'", "%dasf_workflow submit"),
}
NOT_ARGO = "gave an answer that is not Argo's ({kind}); check ARGO_SERVER and ARGO_BASE_HREF"
FAULT_MESSAGES = {
    "hang": "the Argo Server at {argo} did not answer within 1 s; try again later, or raise argodasf.argo.timeout",
    "slow": "the Argo Server at {argo} did not answer within 1 s; try again later, or raise argodasf.argo.timeout",
    "close": "cannot reach the Argo Server at {argo}; check ARGO_SERVER and that the server runs",
    "401": "the Argo Server at {argo} rejected the credentials (401); set ARGO_TOKEN to a valid token",
    "403": "not allowed in namespace 'team' (403); the token's service account needs access to workflows there",
    "409": "a workflow of that name already exists in 'team' (409); submit again for a new name",
    "500": "the Argo Server at {argo} failed: Server returned status code 500 with message: `denied for Bearer <token>`",
}


def argo_expected(command: str, fault: str) -> str:
    doing = ARGO_EXPECTED[command][0]
    if fault in FAULT_MESSAGES:
        return f"{doing}: {FAULT_MESSAGES[fault]}"
    if command == "logs":  # a 200 answer: lines that are not log entries are skipped
        return "no log lines yet"
    if command == "list" and fault == "wrongshape":
        return f"{doing}: the Argo Server at {{argo}} " + NOT_ARGO.format(kind="ValidationError")
    kind = {
        "nonjson": "JSONDecodeError",
        "ndjson-bad": "JSONDecodeError",
        "list": "TypeError",
        "wrongshape": "ValidationError",
    }[fault]
    return f"{doing}: the Argo Server at {{argo}} " + NOT_ARGO.format(kind=kind)


ARGO_CASES = [
    (f"argo-{command}-{fault}", ARGO_EXPECTED[command][1], command, fault)
    for command in ARGO_EXPECTED
    for fault in FAULTS
]

KUBE_MESSAGES = {
    "hang": "the Kubernetes API server did not answer within 1 s; check it with argodasf doctor, or raise argodasf.kubernetes.request-timeout",
    "slow": "the Kubernetes API server did not answer within 1 s; check it with argodasf doctor, or raise argodasf.kubernetes.request-timeout",
    "close": "cannot reach the Kubernetes API server at 127.0.0.1; check your network and kubeconfig",
    "401": "the Kubernetes API server refused the credentials (401); refresh your kubeconfig or token",
    "403": "permission denied: you may not get /version/ in namespace '(the kubeconfig's default)'; ask an admin for a Role that grants it (argodasf doctor lists what is missing)",
    "409": "Kubernetes API error 409 on get /version/ for cluster 'dasf' in namespace '(the kubeconfig's default)'",
    "500": "Kubernetes API error 500 on get /version/ for cluster 'dasf' in namespace '(the kubeconfig's default)'",
    "nonjson": f"cannot use the kubeconfig or the Kubernetes API server's answer for cluster 'dasf' (JSONDecodeError); {K8S_HINT}",
    "ndjson-bad": f"cannot use the kubeconfig or the Kubernetes API server's answer for cluster 'dasf' (JSONDecodeError); {K8S_HINT}",
    "list": f"cannot use the kubeconfig or the Kubernetes API server's answer for cluster 'dasf' (TypeError); {K8S_HINT}",
    "wrongshape": f"cannot use the kubeconfig or the Kubernetes API server's answer for cluster 'dasf' (AttributeError); {K8S_HINT}",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory, module_shell):
    """A shell whose notebook has a draft of two steps, with short timeouts."""
    root = tmp_path_factory.mktemp("hostile-magics")
    (root / "drafts").mkdir()
    (root / "adir.py").mkdir()
    with dask.config.set(
        {
            "argodasf.workflow.draft-dir": str(root / "drafts"),
            "argodasf.argo.timeout": 1,
            "argodasf.kubernetes.request-timeout": 1,
        }
    ):
        module_shell.user_ns["__session__"] = str(root / "nb.ipynb")
        module_shell.user_ns["n"] = 5
        draft = Draft.load(str(root / "drafts" / "nb.dasf-workflow.json"))
        draft.add(promote.make_step("stage", "y = n * 2\n", values={"n": 3}))
        draft.add(promote.make_step("report", "echo done\n", container="alpine:3", after=["stage"]))
        yield module_shell, root, draft.path


def run(world, cell: str, bound: float = 20.0) -> Outcome:
    from argodasf_jupyter.session import current_session

    shell, root, path = world
    before = open(path, "rb").read()
    started = time.monotonic()
    with capture_output() as captured:
        result = shell.run_cell(cell.replace("{tmp}", str(root)), store_history=False)
    seconds = time.monotonic() - started
    error = result.error_in_exec or result.error_before_exec
    if isinstance(error, UsageError):
        message = str(error)
    elif error is not None:
        message = f"{type(error).__name__}: {error}"
    else:
        shown = [output.data.get("text/plain", "") for output in captured.outputs]
        message = (captured.stdout.strip().splitlines() or shown or [""])[-1]
    output = captured.stdout + captured.stderr + "".join(str(o.data) for o in captured.outputs)
    after = open(path, "rb").read()
    assert after == before, "the draft changed"
    assert temporary_files(root, os.environ["JUPYTER_RUNTIME_DIR"]) == []
    assert current_session().clusters == {}
    steps = [step["name"] for step in json.loads(after)["steps"]]
    return Outcome(
        message.replace(str(root), "{tmp}"),
        output,
        seconds,
        steps_before=["stage", "report"],
        steps_after=steps,
        bound=bound,
    )


@pytest.mark.parametrize(
    "cell, expected",
    [case[1:] for case in INPUT_CASES + NAME_CASES],
    ids=[case[0] for case in INPUT_CASES + NAME_CASES],
)
def test_bad_input(world, cell, expected, process_snapshot):
    before = process_snapshot()
    run(world, cell).check(expected)
    assert process_snapshot() == before


@pytest.mark.parametrize(
    "cell, command, fault", [case[1:] for case in ARGO_CASES], ids=[case[0] for case in ARGO_CASES]
)
def test_faulty_argo(world, monkeypatch, cell, command, fault, caplog):
    with FaultyServer(fault, delay=5) as server, dask.config.set(client_timeouts(fault)):
        monkeypatch.setenv("ARGO_SERVER", server.address)
        monkeypatch.setenv("ARGO_SECURE", "false")
        monkeypatch.setenv("ARGO_NAMESPACE", "team")
        monkeypatch.setenv("ARGO_TOKEN", TOKEN)
        outcome = run(world, cell, bound=hang_bound(fault, 5))
        outcome.output += caplog.text
        outcome.message = outcome.message.replace(f"http://{server.address}", "{argo}")
        outcome.check(argo_expected(command, fault))
        assert server.requests, "the server was never asked"


def test_a_hostile_workflow_name_never_reaches_the_server(world, monkeypatch):
    with FaultyServer("500") as server:
        monkeypatch.setenv("ARGO_SERVER", server.address)
        monkeypatch.setenv("ARGO_SECURE", "false")
        for _, cell, expected in NAME_CASES:
            run(world, cell).check(expected)
        assert server.requests == []


@pytest.mark.parametrize("fault", FAULTS)
def test_faulty_kubernetes_cluster(world, monkeypatch, tmp_path, fault, process_snapshot, caplog):
    before = process_snapshot()
    with FaultyServer(fault, delay=5) as server, dask.config.set(client_timeouts(fault)):
        monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path / "kubeconfig", server.address))
        cell = "%%dasf_cluster --backend kubernetes\nimage: example.org/dask:1"
        outcome = run(world, cell, bound=hang_bound(fault, 6))
        outcome.output += caplog.text
        outcome.check(KUBE_MESSAGES[fault])
    assert process_snapshot() == before


@pytest.mark.parametrize("fault", FAULTS)
def test_faulty_kubernetes_doctor(world, monkeypatch, tmp_path, fault, caplog):
    with FaultyServer(fault, delay=5) as server, dask.config.set(client_timeouts(fault)):
        monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path / "kubeconfig", server.address))
        outcome = run(world, "%dasf_doctor", bound=hang_bound(fault, 12))
        outcome.output += caplog.text
        first = [line for line in outcome.output.splitlines() if "Kubernetes credentials" in line][0]
        outcome.message = first.strip()
        outcome.check(
            f"[FAIL] Kubernetes credentials  credentials found but the API server did not answer ({DOCTOR_REASONS[fault]})"
        )


def test_help_is_shown_not_refused(world):
    for cell, usage in (
        ("%dasf_workflow --help", "%dasf_workflow [--local]"),
        ("%%dasf_workflow -h\nx = 1", "%%dasf_workflow [--after STEP [STEP ...]]"),
        ("%dasf_cluster --help", "dasf_cluster [--backend {auto,local,kubernetes}]"),
        ("%dasf_doctor --help", "%dasf_doctor [--namespace NAMESPACE] [-h]"),
    ):
        outcome = run(world, cell)
        assert usage in outcome.output, outcome.output[:300]
        outcome.message = "help"
        outcome.check("help")


def test_no_file_the_cases_wrote_holds_the_token(world):
    _, root, _ = world
    assert files_holding(TOKEN, root, os.environ["JUPYTER_RUNTIME_DIR"]) == []
