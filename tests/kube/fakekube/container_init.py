"""Runs first in every fake container (`python -S container_init.py SPEC_JSON`), then
execs the container's command. Standard library only.

It gives the container what a container runtime does: the pod's network namespace,
its own mount and UTS namespaces (hostname = pod name), a root filesystem that is a
copy-on-write overlay of the machine's root (the "image": writes land in a per-container
upper directory and are seen by no other pod, nor by the test process), fresh /tmp and
/dev/shm, the pod's volumes at their mount paths, and the fake's own directory hidden.

SPEC_JSON: {"netns", "hostname", "hosts" (the file /etc/hosts links to), "upper", "work", "merged", "hide": [paths],
"mounts": [{"source", "target", "readOnly"}], "workingDir", "argv"}.
A failure before exec prints one line and exits 128 (the kubelet reports StartError).

`python -S container_init.py --check DIR` tries the same kernel features (namespaces,
an overlay of the root in DIR) without running anything, for host_support.py."""

import ctypes
import json
import os
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWNET = 0x00020000, 0x04000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
libc = ctypes.CDLL(None, use_errno=True)


def check(result, what):
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")


def mount(source, target, fstype=None, flags=0, data=None):
    check(
        libc.mount(
            source and source.encode(), target.encode(), fstype and fstype.encode(), flags, data and data.encode()
        ),
        f"mount {target}",
    )


def inside(merged, path, depth=0):
    """`path` of the container, as a path of the machine: symlinks on the way (such as
    /var/run -> /run) resolve inside the container's root, not the machine's."""
    resolved = merged
    parts = [part for part in path.split("/") if part and part != "."]
    for index, part in enumerate(parts):
        if part == "..":
            resolved = os.path.dirname(resolved) if resolved != merged else merged
            continue
        candidate = os.path.join(resolved, part)
        if os.path.islink(candidate) and depth < 40:
            target = os.readlink(candidate)
            base = "" if target.startswith("/") else resolved[len(merged) :]
            rest = "/".join(parts[index + 1 :])
            return inside(merged, f"{base}/{target}/{rest}", depth + 1)
        resolved = candidate
    return resolved


def bind(source, target, read_only=False):
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "a").close()
    mount(source, target, None, MS_BIND | MS_REC)
    if read_only:
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def prepare(spec):
    with open(f"/run/netns/{spec['netns']}") as netns:
        check(libc.setns(netns.fileno(), CLONE_NEWNET), "setns")
    check(libc.unshare(CLONE_NEWNS | CLONE_NEWUTS), "unshare")
    hostname = spec["hostname"].encode()
    check(libc.sethostname(hostname, len(hostname)), "sethostname")
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing leaks back to the machine
    merged = spec["merged"]
    mount("overlay", merged, "overlay", 0, f"lowerdir=/,upperdir={spec['upper']},workdir={spec['work']}")
    for path in ("/proc", "/sys", "/dev"):
        mount(path, inside(merged, path), None, MS_BIND | MS_REC)
    for path in ("/tmp", "/dev/shm", *spec["hide"]):
        if os.path.isdir(inside(merged, path)):
            mount("tmpfs", inside(merged, path), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for volume in spec["mounts"]:
        bind(volume["source"], inside(merged, volume["target"]), volume.get("readOnly", False))
    etc_hosts = inside(merged, "/etc/hosts")  # cluster DNS: the fake rewrites the linked file
    if os.path.lexists(etc_hosts):
        os.unlink(etc_hosts)
    os.symlink(spec["hosts"], etc_hosts)
    # no name server: a name that is not in /etc/hosts fails at once instead of
    # waiting for a server the pod cannot reach
    resolv_conf = inside(merged, "/etc/resolv.conf")
    if os.path.lexists(resolv_conf):
        os.unlink(resolv_conf)
    with open(resolv_conf, "w") as resolv:
        resolv.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    os.chroot(merged)
    os.chdir(spec.get("workingDir") or "/")


def probe_kernel(directory):
    """Unshare the namespaces and overlay the root as prepare() does, then exit."""
    check(libc.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET), "unshare")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    parts = [os.path.join(directory, part) for part in ("upper", "work", "merged")]
    for part in parts:
        os.makedirs(part, exist_ok=True)
    mount("overlay", parts[2], "overlay", 0, f"lowerdir=/,upperdir={parts[0]},workdir={parts[1]}")


def main():
    if sys.argv[1] == "--check":
        try:
            probe_kernel(sys.argv[2])
        except OSError as error:
            print(error, file=sys.stderr)
            sys.exit(1)
        return
    spec = json.loads(sys.argv[1])
    try:
        prepare(spec)
    except OSError as error:
        print(f"fake container runtime: {error}", file=sys.stderr)
        sys.exit(128)
    try:
        os.execvp(spec["argv"][0], spec["argv"])
    except OSError as error:
        print(f"exec {spec['argv'][0]}: {error.strerror}", file=sys.stderr)
        sys.exit(127 if error.errno == 2 else 126)


if __name__ == "__main__":
    main()
