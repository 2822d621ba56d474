"""Container images for the fake kubelet: a reference names a Python environment that
holds what the image holds, with the image's ENTRYPOINT.

- ghcr.io/dask/dask:<release>-py<python> (and daskdev/dask): a venv with what the image's
  build recipe installs (argodasf_jupyter/image_contents/dask.yaml), dask and distributed
  at the tag's release, pip-installed once and cached under build/fakekube-images/. Its
  ENTRYPOINT stands in for `tini -g -- /usr/bin/prepare.sh`: prepare.py installs
  EXTRA_PIP_PACKAGES into the pod's own layer, then runs the container's arguments.
- ghcr.io/dask/dask-kubernetes-operator: the test environment (the operator runs from it).
- example.org/...: the tests' own images; they hold the test environment, no ENTRYPOINT.
- python[:<version>]: a bare venv of this interpreter (pip, nothing else); CMD python3.
- alpine, busybox, debian, ubuntu: this machine's shell and tools, no Python; CMD sh.
- anything else fails to pull (ErrImagePull), as a missing image does on a cluster.

Kubernetes semantics: a container's `command` replaces the image's ENTRYPOINT and its
`args` replace the CMD; with no `command`, the ENTRYPOINT runs with the `args`.
"""

import fcntl
import functools
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .prepare import programs

ROOT = Path(__file__).resolve().parents[3]
BUILD_DIR = Path(os.environ.get("FAKEKUBE_IMAGES_DIR", ROOT / "build" / "fakekube-images"))
PIP_CACHE = BUILD_DIR / "pip-cache"  # the local wheel cache that EXTRA_PIP_PACKAGES installs from
DASK_CONTENTS = ROOT / "argodasf_jupyter" / "image_contents" / "dask.yaml"
PREPARE = Path(__file__).with_name("prepare.py")
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
TEST_IMAGE_PREFIXES = ("example.org/", "ghcr.io/dask/dask-kubernetes-operator")
SHELL_IMAGES = ("alpine", "busybox", "debian", "ubuntu")
HUB_PREFIXES = ("docker.io/library/", "docker.io/", "library/")
SYSTEM_PATH = os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"])
UV = str(Path(sys.executable).with_name("uv"))  # the test extra's installer
UV_CACHE = ROOT / "build" / "uv-cache"  # dev.sh's own, unless UV_CACHE_DIR says otherwise


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


def dask_environment(release):
    """The venv standing in for ghcr.io/dask/dask:<release>-py<this python>."""

    def install(target):
        print(f"fakekube: building image ghcr.io/dask/dask:{release}-py{PYTHON} in {target}", file=sys.stderr)
        pinned = set(_dask_recipe()["release"])
        packages = [f"{name}=={release}" if name in pinned else name for name in _dask_recipe()["recipe"]]
        # uv, not pip, builds it (the image's own pip stays for prepare.py): several times faster
        subprocess.run(
            [UV, "pip", "install", "-q", "--compile-bytecode", "--python", str(target / "bin" / "python"), *packages],
            check=True,
            env={"UV_CACHE_DIR": str(UV_CACHE), **os.environ},
        )

    return _built(BUILD_DIR / f"dask-{release}-py{PYTHON}", install)


def bare_python():
    """The venv standing in for the python image: pip and nothing else."""
    return _built(BUILD_DIR / f"python-{PYTHON}", lambda target: None)


class Images:
    """The fake's image registry."""

    def __init__(self, default_release=None, pip_proxy=None):
        from dask import __version__

        self.default_release = default_release or __version__  # what `latest` means here
        self._pip_proxy = {"PIP_PROXY": pip_proxy} if pip_proxy else {}  # see egress.py

    def resolve(self, reference):
        if reference.startswith(TEST_IMAGE_PREFIXES):
            return Image(
                reference, sys.executable, env={"PATH": os.path.dirname(sys.executable) + os.pathsep + SYSTEM_PATH}
            )
        name = reference.split("@", 1)[0]
        repository, _, tag = name.rpartition(":")
        if not repository or "/" in tag:
            repository, tag = name, "latest"
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
                "PIP_CACHE_DIR": str(PIP_CACHE),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                **self._pip_proxy,
            },
        )


if __name__ == "__main__":  # build the default dask image ahead of the tests (CI)
    print(dask_environment(Images().default_release))
