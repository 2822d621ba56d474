"""A cluster factory for dask-labextension's "+ NEW" button.

dask-labextension creates clusters with ``await Class(*args, **kwargs,
asynchronous=True)`` from its ``labextension.factory`` dask setting. Pointing it
here makes its button build the same cluster a bare ``%%dasf_cluster`` cell
builds: the configured default ClusterSpec (``argodasf.cluster``), on the same
backend, so both sidebars make the same clusters::

    # ~/.config/dask/labextension.yaml
    labextension:
      factory:
        module: argodasf_jupyter.dask_factory
        class: default_cluster
        args: []
        kwargs: {}      # optional ClusterSpec keys over the defaults, e.g. {workers: 4}
"""

from __future__ import annotations

import asyncio
import secrets

from . import backends
from .config import settings
from .limits import MAX_NAME_LENGTH
from .spec import parse_spec

SUFFIX_LENGTH = 5  # "-" and four hex digits


async def default_cluster(asynchronous: bool = True, **keys):
    """Start a cluster from the configured defaults, with ``keys`` layered on top.

    Each click makes a new cluster, so unless ``name`` is given the configured
    name gets a short random suffix (Kubernetes cluster names must be unique).
    """
    spec = parse_spec(keys, base=settings().cluster, where="the dask-labextension factory kwargs")
    if "name" not in keys:
        spec = spec.with_changes(name=f"{spec.name[: MAX_NAME_LENGTH - SUFFIX_LENGTH]}-{secrets.token_hex(2)}")
    backend = backends.backend_module(backends.resolve(spec))
    backend.check(spec)
    # the backends build clusters synchronously: keep the Jupyter server's event loop free
    return await asyncio.to_thread(backend.start, spec, lambda phase: None)
