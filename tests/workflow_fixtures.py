"""Fixtures shared by the workflow tests (imported by name into their modules)."""

from __future__ import annotations

import pytest

WORKFLOW_NAME = "tricky-x7k2p"

# Step code that drives the executor the way DASF's Pipeline.run() does: a task's
# exception is caught and only logged, then post_run is called (and not caught).
DASF_LIKE_PIPELINE = """
class Pipeline:
    def __init__(self, executor, nodes):
        self.executor, self.nodes = executor, nodes
    def run(self):
        self.executor.pre_run(self)
        for node in self.nodes:
            try:
                self.executor.execute(fn=node)
            except Exception as error:
                print("pipeline logged", type(error).__name__)
        self.executor.post_run(self)
"""


@pytest.fixture(scope="module")
def scheduler_address():
    """A small in-process Dask cluster that step scripts in subprocesses can reach over TCP."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address


def argo_run(engine, document: dict) -> dict:
    """What each task's template becomes when Argo runs ``document`` (a workflow dict):
    workflow parameter values resolved (Argo resolves tags inside them), task arguments
    bound to the template's inputs, the template substituted; unresolvable tags fail.
    ``engine`` is the argo_templates fixture."""
    names = {"workflow.name": WORKFLOW_NAME}
    resolved = {}
    for parameter in document["spec"].get("arguments", {}).get("parameters", []):
        value = engine.substitute_object({"value": parameter["value"]}, names, allow_unresolved=True)["value"]
        resolved[f"workflow.parameters.{parameter['name']}"] = value
    templates = {template["name"]: template for template in document["spec"]["templates"]}
    dag = templates[document["spec"]["entrypoint"]]["dag"]
    results = {}
    for task in dag["tasks"]:
        arguments = engine.substitute_object(task.get("arguments", {}), {**names, **resolved})
        inputs = {f"inputs.parameters.{item['name']}": item["value"] for item in arguments.get("parameters", [])}
        results[task["name"]] = engine.substitute_object(
            templates[task["template"]], {**names, **inputs, "retries": "0"}
        )
    return results
