"""Backends turn a ClusterSpec into a live Dask cluster.

Each backend is a module with the same three functions:

- ``check(spec)``: raise ArgodasfError for a spec this backend cannot honour,
  before anything is created;
- ``start(spec, progress)``: create a cluster this kernel owns and return the
  distributed ``Cluster`` object once it is ready;
- ``attach(spec, progress)``: connect to an existing cluster of that name without
  owning it (kubernetes only: local clusters have no names to attach to, and
  local ``check`` refuses ``connect``).

``progress(phase: str)`` reports startup phases to the widget. Scaling, adapting
and closing go through the Cluster object's own methods.
"""

from __future__ import annotations

import importlib
import os

from ..errors import ArgodasfError
from ..spec import ClusterSpec

BACKENDS = ("local", "kubernetes")
SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def kubernetes_available() -> bool:
    """True when a kubeconfig or an in-cluster service account is present."""
    if os.environ.get("KUBERNETES_SERVICE_HOST") and os.path.exists(SERVICE_ACCOUNT_TOKEN):
        return True
    paths = os.environ.get("KUBECONFIG") or os.path.join(os.path.expanduser("~"), ".kube", "config")
    return any(os.path.isfile(path) for path in paths.split(os.pathsep) if path)


def resolve(spec: ClusterSpec) -> str:
    """The backend a spec runs on: 'auto' picks kubernetes when it is there."""
    if spec.backend != "auto":
        return spec.backend
    return "kubernetes" if kubernetes_available() else "local"


def backend_module(name: str):
    if name not in BACKENDS:
        raise ArgodasfError(f"unknown backend '{name}'; use one of {', '.join(BACKENDS)}")
    return importlib.import_module(f"{__name__}.{name}")
