"""A validated cell becomes a workflow Step: the step model, and the checks and
analysis (cell_names.py) that make one. How a step's script is written and
delivered is step_script.py.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Literal, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_serializer

from . import images, runtime, step_report
from .cell_names import ParsedCell, parameters_from, parse
from .config import Settings, settings
from .errors import ArgodasfError
from .imports import Imported, cell_imports
from .limits import STEP_NAME_HINT, STEP_NAME_PATTERN
from .spec import ClusterSpec, check_name

MAX_RETRIES = 20
MAX_TIMEOUT = 30 * 24 * 3600
# what a container step takes from the cluster spec
STORAGE_KEYS = {"volumes", "env_from_secrets"}
# where the interactive cluster ran is not where the job runs: the workflow's namespace is
NOT_OF_THE_JOB = {"name", "namespace", "backend", "keep", "connect"}
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
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)  # the job's shape
    image: Optional[str] = None
    local_command: Optional[str] = None
    report: bool = False  # a Dask performance report of the cell (step_report.py)
    names: dict[str, str] = Field(default_factory=lambda: {"client": "client", "executor": "executor"})
    imports: list[Imported] = Field(default_factory=list)  # what the cell imports, as the kernel has it

    @field_serializer("cluster")
    def _cluster_as_given(self, cluster: ClusterSpec) -> dict[str, Any]:
        # the keys given, not every default: what a draft file has always held
        return cluster.model_dump(mode="json", exclude_unset=True)

    @model_serializer(mode="wrap")
    def _report_only_when_asked(self, handler) -> dict[str, Any]:
        # a draft without reports stays in the format that earlier versions read
        saved = handler(self)
        if not self.report:
            saved.pop("report", None)
        return saved

    @property
    def deadline(self) -> int:
        return self.timeout or settings().workflow.active_deadline

    def completion_key(self, parameters: Mapping | None = None) -> str:
        values = dict(self.parameters)
        values.update(parameters or {})
        return runtime.completion_key(self.code, values)


# -- making a step -------------------------------------------------------------------


def check_step_name(name: str) -> str:
    """The rule of limits.json, which the labextension's promote dialog applies too."""
    try:
        check_name(name, "step name")
    except ValueError as error:
        raise ArgodasfError(str(error)) from None
    if GENERATED_NAME_MARK in name:
        raise ArgodasfError(
            f"the step name '{name}' holds '{GENERATED_NAME_MARK}', which only the names the "
            "workflow generates hold; use a single '-'"
        )
    if not re.match(STEP_NAME_PATTERN, name):
        raise ArgodasfError(f"the step name '{name}' is not valid; {STEP_NAME_HINT}")
    return name


def check_adapt_retries(name: str, adapt, retries: int) -> None:
    if adapt is not None and retries:
        raise ArgodasfError(
            f"step '{name}' has both adapt and --retries: its DaskAutoscaler can name only the "
            "first attempt's cluster; give it a fixed --workers N, or --retries 0"
        )


def check_attempts(retries: int, timeout: Optional[int]) -> None:
    """The bounds of --retries and --timeout, for new steps and for those a draft file holds."""
    if not 0 <= retries <= MAX_RETRIES:
        raise ArgodasfError(f"--retries {retries} is out of range; use 0..{MAX_RETRIES}")
    if timeout is not None and not 1 <= timeout <= MAX_TIMEOUT:
        raise ArgodasfError(f"--timeout {timeout} is out of range; use 1..{MAX_TIMEOUT} seconds (30 days)")


def check_size(code: str, conf: Settings) -> None:
    size = len(code.encode("utf-8"))
    limit = conf.workflow.max_cell_bytes
    if size > limit:
        raise ArgodasfError(
            f"the cell has {size} bytes; the largest that can be promoted is {limit} "
            "(argodasf.workflow.max-cell-bytes); move code into a module installed in the image"
        )


def make_step(
    name: str,
    code: str | ParsedCell,
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
    conf: Settings | None = None,
) -> Step:
    """Validate a cell (its text, or parsed already) and make it a Step (the cell has
    already run successfully); ``conf``: the settings the caller read (default: the current ones)."""
    conf = conf if conf is not None else settings()
    cell = code if isinstance(code, ParsedCell) else None
    code = code.code if isinstance(code, ParsedCell) else code
    check_step_name(name)
    check_size(code, conf)
    check_attempts(retries, timeout)
    common = dict(
        name=name,
        code=code,
        inputs=list(inputs),
        outputs=list(outputs),
        after=list(after),
        retries=retries,
        timeout=timeout,
    )
    spec = cluster if cluster is not None else conf.cluster
    if container is not None:
        if report:
            raise ArgodasfError(
                f"step '{name}' is a container step; --report is for DASF steps (a Dask cluster's report)"
            )
        # a container step shares the cluster's way to the data: volumes and Secrets
        return Step(
            kind="container", image=container, local_command=local_command, cluster=spec.keeping(STORAGE_KEYS), **common
        )
    names = conf.names
    if overrides:
        spec = spec.with_changes(**{key: value for key, value in overrides.items() if value is not None})
    check_adapt_retries(name, spec.adapt, retries)
    cell = cell or parse(code)
    parameters = parameters_from(
        cell.free, values or {}, {names.client, names.executor}, names.cluster, where, step=name
    )
    shape = spec.keeping(set(ClusterSpec.model_fields) - NOT_OF_THE_JOB)
    imported = cell_imports(cell.tree, {key: values[key] for key in cell.free if key in (values or {})}, cell.code)
    images.check_promotable(spec, imported, name)
    step = Step(
        cluster=shape,
        parameters=parameters,
        names={"client": names.client, "executor": names.executor},
        imports=imported,
        report=report,
        **common,
    )
    if report:
        step_report.check_shared(step)
    return step
