"""Settings from dask's config system (`argodasf` key), validated strictly.

argodasf.yaml holds every default (the models below declare none), and the
validated settings are kept until the config changes: read them once at the edge
(magic, CLI, server) and pass them on.
"""

from __future__ import annotations

import copy
import keyword
import os
from typing import Optional

import dask.config
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ArgodasfError, validation_message
from .spec import ClusterSpec, fields_of

DEFAULTS_FILE = os.path.join(os.path.dirname(__file__), "argodasf.yaml")

with open(DEFAULTS_FILE) as _stream:
    DEFAULTS = yaml.safe_load(_stream)
dask.config.update_defaults(DEFAULTS)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Section):
    cluster: str
    client: str
    executor: str

    @field_validator("cluster", "client", "executor")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not value.isidentifier() or keyword.iskeyword(value):
            raise ValueError(f"names: {value!r} is not a Python name")
        return value


class LocalSettings(_Section):
    max_workers: int = Field(ge=1)
    dashboard_address: str


class KubernetesSettings(_Section):
    startup_timeout: int = Field(ge=1)
    request_timeout: float = Field(gt=0, le=3600)


class ClaimDirectory(_Section):
    claim: str
    directory: str


class WorkflowSettings(_Section):
    draft_dir: Optional[str]
    active_deadline: int = Field(ge=1)
    service_account: Optional[str]
    max_cell_bytes: int = Field(ge=1024)
    install_missing: bool
    claim_dirs: list[ClaimDirectory]


class ArgoSettings(_Section):
    server: Optional[str]
    namespace: Optional[str]
    secure: bool
    insecure_skip_verify: bool
    base_href: str
    ui_url: Optional[str]
    timeout: float = Field(gt=0, le=3600)


class Settings(_Section):
    cluster: ClusterSpec  # the same rules as a cell; its unset keys keep the ClusterSpec defaults
    gpu_image: Optional[str]
    images: dict[str, list[str]]
    names: Names
    local: LocalSettings
    kubernetes: KubernetesSettings
    workflow: WorkflowSettings
    argo: ArgoSettings


def _python_keys(value):
    """dask config keys use '-', Python fields '_' (dask treats them alike)."""
    if isinstance(value, dict):
        return {str(key).replace("-", "_"): _python_keys(item) for key, item in value.items()}
    return value


_last_read: Optional[tuple[dict, Settings]] = None


def settings() -> Settings:
    """The current `argodasf` settings; an invalid key gives a one-line error."""
    global _last_read
    # the defaults again: dask.config.set({"argodasf": {...}}) replaces the whole section
    raw = _python_keys(dask.config.merge(DEFAULTS["argodasf"], dask.config.get("argodasf", default={}) or {}))
    if _last_read is not None and _last_read[0] == raw:
        return _last_read[1]
    try:
        validated = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ArgodasfError(
            validation_message(exc, "the argodasf config", lambda loc: fields_of(Settings, loc))
        ) from None
    _last_read = (copy.deepcopy(raw), validated)
    return validated
