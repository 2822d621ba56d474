"""The fake kubelet's images: what an image holds, ENTRYPOINT/command/args, EXTRA_PIP_PACKAGES."""

import subprocess
from importlib.metadata import version

import dask
import pytest
import yaml

from .fakekube.images import DASK_CONTENTS, Images, dask_environment, operator_environment
from .harness import FakeKubernetes

pytestmark = [pytest.mark.kube, pytest.mark.one_environment, pytest.mark.timeout(300)]

DASK_IMAGE = "ghcr.io/dask/dask:latest"
IMPORT_SCIPY = "import scipy; print('scipy', scipy.__version__)"


def pod(name, image, env=None, **delivery):
    container = {"name": "main", "image": image, **delivery}
    if env:
        container["env"] = [{"name": key, "value": value} for key, value in env.items()]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [container]},
    }


def state(fk, name):
    statuses = (fk.get("pods", name) or {}).get("status", {}).get("containerStatuses") or [{}]
    return statuses[0].get("state", {})


def exit_code(fk, name):
    return state(fk, name).get("terminated", {}).get("exitCode")


def test_the_dask_image_holds_its_recipe_and_nothing_else(tmp_path):
    python = dask_environment(dask.__version__) / "bin" / "python"
    recipe = yaml.safe_load(DASK_CONTENTS.read_text())["recipe"]
    probe = (
        "import importlib.util as u, sys; print(' '.join(name for name in sys.argv[1:] if u.find_spec(name) is None))"
    )
    modules = [name.replace("-", "_") for name in recipe] + ["scipy", "zarr", "dasf", "argodasf_jupyter", "kr8s"]
    missing = subprocess.run(
        [str(python), "-c", probe, *modules],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
    )  # nothing of the test's own
    assert missing.stdout.split() == ["scipy", "zarr", "dasf", "argodasf_jupyter", "kr8s"]
    version = subprocess.run(
        [str(python), "-c", "import distributed; print(distributed.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == dask.__version__


def test_the_operator_image_holds_dask_kubernetes_at_the_tests_versions_and_nothing_of_theirs(tmp_path):
    python = operator_environment() / "bin" / "python"
    probe = (
        "import importlib.metadata as m, sys\n"
        "for name in sys.argv[1:]:\n"
        "    try: print(name, m.version(name))\n"
        "    except m.PackageNotFoundError: print(name, '-')"
    )
    names = ["dask-kubernetes", "kopf", "kr8s", "distributed", "kubernetes-validate", "argodasf-jupyter", "pytest"]
    found = subprocess.run(
        [str(python), "-c", probe, *names], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout.split()
    expected = {name: version(name) for name in names[:4]} | {name: "-" for name in names[4:]}
    assert dict(zip(found[::2], found[1::2], strict=True)) == expected
    assert Images().resolve("ghcr.io/dask/dask-kubernetes-operator:2026.3.0").python == str(python)


def test_unknown_images_fail_to_pull_and_known_ones_resolve():
    images = Images()
    assert images.resolve("ghcr.io/dask/dask:latest").entrypoint  # prepare.sh stands in
    assert images.resolve("docker.io/library/alpine:3").cmd == ("sh",)
    with pytest.raises(Exception, match="Failed to pull image"):
        images.resolve("nosuch.example/image:1")
    with pytest.raises(Exception, match="Python 3.11 images only|Python .* images only"):
        images.resolve("ghcr.io/dask/dask:2026.8.0-py3.9")


def test_entrypoint_command_args_and_extra_pip_packages(tmp_path, isolated_home):
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        pins = {"EXTRA_PIP_PACKAGES": "scipy"}
        fk.create(pod("missing", "nosuch.example/image:1", args=["true"]))
        # args: the image's entrypoint runs and installs EXTRA_PIP_PACKAGES first
        fk.create(pod("with-args", DASK_IMAGE, pins, args=["python", "-c", IMPORT_SCIPY]))
        # command replaces the entrypoint: nothing is installed
        fk.create(pod("with-command", DASK_IMAGE, pins, command=["python", "-c", IMPORT_SCIPY]))
        fk.wait_for(
            lambda: exit_code(fk, "with-args") is not None and exit_code(fk, "with-command") is not None,
            timeout=240,
            message=lambda: fk.pod_log("with-args")[-2000:],
        )
        assert exit_code(fk, "with-args") == 0, fk.pod_log("with-args")[-2000:]
        assert "EXTRA_PIP_PACKAGES environment variable found" in fk.pod_log("with-args")
        assert exit_code(fk, "with-command") == 1
        assert "ModuleNotFoundError: No module named 'scipy'" in fk.pod_log("with-command")
        # what one pod installed stays in its own layer, not in the image
        fk.create(pod("after", DASK_IMAGE, args=["python", "-c", IMPORT_SCIPY]))
        fk.wait_for(lambda: exit_code(fk, "after") is not None, timeout=60)
        assert exit_code(fk, "after") == 1
        waiting = state(fk, "missing")["waiting"]
        assert waiting["reason"] == "ErrImagePull" and "nosuch.example/image:1" in waiting["message"]
        assert fk.get("pods", "missing")["status"]["phase"] == "Pending"
