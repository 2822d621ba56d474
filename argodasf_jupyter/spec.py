"""ClusterSpec: the single truth for a Dask cluster's shape.

The same object builds the interactive cluster (local or KubeCluster) and the
DaskJob cluster of a promoted workflow step, so what was validated in the notebook
is what runs unattended. Parsing is pure: a YAML cell body, magic-line overrides and
the configured defaults go in, a validated, frozen spec comes out, or an
ArgodasfError whose message is one line.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Optional, Union, get_args

import yaml
from dask.utils import parse_bytes
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator

from .cluster_keys import DEFAULT_WORKERS, KEYS
from .errors import ArgodasfError, validation_message
from .limits import MAX_NAME_LENGTH, MAX_WORKERS

# Dask operator rule for cluster names (FACTS.md); applied on every backend so a
# notebook that runs locally promotes cleanly to Kubernetes later.
NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
BACKENDS = ("auto", "local", "kubernetes")
MAX_THREADS = 256
MIN_MEMORY = parse_bytes("128MiB")
MAX_MEMORY = parse_bytes("1PiB")  # more than any node has: a typo, not a size
MAX_CPU = 1024
# a Kubernetes CPU quantity: cores (2, 0.5) or millicores (500m)
CPU_PATTERN = re.compile(r"^(?:[0-9]{1,4}(?:\.[0-9]{1,3})?|[0-9]{1,7}m)$")
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")


def shown(text: str, limit: int = 80) -> str:
    """``text`` as a message quotes it: on one line (escapes for line breaks), cut when long."""
    text = text if text.isprintable() else repr(text)[1:-1]
    return text if len(text) <= limit else text[:limit] + "..."


def check_name(name: str, what: str = "cluster name") -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"the {what} must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"the {what} '{shown(name)}' has {len(name)} characters; use at most {MAX_NAME_LENGTH}")
    if not NAME_PATTERN.match(name):
        raise ValueError(
            f"the {what} '{shown(name)}' is not a valid Kubernetes name; use lowercase letters, "
            "digits and '-', starting and ending with a letter or digit"
        )
    return name


def _field(key: str, **constraints):
    default = KEYS[key].default
    if isinstance(default, (dict, list)):
        return Field(default_factory=type(default), description=KEYS[key].help, **constraints)
    return Field(default, description=KEYS[key].help, **constraints)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Adapt(_Strict):
    """Adaptive scaling range."""

    minimum: StrictInt = Field(0, ge=0, le=MAX_WORKERS, description="fewest workers")
    maximum: StrictInt = Field(..., ge=1, le=MAX_WORKERS, description="most workers")

    @model_validator(mode="after")
    def _ordered(self):
        if self.minimum > self.maximum:
            raise ValueError(f"adapt minimum {self.minimum} is above maximum {self.maximum}; swap them")
        return self


class Volume(_Strict):
    """A volume mounted on the scheduler, the workers and a job's runner."""

    name: str = Field(..., description="volume name (Kubernetes name)")
    mount_path: str = Field(..., description="where it is mounted in every container")
    claim: Optional[str] = Field(None, description="PersistentVolumeClaim name (e.g. a ReadWriteMany claim)")
    source: Optional[dict[str, Any]] = Field(
        None, description="any other Kubernetes volume source, e.g. {emptyDir: {}}"
    )
    read_only: bool = Field(False, description="mount read-only")
    # -- storage between pods --
    working_dir: bool = Field(False, description="the containers' working directory: relative paths land on it")

    @field_validator("name")
    @classmethod
    def _name(cls, value):
        return check_name(value, "volume name")

    @field_validator("mount_path")
    @classmethod
    def _absolute(cls, value):
        if not value.startswith("/"):
            raise ValueError(f"mount_path '{value}' must be an absolute path such as /shared")
        return value

    @model_validator(mode="after")
    def _one_source(self):
        if (self.claim is None) == (self.source is None):
            raise ValueError(f"volume '{self.name}' needs exactly one of 'claim' or 'source'")
        return self


class ClusterSpec(_Strict):
    """The shape of a Dask cluster, for every backend (keys and help: cluster_keys.py)."""

    name: str = _field("name")
    backend: Literal[BACKENDS] = _field("backend")  # type: ignore[valid-type]
    workers: Optional[StrictInt] = _field("workers", ge=0, le=MAX_WORKERS)
    adapt: Optional[Adapt] = _field("adapt")
    threads_per_worker: StrictInt = _field("threads_per_worker", ge=1, le=MAX_THREADS)
    memory_limit: str = _field("memory_limit")
    cpu: Optional[str] = _field("cpu")
    image: Optional[str] = _field("image")
    gpu: Union[bool, int] = _field("gpu")
    rmm_pool_size: Optional[str] = _field("rmm_pool_size")
    env: dict[str, str] = _field("env")
    namespace: Optional[str] = _field("namespace")
    volumes: list[Volume] = _field("volumes")
    node_selector: dict[str, str] = _field("node_selector")
    tolerations: list[dict[str, Any]] = _field("tolerations")
    service_account: Optional[str] = _field("service_account")
    scheduler_service_type: Literal[SERVICE_TYPES] = _field("scheduler_service_type")  # type: ignore[valid-type]
    idle_timeout: Optional[StrictInt] = _field("idle_timeout", ge=0, le=10**8)
    keep: bool = _field("keep")
    connect: bool = _field("connect")

    # -- storage between pods: every pod has its own filesystem --
    env_from_secrets: list[str] = _field("env_from_secrets")

    @field_validator("env_from_secrets")
    @classmethod
    def _secret_names(cls, value):
        return [check_name(name, "secret name") for name in value]

    @model_validator(mode="after")
    def _one_working_dir(self):
        chosen = [volume.name for volume in self.volumes if volume.working_dir]
        if len(chosen) > 1:
            raise ValueError(f"volumes {', '.join(chosen)} are all working_dir; mark only one")
        return self

    @property
    def working_volume(self) -> Optional[Volume]:
        return next((volume for volume in self.volumes if volume.working_dir), None)

    @field_validator("name")
    @classmethod
    def _name(cls, value):
        return check_name(value)

    @field_validator("namespace", "service_account")
    @classmethod
    def _k8s_name(cls, value, info):
        return None if value is None else check_name(value, info.field_name.replace("_", " "))

    @field_validator("memory_limit", mode="before")
    @classmethod
    def _memory(cls, value):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        elif isinstance(value, float) and value.is_integer():
            value = str(int(value))
        if value == "auto":
            return value
        size = None
        if isinstance(value, str):
            try:
                size = parse_bytes(value)
            except (ValueError, TypeError, OverflowError):
                pass
        if not isinstance(size, int):
            shown = value if isinstance(value, (str, int, float)) else type(value).__name__
            raise ValueError(f"memory_limit '{shown}' is not a size; write it like 4GiB, 512MiB or 'auto'")
        if size < MIN_MEMORY:
            raise ValueError(f"memory_limit '{value}' is below 128MiB; a Dask worker needs more")
        if size > MAX_MEMORY:
            raise ValueError(f"memory_limit '{value}' is above 1PiB; write the size of one worker, e.g. 4GiB")
        return value

    @field_validator("cpu", mode="before")
    @classmethod
    def _cpu(cls, value):
        if value is None:
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = f"{value:g}"
        if not isinstance(value, str) or not CPU_PATTERN.match(value) or not 0 < _cores(value) <= MAX_CPU:
            shown = value if isinstance(value, str) else type(value).__name__
            raise ValueError(
                f"cpu '{shown}' is not a CPU amount; write cores (2, 0.5) or millicores (500m), at most {MAX_CPU} cores"
            )
        return value

    @field_validator("gpu")
    @classmethod
    def _gpu(cls, value):
        if not isinstance(value, bool) and not 0 <= value <= 16:
            raise ValueError(f"gpu {value} is not a GPU count; use false, true or 1..16")
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env_strings(cls, value):
        # YAML reads OMP_NUM_THREADS: 1 as an int; environment values are strings.
        if isinstance(value, dict):
            return {
                key: str(item).lower()
                if isinstance(item, bool)
                else str(item)
                if isinstance(item, (int, float))
                else item
                for key, item in value.items()
            }
        return value

    @model_validator(mode="after")
    def _workers_or_adapt(self):
        if self.workers is not None and self.adapt is not None:
            raise ValueError("give either 'workers' or 'adapt', not both")
        return self

    @property
    def gpus_per_worker(self) -> int:
        return int(self.gpu)

    @property
    def initial_workers(self) -> int:
        if self.adapt is not None:
            return self.adapt.minimum
        return DEFAULT_WORKERS if self.workers is None else self.workers

    def with_changes(self, **changes) -> "ClusterSpec":
        """A validated copy with some keys changed (used by flags and reshaping)."""
        return parse_spec(changes, base=self)

    def keeping(self, keys) -> "ClusterSpec":
        """A copy with only ``keys`` of the keys set here; the others back to their defaults.
        Not validated again: the rules that join keys forbid combinations, which dropping keys cannot make."""
        kept = {key: getattr(self, key) for key in self.model_fields_set & set(keys)}
        return ClusterSpec.model_construct(_fields_set=set(kept), **kept)


def _cores(quantity: str) -> float:
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def fields_of(model: type[BaseModel], loc: tuple[str, ...]) -> list[str]:
    """Valid keys at a nested location of a model (for 'did you mean')."""
    for part in loc:
        if part.isdigit():  # an index into a list
            continue
        annotation = model.model_fields[part].annotation
        nested = [
            arg for arg in get_args(annotation) or (annotation,) if isinstance(arg, type) and issubclass(arg, BaseModel)
        ]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice (PyYAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_yaml_mapping(text: str, where: str) -> dict:
    """Parse a cell body as a YAML mapping (empty body -> {})."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader) if text and text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ArgodasfError(f"{where} is not valid YAML{line}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ArgodasfError(f"{where} must be YAML 'key: value' lines, got a {type(data).__name__}")
    return data


def parse_spec(values: dict, base: ClusterSpec | dict | None = None, where: str = "the cluster spec") -> ClusterSpec:
    """Validate ``values`` layered over ``base`` (a spec or a dict of defaults)."""
    merged = dict(base.model_dump(exclude_unset=True) if isinstance(base, ClusterSpec) else (base or {}))
    if "workers" in values and values["workers"] is not None:
        merged.pop("adapt", None)
    if "adapt" in values and values["adapt"] is not None:
        merged.pop("workers", None)
    merged.update(values)
    try:
        return ClusterSpec.model_validate(merged)
    except ValidationError as exc:
        raise ArgodasfError(validation_message(exc, where, lambda loc: fields_of(ClusterSpec, loc))) from None


def parse_adapt_flag(text: str) -> dict:
    """'1:4' -> {'minimum': 1, 'maximum': 4}."""
    minimum, sep, maximum = text.partition(":")
    if not sep or not minimum.strip().isdigit() or not maximum.strip().isdigit():
        raise ArgodasfError(f"--adapt '{text}' must be MIN:MAX, e.g. --adapt 1:4")
    return {"minimum": int(minimum), "maximum": int(maximum)}


def to_cell(spec: ClusterSpec) -> str:
    """The %%dasf_cluster cell that recreates ``spec`` (only non-default keys)."""
    body = spec.model_dump(mode="json", exclude_defaults=True, exclude={"name"})
    text = yaml.safe_dump(body, sort_keys=False, default_flow_style=None).strip() if body else ""
    return f"%%dasf_cluster {spec.name}\n{text}".rstrip() + "\n"
