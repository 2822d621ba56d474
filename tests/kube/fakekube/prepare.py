"""Stand-in for the dask image's ENTRYPOINT (`tini -g -- /usr/bin/prepare.sh`).

    prepare.py IMAGE_PYTHON ARG...

Like prepare.sh: when EXTRA_PIP_PACKAGES is set, those packages are installed into the
image's environment, then the container's arguments run. The container's root is a
copy-on-write overlay (container_init.py), so what one pod installs lands in its own
layer and no other pod sees it, as on a cluster. Standard library only.

The installer is uv, not the image's pip (a difference from prepare.sh, for speed: pip
took about 5 s of CPU per pod on a 2-core machine running a dozen pods). It resolves
against the package index through the cluster's egress proxy (egress.py), with the
package cache that the fake shares between its pods (see images.py), and links the
files from that cache instead of unpacking them again.
"""

import os
import subprocess
import sys
from pathlib import Path

UV = str(Path(sys.executable).with_name("uv"))  # beside the test environment that runs this


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


def install(python, packages):
    proxy = os.environ.get("PIP_PROXY")
    proxies = {"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy} if proxy else {}
    # the system's certificate store, as pip's truststore reads it; symlinks into the
    # shared cache, which is another mount, where hard links fail
    environment = {**os.environ, **proxies, "UV_NATIVE_TLS": "1", "UV_LINK_MODE": "symlink", "UV_NO_PROGRESS": "1"}
    return subprocess.run([UV, "pip", "install", "--python", python, *packages], env=environment).returncode


def main(image_python, *argv):
    packages = os.environ.get("EXTRA_PIP_PACKAGES", "").split()
    if packages:
        print("EXTRA_PIP_PACKAGES environment variable found.  Installing.", flush=True)
        failed = install(image_python, packages)
        if failed:
            return failed
    if not argv:
        return 0
    argv = programs(image_python, list(argv))
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
