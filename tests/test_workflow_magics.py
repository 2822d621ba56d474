"""%%dasf_workflow and %dasf_workflow in a real IPython shell with a real local cluster."""

from __future__ import annotations

import json
import os
import re

import dask
import pytest
import yaml
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from argodasf_jupyter import registry
from argodasf_jupyter.session import current_session
from argo.fake_server import StrictFakeArgo

LOCAL = "backend: local\nmemory_limit: 1GiB\n"
# relative paths in the steps' pods land on this claim (locally: the notebook's directory)
SHARED = "volumes: [{name: data, claim: shared-data, mount_path: /data, working_dir: true}]\n"
TOKEN = "magic-test-token"


@pytest.fixture
def drafts(tmp_path, monkeypatch):
    directory = tmp_path / "drafts"
    directory.mkdir()
    monkeypatch.chdir(directory)
    with dask.config.set({"argodasf.workflow.draft-dir": str(directory)}):
        yield directory


def run(shell, cell):
    with capture_output() as captured:
        result = shell.run_cell(cell, store_history=True)
    assert result.success, (result.error_in_exec or result.error_before_exec, captured.stdout, captured.stderr)
    return result, captured


def shown(captured) -> str:
    """Everything a cell printed or displayed, as text."""
    return captured.stdout + "".join(output.data.get("text/plain", "") for output in captured.outputs)


def run_failing(shell, cell):
    with capture_output() as captured:
        result = shell.run_cell(cell, store_history=True)
    assert not result.success
    return result.error_in_exec or result.error_before_exec, captured


def draft_steps(drafts) -> dict:
    with open(drafts / "workflow.dasf-workflow.json") as stream:
        return {step["name"]: step for step in json.load(stream)["steps"]}


def test_promote_show_export_run_and_edit_the_draft(shell, drafts):
    run(shell, f"%%dasf_cluster seismic --workers 1\n{LOCAL}{SHARED}")
    run(shell, "factor = 3\nout_path = 'total.txt'")
    _, captured = run(
        shell,
        "%%dasf_workflow total --outputs total.txt --workers 2\n"
        "import dask.array as da\n"
        "value = int(da.ones(10, chunks=5).sum().compute()) * factor\n"
        "open(out_path, 'w').write(str(value))\n",
    )
    assert "step 'total' promoted" in shown(captured)
    assert (drafts / "total.txt").read_text() == "30"  # the cell ran in the kernel
    step = draft_steps(drafts)["total"]
    assert step["parameters"] == {"factor": 3, "out_path": "total.txt"}
    assert step["cluster"]["workers"] == 2 and step["cluster"]["memory_limit"] == "1GiB"
    session = current_session()
    assert session.draft_summary["steps"] == [{"name": "total", "kind": "dasf", "after": []}]
    (record,) = registry.read_all()
    assert record["draft"]["name"] == "workflow"

    run(
        shell,
        "%%dasf_workflow stage --container alpine:3 --outputs staged.txt --local-command 'echo staged > staged.txt'\n"
        "echo staged\n",
    )
    run(
        shell,
        "%%dasf_workflow total --inputs staged.txt --outputs total.txt\nopen(out_path, 'w').write(str(factor * 2))\n",
    )
    assert list(draft_steps(drafts)) == ["total", "stage"]  # replaced in place

    view, _ = run(shell, "%dasf_workflow show")
    assert "total [dasf] after: stage" in view.result.fallback_text()

    run(shell, "%dasf_workflow export wf.yaml")
    run(shell, "%dasf_workflow export wf.py")
    document = yaml.safe_load((drafts / "wf.yaml").read_text())
    assert [task["name"] for task in document["spec"]["templates"][-1]["dag"]["tasks"]] == ["stage", "total"]
    assert "from hera.workflows import" in (drafts / "wf.py").read_text()

    os.remove(drafts / "total.txt")
    _, captured = run(shell, "%dasf_workflow run --local --param factor=5")
    assert (drafts / "staged.txt").read_text() == "staged\n"
    assert (drafts / "total.txt").read_text() == "10"
    assert "total                Succeeded" in shown(captured)

    run(shell, "%dasf_workflow remove stage")
    assert list(draft_steps(drafts)) == ["total"]
    error, _ = run_failing(shell, "%dasf_workflow remove totl")
    assert isinstance(error, UsageError) and "did you mean 'total'" in str(error)
    run(shell, "%dasf_workflow clear")
    assert draft_steps(drafts) == {}


def test_an_edge_on_a_pods_own_filesystem_is_refused_and_nothing_is_saved(shell, drafts):
    run(shell, f"%%dasf_cluster seismic --workers 1\n{LOCAL}")
    run(shell, "%%dasf_workflow stage --container alpine:3 --outputs staged.txt\necho staged > staged.txt\n")
    error, _ = run_failing(shell, "%%dasf_workflow total --inputs staged.txt\nprint('would read staged.txt')\n")
    assert isinstance(error, UsageError) and "\n" not in str(error)
    assert str(error).startswith(
        "step 'total' reads 'staged.txt', which step 'stage' writes, but each step runs "
        "in pods of its own; put it on a shared volume"
    )
    assert list(draft_steps(drafts)) == ["stage"]


def test_a_failing_cell_is_not_promoted(shell, drafts):
    error, captured = run_failing(shell, "%%dasf_workflow broken\nraise ValueError('no data here')\n")
    assert isinstance(error, UsageError) and str(error) == "step 'broken' not promoted: the cell failed"
    plain = re.sub(r"\x1b\[[0-9;]*m", "", captured.stdout)  # without terminal colours
    assert "ValueError: no data here" in plain  # the cell's own traceback, as for any cell
    assert not (drafts / "workflow.dasf-workflow.json").exists()


def test_outside_names_that_are_not_literals_are_a_one_line_usage_error(shell, drafts):
    run(shell, "import numpy as np\ndef envelope(x):\n    return abs(x)")
    error, _ = run_failing(shell, "%%dasf_workflow attr\nresult = envelope(np.ones(3))\n")
    assert isinstance(error, UsageError)
    message = str(error)
    assert "'envelope' (line 1) is a function, defined in cell" in message
    assert "'np' (line 1) is a module, defined in cell" in message
    assert "\n" not in message


def test_parameters_record_the_value_before_the_cell_ran(shell, drafts):
    run(shell, "counter = 1")
    run(shell, "%%dasf_workflow bump\ncounter = counter + 1\n")
    assert shell.user_ns["counter"] == 2
    assert draft_steps(drafts)["bump"]["parameters"] == {"counter": 1}


def test_replay_refuses_a_cell_that_only_works_in_the_kernel(shell, drafts):
    run(shell, f"%%dasf_cluster seismic --workers 1\n{LOCAL}")
    error, _ = run_failing(shell, "%%dasf_workflow kernel-only --replay\nimport sys\nassert 'IPython' in sys.modules\n")
    assert isinstance(error, UsageError) and "--replay of step 'kernel-only' exited with 1; not promoted" in str(error)
    run(shell, "%%dasf_workflow portable --replay\nprint(client.submit(sum, [1, 2]).result())\n")
    assert list(draft_steps(drafts)) == ["portable"]


def test_submit_and_status_against_a_fake_argo_server(shell, drafts, monkeypatch):
    fake = StrictFakeArgo(TOKEN, step_seconds=0.1).start()
    try:
        monkeypatch.setenv("ARGO_SERVER", fake.address)
        monkeypatch.setenv("ARGO_SECURE", "false")
        monkeypatch.setenv("ARGO_TOKEN", TOKEN)
        run(shell, "%%dasf_workflow stage --container alpine:3\necho hi\n")
        _, captured = run(shell, "%dasf_workflow submit")
        (submitted,) = current_session().submitted
        assert submitted["name"] in shown(captured) and submitted["namespace"] == "argo"
        status, _ = run(shell, "%dasf_workflow status")
        status.result.join(timeout=30)
        assert status.result.summary["phase"] == "Succeeded"
        fake.fault = 403
        error, captured = run_failing(shell, "%dasf_workflow submit")
        assert isinstance(error, UsageError) and "(403)" in str(error)
        for text in (shown(captured), captured.stderr, str(error), json.dumps(registry.read_all())):
            assert TOKEN not in text
    finally:
        fake.stop()


@pytest.mark.parametrize(
    "line, expected",
    [
        ("%dasf_workflow remove", "usage: %dasf_workflow remove STEP"),
        ("%dasf_workflow run", "use `%dasf_workflow run --local`"),
        ("%dasf_workflow status", "no workflow submitted from this kernel yet"),
        ("%dasf_workflow export wf.txt", "use a .yaml or a .py"),
        ("%dasf_workflow show", "has no steps yet"),
    ],
)
def test_command_errors_are_one_line(shell, drafts, line, expected):
    error, _ = run_failing(shell, line)
    assert isinstance(error, UsageError) and expected in str(error)


def test_cluster_flag_saves_shared_mode_and_names_steps_of_another_shape(shell, drafts):
    run(shell, f"%%dasf_cluster seismic --workers 1\n{LOCAL}")
    run(shell, "%%dasf_workflow first\nprint(1)\n")
    run(shell, "%%dasf_workflow second --after first --workers 2\nprint(2)\n")
    _, captured = run(shell, "%dasf_workflow export wf.yaml --cluster shared")
    with open(drafts / "workflow.dasf-workflow.json") as stream:
        assert json.load(stream)["cluster"] == "shared"
    assert "step second: cluster shape differs from the shared cluster's (that of step 'first')" in captured.stdout
    document = yaml.safe_load((drafts / "wf.yaml").read_text())
    assert document["spec"]["onExit"] == "argodasf--cluster-delete"
    error, _ = run_failing(shell, "%dasf_workflow show --cluster one")
    assert isinstance(error, UsageError) and "invalid choice: 'one'" in str(error)
    _, captured = run(shell, "%dasf_workflow export wf.yaml --cluster per-step")
    assert "differs" not in captured.stdout and "onExit" not in (drafts / "wf.yaml").read_text()


def test_a_failed_local_run_fails_the_cell(shell, drafts):
    """So that Run All, nbval and nbconvert stop at a workflow that fails."""
    run(shell, f"%%dasf_cluster failing --workers 1\n{LOCAL}")
    (drafts / "header.txt").write_text("inline 1")
    run(shell, "%%dasf_workflow readheader\nprint(open('header.txt').read())")
    os.remove(drafts / "header.txt")  # gone before the run: the step's script fails
    error, captured = run_failing(shell, "%dasf_workflow run --local")
    assert isinstance(error, UsageError)
    assert str(error) == "the local run of workflow 'workflow' failed at step readheader"
    assert re.search(r"readheader\s+Failed", shown(captured))
    run(shell, "%dasf_close failing")


def test_a_cell_that_swallows_a_failed_dasf_task_is_not_promoted(shell, drafts):
    from workflow_fixtures import DASF_LIKE_PIPELINE

    run(shell, f"%%dasf_cluster swallow --workers 1\n{LOCAL}")
    cell = DASF_LIKE_PIPELINE + (
        "def broken():\n    raise KeyError('trace header 189')\n"
        "try:\n    Pipeline(executor, [broken]).run()\nexcept Exception as error:\n    print('caught', error)\n"
    )
    error, captured = run_failing(shell, "%%dasf_workflow swallowed\n" + cell)
    assert isinstance(error, UsageError)
    assert str(error) == (
        "step 'swallowed' not promoted: DASF task 'broken' failed in the cell "
        "(KeyError: 'trace header 189'); its job would fail"
    )
    assert "caught" in captured.stdout
    assert not (drafts / "workflow.dasf-workflow.json").exists() or "swallowed" not in draft_steps(drafts)
    run(shell, "%dasf_close swallow")
