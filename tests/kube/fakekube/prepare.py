"""Stand-in for the dask image's ENTRYPOINT (`tini -g -- /usr/bin/prepare.sh`).

    prepare.py IMAGE_PYTHON ARG...

Like prepare.sh: when EXTRA_PIP_PACKAGES is set, pip installs those packages, then the
container's arguments run. The image's environment is shared by every pod of the image,
so installs go into a layer of the pod's own (a venv in $HOME that sees the image's
packages), as a container writes into its own filesystem layer. Standard library only.
"""

import os
import subprocess
import sys
from pathlib import Path


def site_packages(python):
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def pod_layer(image_python):
    """A venv in the pod's home whose site-packages sees the image's."""
    layer = Path(os.environ.get("HOME", ".")) / ".image-layer"
    subprocess.run([image_python, "-m", "venv", "--without-pip", str(layer)], check=True)
    python = str(layer / "bin" / "python")
    base = site_packages(image_python)
    Path(site_packages(python), "image.pth").write_text(f"import site; site.addsitedir({base!r})\n")
    return python


def programs(python, argv):
    """The image's programs as this environment's: python, and dask's CLI (the legacy
    dask-scheduler / dask-worker entrypoints became `dask scheduler` / `dask worker`)."""
    if not argv:
        return []
    head, rest = argv[0], argv[1:]
    if head in ("python", "python3"):
        return [python, *rest]
    if head in ("dask-scheduler", "dask-worker"):
        return [python, "-m", "dask", head.split("-")[1], *rest]
    if head == "dask":
        return [python, "-m", "dask", *rest]
    return argv


def main(image_python, *argv):
    python = image_python
    packages = os.environ.get("EXTRA_PIP_PACKAGES", "").split()
    if packages:
        print("EXTRA_PIP_PACKAGES environment variable found.  Installing.", flush=True)
        python = pod_layer(image_python)
        # without byte-compiling (a pod imports a small part of scipy): on a loaded test
        # machine every pod's compile of the same files starved the schedulers
        installed = subprocess.run([python, "-m", "pip", "install", "--no-compile", *packages])
        if installed.returncode != 0:
            return installed.returncode
    if not argv:
        return 0
    argv = programs(python, list(argv))
    os.environ["PATH"] = os.pathsep.join([os.path.dirname(python), os.environ.get("PATH", "")])
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
