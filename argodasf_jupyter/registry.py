"""Kernel -> Jupyter server registry: each kernel publishes what it holds.

A kernel writes one JSON file, ``<runtime dir>/argodasf/kernel-<pid>.json``, with
its clusters and its workflow draft; the server extension lists the files and
drops those whose process is gone. Files are replaced atomically, so a reader
never sees half a file, and a file that does not hold a record of this format is
skipped. Nothing secret is written here; still, the directories are made 0700 (as
Jupyter makes its runtime directory, whose mode it then keeps) and the files 0600.

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
from contextlib import suppress
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

VERSION = 1
MAX_PID = 2**31 - 1  # what os.kill accepts


class KernelRecord(BaseModel):
    """What the server trusts of a kernel's file; other keys pass through."""

    model_config = ConfigDict(extra="allow")

    pid: int = Field(gt=0, le=MAX_PID)
    kernel_id: Optional[str] = None
    clusters: list[dict[str, Any]] = Field(default_factory=list)
    draft: Optional[dict[str, Any]] = None
    submitted: list[dict[str, Any]] = Field(default_factory=list)


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


def _private_directory(directory: str) -> None:
    """Make ``directory`` and a missing parent 0700 (the parent is Jupyter's runtime directory)."""
    parent = os.path.dirname(os.path.abspath(directory))
    if not os.path.isdir(parent):
        os.makedirs(parent, mode=0o700, exist_ok=True)
    os.makedirs(directory, mode=0o700, exist_ok=True)


def publish(
    clusters: list[dict], draft: dict | None = None, submitted: list[dict] | None = None, directory: str | None = None
) -> str:
    directory = directory or registry_dir()
    _private_directory(directory)
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
    try:
        with os.fdopen(handle, "w") as stream:  # mkstemp makes it 0600
            json.dump(record, stream)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
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
            with open(path, "rb") as stream:
                record = KernelRecord.model_validate(json.load(stream))
        except (OSError, ValueError, ValidationError):  # half-written by hand, or not ours
            continue
        if not _alive(record.pid):
            with suppress(FileNotFoundError):
                os.remove(path)
            continue
        records.append(record.model_dump())
    return records


def fingerprint(directory: str | None = None) -> str:
    """Changes whenever a kernel publishes or withdraws: the sidebar waits on it."""
    directory = directory or registry_dir()
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return ""
    return ";".join(
        _stamp(entry) for entry in entries if entry.name.startswith("kernel-") and entry.name.endswith(".json")
    )


def _stamp(entry: os.DirEntry) -> str:
    try:
        return f"{entry.name}:{entry.stat().st_mtime_ns}"
    except OSError:  # withdrawn between the listing and the look
        return f"{entry.name}:gone"
