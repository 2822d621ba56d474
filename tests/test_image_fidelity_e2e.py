"""A promoted step's image holds what its cell imports: notebooks/02's steps as DaskJobs on
the fake Kubernetes API with the real operator, in the image-faithful fake kubelet."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re

import dask
import numpy as np
import pytest

from argodasf_jupyter import preflight, promote, step_script, workflow
from argodasf_jupyter.spec import parse_spec
from pod_volumes import host_directory
from test_workflow_e2e import fake_kubernetes  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.kube, pytest.mark.timeout(600)]

NOTEBOOK = os.path.join(os.path.dirname(__file__), os.pardir, "notebooks", "02-seismic-envelope.ipynb")
SHAPE = parse_spec({"workers": 1})
VERSIONS = """
import json

def versions():
    import dask, distributed, scipy, zarr
    return {module.__name__: module.__version__ for module in (dask, distributed, scipy, zarr)}

client.wait_for_workers(2, timeout=120)
found = {"runner": versions(), "scheduler": client.run_on_scheduler(versions),
         "workers": list(client.run(versions).values())}
print("VERSIONS " + json.dumps(found))
"""


def workflow_cells() -> dict[str, str]:
    """The bodies of notebooks/02's %%dasf_workflow cells, by step name."""
    with open(NOTEBOOK, encoding="utf-8") as stream:
        cells = json.load(stream)["cells"]
    found = {}
    for cell in cells:
        source = "".join(cell["source"])
        if source.startswith("%%dasf_workflow "):
            head, _, body = source.partition("\n")
            found[head.split()[1]] = body
    return found


def run_job(fk, step, key):
    from kr8s.objects import new_class

    name = workflow.job_name("images", key)
    env = step_script.parameter_environment(step)
    new_class("DaskJob", "kubernetes.dask.org/v1", asyncio=False)(workflow.dask_job_manifest(step, name, env)).create()

    def status():
        return (fk.get("daskjobs", name) or {}).get("status", {}).get("jobStatus")

    fk.wait_for(
        lambda: status() in ("Successful", "Failed"),
        timeout=300,
        message=lambda: f"job {name}: {status()}; runner log: {fk.pod_log(f'{name}-runner')[-2000:]}",
    )
    return status(), fk.pod_log(f"{name}-runner")


def test_notebook_02_runs_only_because_the_missing_distributions_are_added(fake_kubernetes, tmp_path):
    fk = fake_kubernetes
    cells = workflow_cells()
    # every pod has its own filesystem: the cube travels between the steps on a volume
    shape = parse_spec({"workers": 1, "volumes": [host_directory("data", tmp_path, "/data")]})
    values = {"raw_path": "/data/raw.zarr", "envelope_path": "/data/envelope.zarr", "seed": 7, "shape": [16, 16, 64]}
    steps = {name: promote.make_step(name, cells[name], values=values, cluster=shape) for name in ("stage", "envelope")}
    assert {item.module for item in steps["envelope"].imports} >= {"scipy", "zarr"}

    with dask.config.set({"argodasf.workflow.install-missing": False}):
        status, log = run_job(fk, steps["stage"], "stage-bare")
    assert status == "Failed" and "ModuleNotFoundError: No module named 'zarr'" in log

    for name in ("stage", "envelope"):
        status, log = run_job(fk, steps[name], name)
        assert status == "Successful", log[-2000:]
        assert "EXTRA_PIP_PACKAGES environment variable found" in log

    with dask.config.set({"argodasf.workflow.install-missing": False}):
        status, log = run_job(fk, steps["envelope"], "envelope-bare")
    assert status == "Failed" and "ModuleNotFoundError: No module named 'scipy'" in log

    import zarr

    raw = np.asarray(zarr.open_array(str(tmp_path / "raw.zarr"), mode="r"))
    envelope = np.asarray(zarr.open_array(str(tmp_path / "envelope.zarr"), mode="r"))
    assert raw.shape == envelope.shape == (16, 16, 64)
    assert (envelope >= np.abs(raw) - 1e-4).all()


def test_runner_scheduler_and_workers_run_the_kernels_versions(fake_kubernetes):
    step = promote.make_step("versions", VERSIONS, cluster=parse_spec({"workers": 2}))
    status, log = run_job(fake_kubernetes, step, "versions")
    assert status == "Successful", log[-2000:]
    found = json.loads(re.search(r"^VERSIONS (.*)$", log, re.MULTILINE).group(1))
    kernel = {name: importlib.metadata.version(name) for name in ("dask", "distributed", "scipy", "zarr")}
    assert found["runner"] == found["scheduler"] == kernel
    assert found["workers"] == [kernel, kernel]


def test_check_reports_what_each_image_lacks(fake_kubernetes):
    fk = fake_kubernetes
    uses_scipy = "from scipy.signal import hilbert\nprint(hilbert([1.0, 2.0]))\n"
    steps = [
        promote.make_step("dask-image", uses_scipy, cluster=SHAPE),
        promote.make_step("bare-python", "import numpy\n", cluster=parse_spec({"image": "python:3.11"})),
        promote.make_step("nowhere", "import numpy\n", cluster=parse_spec({"image": "nosuch.example/dasf:1"})),
    ]
    results = {result.image: result for result in preflight.check(steps, timeout=120)}
    dask_image = next(image for image in results if image.startswith("ghcr.io/dask/dask:"))
    assert results[dask_image].problems == []
    assert results[dask_image].versions["scipy"] == importlib.metadata.version("scipy")
    assert results[dask_image].versions["distributed"] == importlib.metadata.version("distributed")
    bare = results["python:3.11"].problems
    assert "import numpy fails: ModuleNotFoundError: No module named 'numpy'" in bare
    assert "import distributed fails: ModuleNotFoundError: No module named 'distributed'" in bare
    (pull,) = results["nosuch.example/dasf:1"].problems
    assert pull.startswith("the image cannot be pulled (ErrImagePull")
    text = preflight.report(list(results.values()))
    assert "image python:3.11: import numpy fails" in text
    assert all("\n" not in problem for result in results.values() for problem in result.problems)

    with dask.config.set({"argodasf.workflow.install-missing": False}):
        (off,) = preflight.check(steps[:1], timeout=120)
    assert "import scipy fails: ModuleNotFoundError: No module named 'scipy'" in off.problems
    fk.wait_for(
        lambda: (
            not [
                pod
                for pod in fk.objects("pods", fk.namespace)
                if pod["metadata"]["name"].startswith("argodasf-preflight-")
            ]
        ),
        timeout=30,
    )


def test_doctor_shows_what_the_current_clusters_image_holds(fake_kubernetes):
    bare = preflight.as_check(preflight.cluster_image(parse_spec({"name": "seismic", "image": "python:3.11"})))
    assert bare.ok is False and bare.name == "image python:3.11"
    assert "import distributed fails: ModuleNotFoundError: No module named 'distributed'" in bare.detail
    good = preflight.as_check(preflight.cluster_image(parse_spec({"name": "seismic"})))
    assert good.ok is True and f"distributed {importlib.metadata.version('distributed')}" in good.detail
