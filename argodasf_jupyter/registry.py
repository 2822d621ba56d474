"""Kernel -> Jupyter server registry: each kernel publishes what it holds.

A kernel writes one JSON file, ``<runtime dir>/argodasf/kernel-<pid>.json``, with
its clusters and its workflow draft; the server extension lists the files and
drops those whose process is gone. Files are replaced atomically, so a reader
never sees half a file. Nothing secret is written here.

Format (version 1)::

    {"version": 1, "pid": 123, "kernel_id": "..." | null, "updated": 1700000000.0,
     "clusters": [{"name", "backend", "status", "workers", "requested", "threads", "memory",
                   "dashboard_link", "owned", "keep", "scheduler_address", "shape": {...}}],
     "draft": {"name", "path", "steps": [{"name", "kind", "after": [...]}]} | null,
     "submitted": [{"name", "namespace", "submitted_at"}]}
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time

VERSION = 1


def registry_dir() -> str:
    from jupyter_core.paths import jupyter_runtime_dir

    return os.path.join(jupyter_runtime_dir(), "argodasf")


def kernel_id() -> str | None:
    """The Jupyter kernel id of this process, when it runs as a kernel."""
    try:
        from ipykernel import get_connection_file

        match = re.search(r"kernel-(.+)\.json$", get_connection_file())
        return match.group(1) if match else None
    except Exception:  # not inside a kernel (plain IPython, tests, scripts)
        return None


def publish(clusters: list[dict], draft: dict | None = None, submitted: list[dict] | None = None,
            directory: str | None = None) -> str:
    directory = directory or registry_dir()
    os.makedirs(directory, exist_ok=True)
    record = {
        "version": VERSION,
        "pid": os.getpid(),
        "kernel_id": kernel_id(),
        "updated": time.time(),
        "clusters": clusters,
        "draft": draft,
        "submitted": submitted or [],
    }
    path = os.path.join(directory, f"kernel-{os.getpid()}.json")
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".kernel-", suffix=".tmp")
    with os.fdopen(handle, "w") as stream:
        json.dump(record, stream)
    os.replace(temporary, path)
    return path


def withdraw(directory: str | None = None) -> None:
    path = os.path.join(directory or registry_dir(), f"kernel-{os.getpid()}.json")
    if os.path.exists(path):
        os.remove(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_all(directory: str | None = None) -> list[dict]:
    """Every live kernel's record; files of dead kernels are removed."""
    directory = directory or registry_dir()
    records = []
    if not os.path.isdir(directory):
        return records
    for entry in sorted(os.listdir(directory)):
        if not (entry.startswith("kernel-") and entry.endswith(".json")):
            continue
        path = os.path.join(directory, entry)
        try:
            with open(path) as stream:
                record = json.load(stream)
        except (OSError, ValueError):
            continue
        if not _alive(int(record.get("pid", -1))):
            os.remove(path)
            continue
        records.append(record)
    return records


def fingerprint(directory: str | None = None) -> str:
    """Changes whenever a kernel publishes or withdraws: the sidebar waits on it."""
    directory = directory or registry_dir()
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return ""
    return ";".join(_stamp(entry) for entry in entries
                    if entry.name.startswith("kernel-") and entry.name.endswith(".json"))


def _stamp(entry: os.DirEntry) -> str:
    try:
        return f"{entry.name}:{entry.stat().st_mtime_ns}"
    except OSError:  # withdrawn between the listing and the look
        return f"{entry.name}:gone"
