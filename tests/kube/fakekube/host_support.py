"""Whether this machine can run the fake's pods as containers: root, the `ip` tool
(iproute2), and a kernel that grants mount, UTS and network namespaces and overlayfs.
Checked once per process, before a fake starts, so that a refusal is one clear line
instead of pods that never start."""

import functools
import os
import shutil
import subprocess
import sys
import tempfile

CONTAINER_INIT = os.path.join(os.path.dirname(__file__), "container_init.py")
HOW = "run the kube tests as root on Linux with namespaces and overlayfs allowed (in a container: --privileged)"


class HostUnsupported(RuntimeError):
    """This machine cannot run the fake's containers; the message says what to change."""


@functools.lru_cache(maxsize=1)
def require_container_support():
    if os.geteuid() != 0:
        raise HostUnsupported(f"the fake Kubernetes runs pods in Linux namespaces and needs root: {HOW}")
    if shutil.which("ip") is None:
        raise HostUnsupported("the fake Kubernetes needs the `ip` command for pod networks: apt-get install iproute2")
    with tempfile.TemporaryDirectory(prefix="fakekube-check-") as directory:
        probe = subprocess.run(
            [sys.executable, "-S", CONTAINER_INIT, "--check", directory], capture_output=True, text=True
        )
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise HostUnsupported(f"the kernel refused a pod's namespaces or overlay ({reason}): {HOW}")
