"""A validated cell becomes a workflow Step: the step model, and the checks and
analysis (cell_names.py) that make one. How a step's script is written and
delivered is step_script.py.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field

from . import images, runtime, step_report
from .cell_names import free_names, parameters_from
from .config import settings
from .errors import ArgodasfError
from .imports import Imported, cell_imports
from .spec import ClusterSpec, check_name, parse_spec

MAX_RETRIES = 20
# what a container step takes from the cluster spec
STORAGE_KEYS = {"volumes", "env_from_secrets"}
# in generated template and task names only, so they never collide with a step's
GENERATED_NAME_MARK = "--"


class Step(BaseModel):
    """One workflow step: a DASF cell run as a DaskJob, or a container command."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["dasf", "container"] = "dasf"
    code: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=list)
    outputs: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)
    retries: int = 0
    timeout: Optional[int] = None
    cluster: dict[str, Any] = Field(default_factory=dict)
    image: Optional[str] = None
    local_command: Optional[str] = None
    report: bool = False  # a Dask performance report of the cell (step_report.py)
    names: dict[str, str] = Field(default_factory=lambda: {"client": "client", "executor": "executor"})
    imports: list[Imported] = Field(default_factory=list)  # what the cell imports, as the kernel has it

    def cluster_spec(self) -> ClusterSpec:
        return parse_spec(self.cluster, where=f"the cluster of step '{self.name}'")

    @property
    def deadline(self) -> int:
        return self.timeout or settings().workflow.active_deadline

    def completion_key(self, parameters: Mapping | None = None) -> str:
        values = dict(self.parameters)
        values.update(parameters or {})
        return runtime.completion_key(self.code, values)


# -- making a step -------------------------------------------------------------------

# one rule for Python and the labextension's promote dialog
STEP_NAME_RULE = json.loads((Path(__file__).parent / "step_name.json").read_text())


def check_step_name(name: str) -> str:
    try:
        check_name(name, "step name")
    except ValueError as error:
        raise ArgodasfError(str(error)) from None
    if GENERATED_NAME_MARK in name:
        raise ArgodasfError(f"the step name '{name}' holds '{GENERATED_NAME_MARK}', which only the names the "
                            "workflow generates hold; use a single '-'")
    if not re.match(STEP_NAME_RULE["pattern"], name):
        raise ArgodasfError(f"the step name '{name}' is not valid; {STEP_NAME_RULE['hint']}")
    return name


def check_adapt_retries(name: str, adapt, retries: int) -> None:
    if adapt is not None and retries:
        raise ArgodasfError(f"step '{name}' has both adapt and --retries: its DaskAutoscaler can name only the "
                            "first attempt's cluster; give it a fixed --workers N, or --retries 0")


def check_size(code: str) -> None:
    size = len(code.encode("utf-8"))
    limit = settings().workflow.max_cell_bytes
    if size > limit:
        raise ArgodasfError(
            f"the cell has {size} bytes; the largest that can be promoted is {limit} "
            "(argodasf.workflow.max-cell-bytes); move code into a module installed in the image"
        )


def make_step(
    name: str,
    code: str,
    *,
    values: Mapping[str, Any] | None = None,
    where: Callable[[str], Optional[str]] | None = None,
    cluster: ClusterSpec | None = None,
    overrides: Mapping[str, Any] | None = None,
    after=(),
    inputs=(),
    outputs=(),
    retries: int = 0,
    timeout: int | None = None,
    container: str | None = None,
    local_command: str | None = None,
    report: bool = False,
) -> Step:
    """Validate a cell and make it a Step (the cell has already run successfully)."""
    check_step_name(name)
    check_size(code)
    if not 0 <= retries <= MAX_RETRIES:
        raise ArgodasfError(f"--retries {retries} is out of range; use 0..{MAX_RETRIES}")
    if timeout is not None and timeout < 1:
        raise ArgodasfError(f"--timeout {timeout} must be a positive number of seconds")
    common = dict(name=name, code=code, inputs=list(inputs), outputs=list(outputs), after=list(after),
                  retries=retries, timeout=timeout)
    spec = cluster if cluster is not None else parse_spec(settings().cluster, where="the argodasf.cluster config")
    if container is not None:
        if report:
            raise ArgodasfError(f"step '{name}' is a container step; --report is for DASF steps (a Dask cluster's report)")
        # a container step shares the cluster's way to the data: volumes and Secrets
        storage = spec.model_dump(mode="json", exclude_unset=True, include=STORAGE_KEYS)
        return Step(kind="container", image=container, local_command=local_command, cluster=storage, **common)
    names = settings().names
    if overrides:
        spec = spec.with_changes(**{key: value for key, value in overrides.items() if value is not None})
    check_adapt_retries(name, spec.adapt, retries)
    free = free_names(code)
    parameters = parameters_from(free, values or {}, {names.client, names.executor}, names.cluster,
                                 where, step=name)
    # where the interactive cluster ran is not where the job runs: the workflow's namespace is
    shape = spec.model_dump(mode="json", exclude_unset=True, exclude={"name", "namespace", "backend", "keep", "connect"})
    imported = cell_imports(ast.parse(code), {key: values[key] for key in free if key in (values or {})})
    images.check_promotable(spec, imported, name)
    step = Step(cluster=shape, parameters=parameters, names={"client": names.client, "executor": names.executor},
                imports=imported, report=report, **common)
    if report:
        step_report.check_shared(step)
    return step
