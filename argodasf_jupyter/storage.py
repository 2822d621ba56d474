"""Where the data that steps pass to each other lives.

Every step runs in pods of its own (a DaskJob's runner, scheduler and workers, or
one container), each with its own filesystem. A path that one step writes and a
later one reads must therefore be on a shared volume that both steps mount at the
same place (a ReadWriteMany claim, or a network filesystem), or be an object-store
URL such as s3://bucket/key, read with credentials from a Secret the spec names.
"""

from __future__ import annotations

import json
import posixpath
from typing import Mapping, Optional

from .draft import _feeds as feeds
from .errors import ArgodasfError
from .promote import Step
from .spec import ClusterSpec, Volume

OBJECT_STORE_SCHEMES = ("s3", "gs", "gcs", "abfs", "abfss", "az")
# volume sources whose files every pod on every node sees (besides a claim)
SHARED_SOURCES = ("nfs", "cephfs", "glusterfs", "azureFile")
HINT = (
    "put it on a shared volume both steps mount (in their cluster spec: volumes: [{name: data, "
    "claim: <a ReadWriteMany PersistentVolumeClaim>, mount_path: /data, working_dir: true}]; relative "
    "paths then land on it) or use an s3:// URL"
)


def _shared(volume: Volume) -> bool:
    return volume.claim is not None or any(key in (volume.source or {}) for key in SHARED_SOURCES)


def _identity(volume: Volume) -> str:
    return f"claim {volume.claim}" if volume.claim is not None else json.dumps(volume.source, sort_keys=True)


def location(spec: ClusterSpec, path: str) -> Optional[tuple[str, str, str]]:
    """(volume, mount path, path inside the volume) where ``path`` lives in the pods
    of ``spec``, or None when it is on a pod's own filesystem."""
    if not posixpath.isabs(path):
        working = spec.working_volume
        if working is None:
            return None
        path = posixpath.join(working.mount_path, path)
    path = posixpath.normpath(path)
    for volume in spec.volumes:
        mount = volume.mount_path.rstrip("/") or "/"
        if _shared(volume) and (path == mount or path.startswith(mount.rstrip("/") + "/")):
            return _identity(volume), mount, posixpath.relpath(path, mount)
    return None


def _problem(producer: Step, consumer: Step, path: str) -> Optional[str]:
    where = f"step '{consumer.name}' reads '{path}', which step '{producer.name}' writes"
    scheme, separator, _ = path.partition("://")
    if separator:
        if scheme.lower() in OBJECT_STORE_SCHEMES:
            return None
        return f"{where}, but {scheme}:// is not shared between pods; {HINT}"
    written, read = location(producer.cluster, path), location(consumer.cluster, path)
    if written is not None and written == read:
        return None
    return f"{where}, but each step runs in pods of its own; {HINT}"


def check_edges(steps: Mapping[str, Step]) -> None:
    """Refuse, in one line, a path passed between steps on a pod's own filesystem."""
    for consumer in steps.values():
        for producer in steps.values():
            if producer is consumer:
                continue
            for input_ in consumer.inputs:
                if any(feeds(output, input_) for output in producer.outputs):
                    problem = _problem(producer, consumer, input_)
                    if problem:
                        raise ArgodasfError(problem)
