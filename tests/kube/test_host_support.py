"""A machine that cannot run the fake's containers gets one line that says what to change."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.one_environment

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECK = (
    "from kube.fakekube.host_support import HostUnsupported, require_container_support\n"
    "try:\n    require_container_support()\nexcept HostUnsupported as error:\n    print(error)\n"
    "else:\n    print('supported')\n"
)


def in_user_namespace(*unshare_flags):
    """The check, run in a new user namespace: no real root, so the kernel refuses."""
    if subprocess.run(["unshare", "-U", "true"], capture_output=True).returncode != 0:
        pytest.skip("this kernel does not allow user namespaces")
    done = subprocess.run(
        ["unshare", "-U", *unshare_flags, sys.executable, "-c", CHECK],
        capture_output=True,
        text=True,
        cwd=TESTS,
        env={**os.environ, "PYTHONPATH": TESTS},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_without_root_the_fake_says_it_needs_root():
    message = in_user_namespace()
    assert message.startswith("the fake Kubernetes runs pods in Linux namespaces and needs root")
    assert "\n" not in message


def test_a_refused_namespace_or_overlay_is_one_line_that_says_what_to_change():
    message = in_user_namespace("-r")  # uid 0 inside, but no overlay of the real root
    assert message.startswith("the kernel refused a pod's namespaces or overlay (")
    assert message.endswith("(in a container: --privileged)") and "\n" not in message
