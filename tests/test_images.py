"""What a cell imports, what an image holds, and what a step adds to its image."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import sys
import warnings

import dask
import numpy
import pytest
import scipy.signal
import yaml

from argodasf_jupyter import images, imports, promote, workflow
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.spec import parse_spec

ENVELOPE = """\
import numpy as np
import dask.array as da
from scipy.signal import hilbert

def envelope(block):
    return np.abs(hilbert(block, axis=-1)).astype(np.float32)

raw = da.from_zarr(raw_path)
attribute = raw.map_blocks(envelope, dtype=np.float32)
executor.execute(fn=da.to_zarr, arr=attribute, url=envelope_path, overwrite=True)
"""
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def version(name):
    return importlib.metadata.version(name)


def containers(job):
    """runner, scheduler and worker containers of a DaskJob."""
    cluster = job["spec"]["cluster"]["spec"]
    return {
        "runner": job["spec"]["job"]["spec"]["containers"][0],
        "scheduler": cluster["scheduler"]["spec"]["containers"][0],
        "worker": cluster["worker"]["spec"]["containers"][0],
    }


def env_of(container):
    return {item["name"]: item.get("value") for item in container.get("env", [])}


def envelope_step(**cluster):
    return promote.make_step(
        "envelope", ENVELOPE, values={"raw_path": "/r", "envelope_path": "/e"}, cluster=parse_spec(cluster)
    )


def test_a_cell_imports_its_statements_lazy_dask_imports_and_earlier_imports():
    tree = ast.parse(
        "import os\nimport dask.array as da\nfrom scipy import signal\nfrom . import sibling\n"
        "x = da.from_zarr(p)\ny = np.abs(hilbert(x))\nz = Thing()\n"
    )
    used = {"np": numpy, "hilbert": scipy.signal.hilbert, "p": "/data", "Thing": ast.Module}
    assert imports.imported_modules(tree, used) == ["dask", "numpy", "scipy", "zarr"]
    found = {item.module: item for item in imports.cell_imports(tree, used)}
    assert found["scipy"].distribution == "scipy" and found["scipy"].version == version("scipy")
    assert found["zarr"].pin() == f"zarr=={version('zarr')}"
    assert all(item.on_index for item in found.values())  # pip installed them from the index


NESTED_IMPORTS = """
def load(path):
    import zarr
    class Reader:
        from numpy import ones
    for _ in range(1):
        with open(path):
            if path:
                import scipy
            else:
                import dask
try:
    pass
except ImportError:
    import xarray
finally:
    import pandas
match path:
    case "x":
        import yaml
"""


@pytest.mark.parametrize("source", [None, NESTED_IMPORTS])
def test_imports_nested_in_any_statement_are_found_without_walking_expressions(source):
    found = imports.imported_modules(ast.parse(NESTED_IMPORTS), source=source)
    assert found == ["dask", "numpy", "pandas", "scipy", "xarray", "yaml", "zarr"]


def test_a_lazy_dask_import_is_found_from_the_source_too():
    code = "x = da.from_zarr(path)\ny = frame.to_parquet(out)\n"
    assert imports.imported_modules(ast.parse(code), source=code) == ["pyarrow", "zarr"]
    assert imports.imported_modules(ast.parse("x = da.ones(3)\n"), source="x = da.ones(3)\n") == []


def test_an_optional_import_that_is_not_installed_needs_nothing():
    assert imports.cell_imports(ast.parse("try:\n    import no_such_module_xyz\nexcept ImportError:\n    pass\n")) == []


def test_envelope_step_gets_scipy_and_zarr_pinned_on_runner_scheduler_and_workers():
    step = envelope_step(workers=2)
    assert {item.module for item in step.imports} == {"dask", "numpy", "scipy", "zarr"}
    job = workflow.step_manifest(step)
    pins = f"scipy=={version('scipy')} zarr=={version('zarr')}"
    for role, container in containers(job).items():
        assert env_of(container).get("EXTRA_PIP_PACKAGES") == pins, role
        assert "command" not in container, role  # the image's entrypoint (prepare.sh) runs
    assert containers(job)["runner"]["image"] == f"ghcr.io/dask/dask:{dask.__version__}-py{PYTHON}"


def test_what_the_user_put_in_extra_pip_packages_stays_first():
    step = envelope_step(env={"EXTRA_PIP_PACKAGES": "s3fs"})
    runner = containers(workflow.step_manifest(step))["runner"]
    assert env_of(runner)["EXTRA_PIP_PACKAGES"] == f"s3fs scipy=={version('scipy')} zarr=={version('zarr')}"


def test_switching_install_missing_off_adds_nothing():
    step = envelope_step()
    with dask.config.set({"argodasf.workflow.install-missing": False}):
        job = workflow.step_manifest(step)
    assert all("EXTRA_PIP_PACKAGES" not in env_of(container) for container in containers(job).values())


def test_a_step_the_image_already_serves_adds_nothing():
    step = promote.make_step("plain", "import numpy\nimport distributed\nprint(numpy.pi)\n")
    job = workflow.step_manifest(step)
    assert all("EXTRA_PIP_PACKAGES" not in env_of(container) for container in containers(job).values())


@pytest.fixture
def git_installed_dasf(tmp_path, monkeypatch):
    """A distribution installed as `pip install git+https://...` leaves it: with direct_url.json."""
    site = tmp_path / "site"
    (site / "dasf").mkdir(parents=True)
    (site / "dasf" / "__init__.py").write_text("")
    info = site / "dasf-1.0b7.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dasf\nVersion: 1.0b7\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "top_level.txt").write_text("dasf\n")
    (info / "RECORD").write_text("dasf/__init__.py,,\n")
    (info / "direct_url.json").write_text(
        json.dumps(
            {
                "url": "https://github.com/discovery-unicamp/dasf-core.git",
                "vcs_info": {"vcs": "git", "commit_id": "0" * 40},
            }
        )
    )
    (site / "seismic_helpers.py").write_text("")  # a local module, as beside a notebook
    monkeypatch.syspath_prepend(str(site))
    return site


def test_a_step_needing_what_the_index_does_not_serve_is_refused_in_one_line(git_installed_dasf):
    code = "import numpy\nimport dasf\nimport seismic_helpers\n"
    with pytest.raises(ArgodasfError) as raised:
        promote.make_step("attrs", code, cluster=parse_spec({}))
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"cannot promote step 'attrs': its image ghcr.io/dask/dask:{dask.__version__}-py")
    assert "dasf 1.0b7 (not on the package index" in message
    assert "seismic_helpers (a local module" in message and "numpy" not in message
    assert message.endswith("set `image:` (or --image) to an image that has them")


def test_a_declared_image_that_holds_dasf_is_accepted(git_installed_dasf):
    code = "import numpy\nimport dasf\n"
    with dask.config.set({"argodasf.images": {"example.org/dasf:*": ["dasf", "numpy", "distributed"]}}):
        step = promote.make_step("attrs", code, cluster=parse_spec({"image": "example.org/dasf:1.0"}))
        job = workflow.step_manifest(step)
        with pytest.raises(ArgodasfError, match=r"example.org/dasf:1.0 lacks scipy .* installs nothing at start"):
            promote.make_step(
                "more", "import dasf\nimport scipy\n", cluster=parse_spec({"image": "example.org/dasf:1.0"})
            )
    assert [item.distribution for item in step.imports] == ["dasf", "numpy"]
    assert "EXTRA_PIP_PACKAGES" not in env_of(containers(job)["runner"])


def test_an_unknown_image_is_left_to_the_preflight():
    step = promote.make_step(
        "s",
        ENVELOPE.replace("da.from_zarr(raw_path)", "da.ones(3)").replace("url=envelope_path", "url='/e'"),
        cluster=parse_spec({"image": "example.org/own:3"}),
    )
    assert "EXTRA_PIP_PACKAGES" not in env_of(containers(workflow.step_manifest(step))["runner"])


def test_an_image_of_another_dask_release_is_said_once_at_promotion():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        promote.make_step(
            "s", "import numpy\n", cluster=parse_spec({"image": f"ghcr.io/dask/dask:2020.1.0-py{PYTHON}"})
        )
        promote.make_step("t", "import numpy\n", cluster=parse_spec({}))
    notes = [str(item.message) for item in caught if issubclass(item.category, images.ReleaseWarning)]
    assert len(notes) == 1 and "runs distributed 2020.1.0 in the runner, scheduler and workers alike" in notes[0]


@pytest.mark.parametrize(
    "image, expected",
    [
        ("ghcr.io/dask/dask:2026.8.0-py3.11", ("ghcr.io/dask/dask", "2026.8.0-py3.11")),
        ("localhost:5000/dask", ("localhost:5000/dask", "latest")),
        ("rapidsai/base:25.12-cuda12-py3.11@sha256:abc", ("rapidsai/base", "25.12-cuda12-py3.11")),
    ],
)
def test_image_references(image, expected):
    assert images.split_reference(image) == expected


def test_image_lines_come_from_their_recipes():
    lines = images.image_lines()
    dask_line = lines["dask"]
    assert dask_line.entrypoint == ("tini", "-g", "--", "/usr/bin/prepare.sh")
    assert {"dask", "distributed", "numpy", "pandas", "pyarrow", "cachey", "streamz"} <= dask_line.holds
    assert not {"scipy", "zarr", "dasf"} & dask_line.holds
    assert images.contents(f"ghcr.io/dask/dask:2026.8.0-py{PYTHON}").release == "2026.8.0"
    rapids = images.contents(manifests_gpu_image())
    assert rapids.line.name == "rapids" and {"cudf", "dask-cuda", "cupy"} <= rapids.holds
    for path in images.CONTENTS_DIR.glob("*.yaml"):
        assert "Derived from its build recipe" in path.read_text()
        assert set(yaml.safe_load(path.read_text())) >= {"references", "tag", "entrypoint", "distributions"}


def manifests_gpu_image():
    from argodasf_jupyter import manifests

    return manifests.default_image(gpu=True)


def test_import_analysis_reads_the_installed_distributions_once(monkeypatch):
    """The scan of every installed distribution (the slow part) runs once per kernel,
    not once per promotion."""
    cell = ENVELOPE * 20  # about 200 lines
    promote.make_step("warm", cell, values={"raw_path": "/r", "envelope_path": "/e"})
    scans, scan = [], imports.metadata.packages_distributions
    monkeypatch.setattr(imports.metadata, "packages_distributions", lambda: scans.append(1) or scan())
    for _ in range(10):
        assert {item.module for item in imports.cell_imports(ast.parse(cell))} >= {"numpy", "scipy"}
    assert scans == []
    imports._module_distributions.cache_clear()
    imports.cell_imports(ast.parse(cell))
    assert scans == [1]  # the check can fail: a cleared cache scans again


def test_preflight_groups_steps_by_image_with_their_pins_and_reads_one_line_per_problem():
    from argodasf_jupyter import preflight

    steps = [
        envelope_step(),
        promote.make_step("plain", "import numpy\n"),
        promote.make_step("other", "import numpy\n", cluster=parse_spec({"image": "python:3.11"})),
    ]
    groups = {group.image: group for group in preflight.image_groups(steps)}
    default = f"ghcr.io/dask/dask:{dask.__version__}-py{PYTHON}"
    assert groups[default].steps == ["envelope", "plain"]
    assert groups[default].pins == f"scipy=={version('scipy')} zarr=={version('zarr')}"
    assert {item.module for item in groups[default].imports} == {"dask", "distributed", "numpy", "scipy", "zarr"}
    pod = preflight.probe_pod(groups[default], "ns", 60)
    (container,) = pod["spec"]["containers"]
    assert "command" not in container and container["args"][:2] == ["python", "-c"]
    assert {"name": "EXTRA_PIP_PACKAGES", "value": groups[default].pins} in container["env"]

    check = groups["python:3.11"]
    found = {
        "numpy": {"error": "ModuleNotFoundError: No module named 'numpy'"},
        "dask": {"version": "2020.1.0"},
        "distributed": {"version": version("distributed")},
    }
    preflight._read(check, "pip says hello\n" + preflight.MARK + json.dumps(found) + "\n")
    assert check.problems == [
        f"dask is 2020.1.0 there but {version('dask')} in the kernel",
        "import numpy fails: ModuleNotFoundError: No module named 'numpy'",
    ]
    silent = preflight.ImageCheck("x", ["s"], [])
    preflight._read(silent, "exec: python: not found\n")
    assert silent.problems == ["the preflight pod stopped before importing anything: exec: python: not found"]
