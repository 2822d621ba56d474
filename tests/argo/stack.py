"""A fake Kubernetes (with the real Dask operator) and a fake Argo Server whose
workflows run through the controller, set up as the product's ARGO_* settings
expect.

    with argo_on_kubernetes(tmp_path, engine) as (fk, server): ...
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from unittest import mock

from kube.harness import FakeKubernetes

from .controlled_server import ControlledFakeArgo


@contextmanager
def argo_on_kubernetes(root, engine, namespace: str = "default", operator: bool = True, token: str | None = None):
    token = token or f"argo-token-{secrets.token_hex(8)}"
    with FakeKubernetes(root, namespace=namespace, operator=operator) as fk:
        server = ControlledFakeArgo(token, fk, engine).start()
        try:
            with mock.patch.dict(
                os.environ, ARGO_SERVER=server.address, ARGO_SECURE="false", ARGO_TOKEN=token, ARGO_NAMESPACE=namespace
            ):
                yield fk, server
        finally:
            server.stop()
