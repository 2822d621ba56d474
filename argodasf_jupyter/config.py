"""Settings from dask's config system (`argodasf` key), validated strictly."""

from __future__ import annotations

import keyword
import os
from typing import Any, Optional

import dask.config
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ArgodasfError, validation_message
from .spec import fields_of, parse_spec

DEFAULTS_FILE = os.path.join(os.path.dirname(__file__), "argodasf.yaml")


def _register_defaults() -> None:
    with open(DEFAULTS_FILE) as stream:
        defaults = yaml.safe_load(stream)
    dask.config.update_defaults(defaults)


_register_defaults()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Section):
    cluster: str = "cluster"
    client: str = "client"
    executor: str = "executor"

    @field_validator("cluster", "client", "executor")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not value.isidentifier() or keyword.iskeyword(value):
            raise ValueError(f"names: {value!r} is not a Python name")
        return value


class LocalSettings(_Section):
    max_workers: int = Field(64, ge=1)
    dashboard_address: str = ":8787"


class KubernetesSettings(_Section):
    startup_timeout: int = Field(300, ge=1)
    request_timeout: float = Field(10, gt=0, le=3600)


class ClaimDirectory(_Section):
    claim: str
    directory: str


class WorkflowSettings(_Section):
    draft_dir: Optional[str] = None
    active_deadline: int = Field(3600, ge=1)
    service_account: Optional[str] = None
    max_cell_bytes: int = Field(1048576, ge=1024)
    install_missing: bool = True
    claim_dirs: list[ClaimDirectory] = Field(default_factory=list)


class ArgoSettings(_Section):
    server: Optional[str] = None
    namespace: Optional[str] = None
    secure: bool = True
    insecure_skip_verify: bool = False
    base_href: str = ""
    ui_url: Optional[str] = None
    timeout: float = Field(10, gt=0, le=3600)


class Settings(_Section):
    cluster: dict[str, Any] = Field(default_factory=dict)
    gpu_image: Optional[str] = None
    images: dict[str, list[str]] = Field(default_factory=dict)
    names: Names = Names()
    local: LocalSettings = LocalSettings()
    kubernetes: KubernetesSettings = KubernetesSettings()
    workflow: WorkflowSettings = WorkflowSettings()
    argo: ArgoSettings = ArgoSettings()

    @field_validator("cluster")
    @classmethod
    def _cluster_keys(cls, value):
        parse_spec(value, where="argodasf.cluster")  # the same rules as a cell
        return value


def _python_keys(value):
    """dask config keys use '-', Python fields '_' (dask treats them alike)."""
    if isinstance(value, dict):
        return {str(key).replace("-", "_"): _python_keys(item) for key, item in value.items()}
    return value


def settings() -> Settings:
    """The current `argodasf` settings; an invalid key gives a one-line error."""
    raw = _python_keys(dask.config.get("argodasf", default={}) or {})
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ArgodasfError(validation_message(exc, "the argodasf config", lambda loc: fields_of(Settings, loc))) from None
