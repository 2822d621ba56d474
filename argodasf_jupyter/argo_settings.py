"""Which Argo Server to talk to: one settings model for the kernel, the CLI, the
doctor and the server extension.

Where to connect comes only from configuration: the `argodasf.argo` settings, with
the argo CLI's environment variables (ARGO_SERVER, ARGO_NAMESPACE, ARGO_SECURE,
ARGO_INSECURE_SKIP_VERIFY, ARGO_BASE_HREF) taking precedence; never from a request.
The calls themselves go through ``argodasf_jupyter.argo`` (hera's WorkflowsService),
which holds the token (ARGO_TOKEN) and scrubs it from every error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .config import settings

DEFAULT_NAMESPACE = "argo"


@dataclass(frozen=True)
class ArgoTarget:
    host: str  # scheme://server[/base_href]
    namespace: str
    verify_ssl: bool
    ui_url: str


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes")


def argo_target() -> ArgoTarget | None:
    """The configured Argo Server, or None when there is none."""
    conf = settings().argo
    server = os.environ.get("ARGO_SERVER") or conf.server
    if not server:
        return None
    secure = _env_flag("ARGO_SECURE", conf.secure)
    scheme, written, bare = server.partition("://")
    if written:  # ARGO_SERVER=https://host:2746 (the argo CLI wants host:port): the scheme decides
        server, secure = bare, scheme.lower() == "https"
    base_href = os.environ.get("ARGO_BASE_HREF", conf.base_href).strip("/")
    host = f"{'https' if secure else 'http'}://{server.rstrip('/')}" + (f"/{base_href}" if base_href else "")
    return ArgoTarget(
        host=host,
        namespace=os.environ.get("ARGO_NAMESPACE") or conf.namespace or DEFAULT_NAMESPACE,
        verify_ssl=not _env_flag("ARGO_INSECURE_SKIP_VERIFY", conf.insecure_skip_verify),
        ui_url=(conf.ui_url or host).rstrip("/"),
    )
