"""The controller's resource deletes and the exit handlers of stopped and terminated
workflows (what cluster: shared relies on to delete its cluster)."""

from __future__ import annotations

import pytest
import yaml

from test_argo_controller import argo, dag, sh  # noqa: F401 (argo is a fixture)

pytestmark = [pytest.mark.kube, pytest.mark.one_environment, pytest.mark.timeout(120)]


def autoscaler(action, name, **resource):
    manifest = {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskAutoscaler", "metadata": {"name": name}}
    if action == "create":
        manifest["spec"] = {"cluster": name, "minimum": 1, "maximum": 2}
    return {
        "name": f"{action}-{name}",
        "resource": {"action": action, "manifest": yaml.safe_dump(manifest), **resource},
    }


def test_a_resource_delete_removes_the_object_and_a_missing_one_fails_unless_ignored(argo):
    name = argo.submit(
        [
            dag(
                {"name": "create", "template": "create-x"},
                {"name": "delete", "template": "delete-x", "dependencies": ["create"]},
                {"name": "ignored", "template": "delete-gone", "dependencies": ["delete"]},
            ),
            autoscaler("create", "x", successCondition="spec.minimum == 1"),
            autoscaler("delete", "x"),
            autoscaler("delete", "gone", flags=["--ignore-not-found"]),
        ]
    )
    assert argo.wait(name)["status"]["phase"] == "Succeeded"
    assert argo.fk.objects("daskautoscalers", "team") == []

    missing = argo.submit([dag({"name": "delete", "template": "delete-gone"}), autoscaler("delete", "gone")])
    workflow = argo.wait(missing)
    assert workflow["status"]["phase"] == "Failed"
    assert (
        argo.nodes(missing)["delete"]["message"]
        == 'Error from server (NotFound): daskautoscaler.kubernetes.dask.org "gone" not found'
    )


@pytest.mark.parametrize("strategy, handler_runs", [("stop", True), ("terminate", False)])
def test_a_stopped_workflow_runs_its_exit_handler_and_a_terminated_one_does_not(argo, strategy, handler_runs):
    name = argo.submit([sh("main", "sleep 60"), sh("exit", "echo exit handler saw {{workflow.status}}")], onExit="exit")
    argo.fk.wait_for(lambda: argo.fk.live_process_groups() != [], timeout=20)
    assert argo.session.put(f"{argo.url}/{name}/{strategy}").status_code == 200
    workflow = argo.wait(name)
    assert workflow["status"]["phase"] == "Failed"
    ran = any(line["content"] == "exit handler saw Failed" for line in argo.log(name))
    assert ran is handler_runs
