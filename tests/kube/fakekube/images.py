"""Container images for the fake kubelet: a reference names a Python environment that
holds what the image holds, with the image's ENTRYPOINT.

- ghcr.io/dask/dask:<release>-py<python> (and daskdev/dask): a venv with what the image's
  build recipe installs (argodasf_jupyter/image_contents/dask.yaml), dask and distributed
  at the tag's release, installed once (uv) and cached under build/fakekube-images/. Its
  ENTRYPOINT stands in for `tini -g -- /usr/bin/prepare.sh`: prepare.py installs
  EXTRA_PIP_PACKAGES into the pod's own layer, then runs the container's arguments.
  Pods share one package cache (UV_CACHE, mounted read-write in each), as a node's
  pull-through cache would serve them; the install itself still runs in every pod.
- ghcr.io/dask/dask-kubernetes-operator: a venv with what that image's Dockerfile installs
  (dask-kubernetes and its dependencies), at the test environment's versions, so that the
  operator is the one the tests' KubeCluster belongs to; nothing of the tests' own.
- example.org/...: the tests' own images; they hold the test environment, no ENTRYPOINT.
- python[:<version>]: a bare venv of this interpreter (pip, nothing else); CMD python3.
- alpine, busybox, debian, ubuntu: this machine's shell and tools, no Python; CMD sh.
- anything else fails to pull (ErrImagePull), as a missing image does on a cluster.

Kubernetes semantics: a container's `command` replaces the image's ENTRYPOINT and its
`args` replace the CMD; with no `command`, the ENTRYPOINT runs with the `args`.
"""

import fcntl
import functools
import hashlib
import importlib.metadata
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .prepare import UV, programs

ROOT = Path(__file__).resolve().parents[3]
BUILD_DIR = Path(os.environ.get("FAKEKUBE_IMAGES_DIR", ROOT / "build" / "fakekube-images"))
DASK_CONTENTS = ROOT / "argodasf_jupyter" / "image_contents" / "dask.yaml"
PREPARE = Path(__file__).with_name("prepare.py")
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
TEST_IMAGE_PREFIX = "example.org/"
OPERATOR_IMAGE = "ghcr.io/dask/dask-kubernetes-operator"
SHELL_IMAGES = ("alpine", "busybox", "debian", "ubuntu")
HUB_PREFIXES = ("docker.io/library/", "docker.io/", "library/")
SYSTEM_PATH = os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"])
# dev.sh's cache (unless UV_CACHE_DIR names another), which the pods' installs share
UV_CACHE = Path(os.environ.get("UV_CACHE_DIR") or ROOT / "build" / "uv-cache")


class ImagePullError(Exception):
    """The image cannot be pulled; the message says why."""


@dataclass(frozen=True)
class Image:
    reference: str
    python: str = ""  # the interpreter of the image's environment ("": none)
    entrypoint: tuple = ()
    cmd: tuple = ()
    env: dict = field(default_factory=dict)

    def argv(self, command, args):
        """What the container runs, given its `command` and `args`."""
        if command:
            return self.programs([*command, *args])
        return [*self.entrypoint, *(args or self.cmd)] if self.entrypoint else self.programs([*(args or self.cmd)])

    def programs(self, argv):
        return programs(self.python, argv) if self.python else list(argv)


@functools.lru_cache(maxsize=1)
def _dask_recipe():
    return yaml.safe_load(DASK_CONTENTS.read_text())


def _built(target, build):
    """``target``, built by ``build(target)`` unless done before; under a lock, so that
    concurrent test processes share one build."""
    done = target / ".complete"
    if not done.exists():
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        with open(BUILD_DIR / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not done.exists():
                subprocess.run([sys.executable, "-m", "venv", "--clear", str(target)], check=True)
                build(target)
                done.write_text("")
    return target


def _install(target, *arguments):
    """uv (several times faster than pip) installs ``arguments`` into the venv ``target``,
    byte-compiled once here rather than by every pod's imports."""
    subprocess.run(
        [UV, "pip", "install", "-q", "--compile-bytecode", "--python", str(target / "bin" / "python"), *arguments],
        check=True,
        env={**os.environ, "UV_CACHE_DIR": str(UV_CACHE)},
    )


def dask_environment(release):
    """The venv standing in for ghcr.io/dask/dask:<release>-py<this python>."""

    def install(target):
        print(f"fakekube: building image ghcr.io/dask/dask:{release}-py{PYTHON} in {target}", file=sys.stderr)
        pinned = set(_dask_recipe()["release"])
        packages = [f"{name}=={release}" if name in pinned else name for name in _dask_recipe()["recipe"]]
        _install(target, *packages)

    return _built(BUILD_DIR / f"dask-{release}-py{PYTHON}", install)


@functools.lru_cache(maxsize=1)
def operator_environment():
    """The venv standing in for ghcr.io/dask/dask-kubernetes-operator (its Dockerfile:
    `pip install dask-kubernetes`), every distribution at this environment's version."""
    installed = sorted({f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions()})
    release = importlib.metadata.version("dask-kubernetes")
    digest = hashlib.sha256("\n".join(installed).encode()).hexdigest()[:12]

    def install(target):
        print(f"fakekube: building image {OPERATOR_IMAGE}:{release} in {target}", file=sys.stderr)
        constraints = target / "constraints.txt"
        constraints.write_text("\n".join(installed) + "\n")
        _install(target, "--constraints", str(constraints), f"dask-kubernetes=={release}")

    return _built(BUILD_DIR / f"dask-kubernetes-operator-{release}-{digest}-py{PYTHON}", install)


def bare_python():
    """The venv standing in for the python image: pip and nothing else."""
    return _built(BUILD_DIR / f"python-{PYTHON}", lambda target: None)


def _environment_image(reference, python):
    """An image whose programs are those of the environment of ``python``; no ENTRYPOINT."""
    return Image(reference, python, env={"PATH": os.path.dirname(python) + os.pathsep + SYSTEM_PATH})


class Images:
    """The fake's image registry."""

    def __init__(self, default_release=None, pip_proxy=None):
        from dask import __version__

        self.default_release = default_release or __version__  # what `latest` means here
        self._pip_proxy = {"PIP_PROXY": pip_proxy} if pip_proxy else {}  # see egress.py

    def resolve(self, reference):
        if reference.startswith(TEST_IMAGE_PREFIX):
            return _environment_image(reference, sys.executable)
        name = reference.split("@", 1)[0]
        repository, _, tag = name.rpartition(":")
        if not repository or "/" in tag:
            repository, tag = name, "latest"
        if repository == OPERATOR_IMAGE:  # any tag: the test environment's release
            return _environment_image(reference, str(operator_environment() / "bin" / "python"))
        if repository in _dask_recipe()["references"]:
            return self._dask(reference, tag)
        for prefix in HUB_PREFIXES:
            repository = repository.removeprefix(prefix)
        if repository == "python" and (tag == "latest" or tag.startswith(PYTHON)):
            python = str(bare_python() / "bin" / "python3")
            return Image(
                reference,
                python,
                cmd=("python3",),
                env={"PATH": os.pathsep.join([os.path.dirname(python), SYSTEM_PATH])},
            )
        if repository in SHELL_IMAGES:
            return Image(reference, cmd=("sh",), env={"PATH": SYSTEM_PATH})
        raise ImagePullError(f'Failed to pull image "{reference}": not found in this fake\'s registry')

    def _dask(self, reference, tag):
        if tag == "latest":
            release, python = self.default_release, PYTHON
        else:
            match = re.fullmatch(_dask_recipe()["tag"], tag)
            if match is None:
                raise ImagePullError(f'Failed to pull image "{reference}": no such tag')
            release, python = match["release"], match["python"]
        if python != PYTHON:
            raise ImagePullError(f'Failed to pull image "{reference}": this fake serves Python {PYTHON} images only')
        try:
            python_path = str(dask_environment(release) / "bin" / "python")
        except subprocess.CalledProcessError:
            raise ImagePullError(f'Failed to pull image "{reference}": dask {release} did not install') from None
        return Image(
            reference,
            python_path,
            entrypoint=(sys.executable, str(PREPARE), python_path),
            env={
                "PATH": os.pathsep.join([os.path.dirname(python_path), SYSTEM_PATH]),
                "UV_CACHE_DIR": str(UV_CACHE),
                **self._pip_proxy,
            },
        )


if __name__ == "__main__":  # build the default dask image and the operator's ahead of the tests (CI)
    print(dask_environment(Images().default_release))
    print(operator_environment())
