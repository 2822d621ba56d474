"""A DASF step's Dask performance report: where the step writes it, and how the
Jupyter server reads it back.

With ``--report`` the step's runner wraps the cell, and only the cell, in
``distributed.performance_report`` and writes ``<step>-dask-report.html`` beside the
step's first output (in the same directory, or under the same object-store prefix),
or in its working directory when it has no outputs. Pods have filesystems of their
own, so the report must land on a shared volume or an object store; the step's
DaskJob names where (annotation ``argodasf.io/report``) for the server to find it.
"""

from __future__ import annotations

import json
import os
import posixpath
from typing import Optional

from .errors import ArgodasfError

SUFFIX = "-dask-report.html"
ANNOTATION = "argodasf.io/report"
MAX_BYTES = 64 * 1024 * 1024  # largest report the server sends


def path(step) -> Optional[str]:
    """Where the step's runner writes its report (as its pods see it), or None."""
    if not step.report:
        return None
    filename = step.name + SUFFIX
    if not step.outputs:
        return filename
    first = step.outputs[0].rstrip("/")
    scheme, separator, rest = first.partition("://")
    if separator:
        prefix = posixpath.dirname(rest) if "/" in rest else rest
        return f"{scheme}://{prefix}/{filename}"
    return posixpath.join(posixpath.dirname(first), filename)


def _object_store(location: str) -> bool:
    from .storage import OBJECT_STORE_SCHEMES

    scheme, separator, _ = location.partition("://")
    return bool(separator) and scheme.lower() in OBJECT_STORE_SCHEMES


def reference(step) -> Optional[dict]:
    """What the server needs to find the report: an object-store URL, or the claim
    and the path inside it (None when the step writes no report, or off shared storage)."""
    from .storage import location as volume_location

    where = path(step)
    if where is None:
        return None
    if _object_store(where):
        return {"url": where}
    found = volume_location(step.cluster, where)
    if found is None or not found[0].startswith("claim "):
        return None
    identity, mount_path, inside = found
    return {"claim": identity.removeprefix("claim "), "mount_path": mount_path, "path": inside}


def check_shared(step) -> None:
    """Refuse, in one line, a report written where nothing outside its pod can read it."""
    from .storage import location as volume_location

    where = path(step)
    if _object_store(where) or volume_location(step.cluster, where) is not None:
        return
    raise ArgodasfError(
        f"step '{step.name}' --report would write '{where}' on its runner pod's own filesystem, where nothing "
        "else can read it; give the step an output on a shared volume of its cluster spec (a claim mounted in "
        "volumes, or working_dir: true for relative paths) or an s3:// output"
    )


def annotation(step) -> dict[str, str]:
    """The DaskJob annotation naming where the report goes (empty without one)."""
    found = reference(step)
    return {ANNOTATION: json.dumps(found, sort_keys=True)} if found else {}


def from_annotation(text: Optional[str]) -> Optional[dict]:
    """The inverse of annotation(): a reference, or None for a missing or malformed one."""
    try:
        found = json.loads(text or "null")
    except ValueError:
        return None
    shaped = isinstance(found, dict) and set(found) in ({"url"}, {"claim", "mount_path", "path"})
    return found if shaped and all(isinstance(value, str) for value in found.values()) else None


def describe(found: dict) -> str:
    """The report's location in one phrase, as a user would look for it."""
    if "url" in found:
        return found["url"]
    return f"{posixpath.join(found['mount_path'], found['path'])} (claim {found['claim']})"


# -- reading it back, on the Jupyter server --------------------------------------------


class ReportTooLarge(ArgodasfError):
    """A report over the size the server sends."""


def _claim_directory(found: dict) -> str:
    from .config import settings

    given = {item.claim: item.directory for item in settings().workflow.claim_dirs}
    return given.get(found["claim"], found["mount_path"])


def _local_file(found: dict, step: str) -> str:
    root = os.path.realpath(_claim_directory(found))
    candidate = os.path.realpath(os.path.join(root, found["path"]))
    if not candidate.startswith(root + os.sep):
        raise ArgodasfError(f"the report of step '{step}' names a path outside claim {found['claim']}; not served")
    return candidate


def read(found: dict, step: str, limit: Optional[int] = None) -> bytes:
    """The bytes of step ``step``'s report at ``found`` (a reference()). A missing report
    is FileNotFoundError, one over ``limit`` bytes ReportTooLarge, a reference to
    anything but this step's report ArgodasfError (one line each)."""
    import fsspec

    limit = MAX_BYTES if limit is None else limit
    where = found.get("url") or ""
    if not (where.endswith("/" + step + SUFFIX) and _object_store(where)) and not (
        "claim" in found and posixpath.basename(found.get("path", "")) == step + SUFFIX
    ):
        raise ArgodasfError(f"the report reference of step '{step}' is not one this server serves")
    target = where or _local_file(found, step)
    with fsspec.open(target, "rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise ReportTooLarge(
            f"the report of step '{step}' has more than the {limit} bytes this server sends; "
            f"open it at {describe(found)}"
        )
    return data
