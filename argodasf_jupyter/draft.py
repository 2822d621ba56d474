"""The workflow draft: the notebook's promoted steps and the edges between them.

A draft is a JSON file kept beside the notebook (or in argodasf.workflow.draft-dir).
Every change is a locked read-modify-write: under an exclusive lock on the draft's
directory the file is read again, changed, and replaced atomically, so kernels that
share a notebook merge their steps instead of overwriting each other's, and a
kernel restart loses nothing. The file is validated on every load (a versioned
model), so a hand-edited or hostile draft cannot reach the export.
Edges come from --after and from matching one step's --inputs with another's --outputs.
"""

from __future__ import annotations

import fcntl
import glob
import graphlib
import json
import keyword
import os
import re
import tempfile
import time
from contextlib import contextmanager, suppress
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .cluster_keys import CLUSTER_MODES
from .config import settings
from .errors import ArgodasfError, closest
from .promote import Step, check_attempts, check_step_name
from .spec import check_name

VERSION = 1
SUFFIX = ".dasf-workflow.json"
# the workflow's generateName prefix; Kubernetes adds 5 characters (see workflow.job_name)
MAX_DRAFT_NAME = 20
LOCK_TIMEOUT = 30.0  # seconds to wait for another kernel's change to the same draft


def draft_name(stem: str) -> str:
    """A valid workflow name prefix from a notebook name: 'My Notebook' -> 'my-notebook'."""
    name = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:MAX_DRAFT_NAME].strip("-")
    if not name or not name[0].isalpha():
        name = f"wf-{name}"[:MAX_DRAFT_NAME].strip("-")
    return name


def check_draft_name(name: str) -> str:
    """A draft name becomes the workflow's generateName: a short Kubernetes name."""
    if not isinstance(name, str) or len(name) > MAX_DRAFT_NAME or not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name):
        raise ValueError(
            f"the draft name {name!r} must be at most {MAX_DRAFT_NAME} lowercase letters, digits "
            "and '-', starting with a letter"
        )
    return name


def check_step(step: Step) -> Step:
    """What the draft accepts of a step: Kubernetes names (they reach Argo, the export
    and file paths), paths that are not a whole filesystem, bounded retries and deadline."""
    check_step_name(step.name)
    for upstream in step.after:
        try:
            check_name(upstream, "--after step name")
        except ValueError as error:
            raise ArgodasfError(str(error)) from None
    for flag, paths in (("--inputs", step.inputs), ("--outputs", step.outputs)):
        for path in paths:
            if not path.strip() or _normal(path) in ("/", ".") or path.rstrip("/").endswith("://"):
                raise ArgodasfError(
                    f"{flag} '{path}' names no particular file or directory; give the path it "
                    "reads or writes, e.g. /shared/out.zarr"
                )
    for name in [*step.parameters, *step.names.values()]:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ArgodasfError(f"step '{step.name}' uses {name!r} as a variable name, which Python cannot")
    check_attempts(step.retries, step.timeout)
    return step


class DraftFile(BaseModel):
    """What a draft file holds (version 1)."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = VERSION
    name: str
    cluster: Literal[CLUSTER_MODES] = CLUSTER_MODES[0]  # type: ignore[valid-type]
    steps: list[Step]

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_draft_name(value)

    @field_validator("steps")
    @classmethod
    def _steps(cls, steps: list[Step]) -> list[Step]:
        for step in steps:
            check_step(step)
        return steps


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the file"
    return f"{where}: {first['msg'].removeprefix('Value error, ')}"


def draft_path(notebook: Optional[str] = None) -> str:
    """Where the draft of ``notebook`` lives (cwd and 'workflow' when unknown)."""
    stem = os.path.splitext(os.path.basename(notebook))[0] if notebook else "workflow"
    directory = settings().workflow.draft_dir or (
        os.path.dirname(os.path.abspath(notebook)) if notebook else os.getcwd()
    )
    return os.path.join(os.path.expanduser(directory), stem + SUFFIX)


def _normal(path: str) -> str:
    return path.rstrip("/") if "://" in path else os.path.normpath(path)


def _feeds(output: str, input_: str) -> bool:
    """An input is produced by an output when it is that path or lies inside it."""
    output, input_ = _normal(output), _normal(input_)
    return input_ == output or input_.startswith(output + "/")


class Draft:
    """Ordered steps of one workflow, persisted at ``path``."""

    def __init__(self, name: str, path: str, steps: Optional[list[Step]] = None):
        try:
            self.name = check_draft_name(name)
        except ValueError as error:
            raise ArgodasfError(str(error)) from None
        self.path = path
        self.cluster = CLUSTER_MODES[0]
        self.steps: dict[str, Step] = {step.name: check_step(step) for step in steps or []}

    # -- persistence -------------------------------------------------------------------
    @classmethod
    def load(cls, path: str, name: Optional[str] = None) -> "Draft":
        """The draft at ``path``, or an empty one when there is none yet."""
        draft = cls(name or draft_name(os.path.basename(path).removesuffix(SUFFIX)), path)
        draft.refresh()
        return draft

    def refresh(self) -> None:
        """Take the steps (and name) from the file, which other kernels may have changed."""
        stored = self._read()
        if stored is not None:
            self.name, self.steps = stored.name, {step.name: step for step in stored.steps}
            self.cluster = stored.cluster

    def _read(self) -> Optional[DraftFile]:
        try:
            with open(self.path, "rb") as stream:
                text = stream.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise ArgodasfError(
                f"the workflow draft {self.path} cannot be read ({error.strerror}); check its permissions"
            ) from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            data.setdefault("name", self.name)
            if data.get("version", VERSION) != VERSION:
                raise ValueError(f"version {data['version']!r} is not {VERSION}")
            return DraftFile.model_validate(data)
        except ValidationError as error:
            problem = _first_problem(error)
        except ValueError as error:  # JSON syntax, encoding, shape
            problem = str(error).splitlines()[0]
        raise ArgodasfError(f"the workflow draft {self.path} cannot be read ({problem}); fix or delete it")

    @contextmanager
    def _locked(self):
        """Exclusive lock on the draft's directory: one writer at a time, across processes."""
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(directory, exist_ok=True)
            handle = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as error:
            raise ArgodasfError(
                f"cannot use the draft directory {directory} ({error.strerror}); "
                "set argodasf.workflow.draft-dir to a writable directory"
            ) from None
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ArgodasfError(
                            f"the workflow draft {self.path} stayed locked by another process for "
                            f"{LOCK_TIMEOUT:g} s; try again"
                        ) from None
                    time.sleep(0.01)
            yield
        finally:
            os.close(handle)  # releases the lock

    def _temporary_prefix(self) -> str:
        return f".{os.path.basename(self.path)}."

    def _write(self, name: str, steps: dict[str, Step]) -> None:
        """Replace the file atomically; call with the lock held."""
        directory = os.path.dirname(os.path.abspath(self.path))
        # only a writer holding the lock makes temporary files: any left is a killed writer's
        # (".draft-*" is the name earlier versions gave them)
        for pattern in (glob.escape(self._temporary_prefix()) + "*.tmp", ".draft-*.tmp"):
            for stale in glob.glob(os.path.join(glob.escape(directory), pattern)):
                with suppress(FileNotFoundError):
                    os.unlink(stale)
        record = DraftFile(name=name, cluster=self.cluster, steps=list(steps.values())).model_dump(mode="json")
        try:
            handle, temporary = tempfile.mkstemp(dir=directory, prefix=self._temporary_prefix(), suffix=".tmp")
        except OSError as error:
            raise ArgodasfError(
                f"cannot write the workflow draft {self.path} ({error.strerror}); "
                "set argodasf.workflow.draft-dir to a writable directory"
            ) from None
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(record, stream, indent=1, ensure_ascii=False)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            with suppress(FileNotFoundError):
                os.unlink(temporary)
            raise ArgodasfError(
                f"cannot write the workflow draft {self.path} ({error.strerror}); the draft is unchanged"
            ) from None
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def _change(self, change) -> None:
        """Locked read-modify-write: ``change(steps)`` edits a fresh copy of the file's
        steps; memory follows only once the file holds the result."""
        with self._locked():
            self.refresh()
            steps = dict(self.steps)
            change(steps)
            self._write(self.name, steps)
            self.steps = steps

    # -- changes -------------------------------------------------------------------------
    def add(self, step: Step) -> None:
        """Add or replace a step; the draft must stay a valid DAG."""
        check_step(step)

        def change(steps):
            steps[step.name] = step
            self._check(steps)

        self._change(change)

    def remove(self, name: str) -> None:
        def change(steps):
            if name not in steps:
                raise ArgodasfError(self._unknown(name, steps))
            del steps[name]

        self._change(change)

    def set_cluster(self, mode: str) -> None:
        """Choose "per-step" or "shared" (one Dask cluster for the whole workflow)."""
        with self._locked():
            self.refresh()
            if mode not in CLUSTER_MODES:
                raise ArgodasfError(f"cluster mode '{mode}' is unknown; use {' or '.join(CLUSTER_MODES)}")
            self.cluster = mode
            self._write(self.name, self.steps)

    def clear(self) -> None:
        self._change(lambda steps: steps.clear())

    def step(self, name: str) -> Step:
        if name not in self.steps:
            raise ArgodasfError(self._unknown(name))
        return self.steps[name]

    def _unknown(self, name: str, steps=None) -> str:
        names = list(steps if steps is not None else self.steps)
        suggestion = closest(name, names)
        hint = f"did you mean '{suggestion}'?" if suggestion else f"steps: {', '.join(names) or 'none yet'}"
        return f"no step '{name}' in the workflow draft '{self.name}'; {hint}"

    # -- the graph -------------------------------------------------------------------------
    @staticmethod
    def _dependencies(steps: dict[str, Step]) -> dict[str, list[str]]:
        graph = {}
        for step in steps.values():
            upstream = list(step.after)
            for other in steps.values():
                if (
                    other.name != step.name
                    and other.name not in upstream
                    and any(_feeds(output, input_) for output in other.outputs for input_ in step.inputs)
                ):
                    upstream.append(other.name)
            graph[step.name] = upstream
        return graph

    def _check(self, steps: dict[str, Step]) -> list[str]:
        graph = self._dependencies(steps)
        for name, upstream in graph.items():
            for dependency in upstream:
                if dependency == name:
                    raise ArgodasfError(f"step '{name}' cannot run after itself; remove it from --after")
                if dependency not in steps:
                    raise ArgodasfError(
                        f"step '{name}' runs after '{dependency}', which is not in the draft: "
                        + self._unknown(dependency, steps).split("; ", 1)[1]
                    )
        try:
            return list(graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError as error:
            cycle = " -> ".join(reversed(error.args[1]))
            raise ArgodasfError(f"the steps form a cycle ({cycle}); change --after or --inputs/--outputs") from None

    def dependencies(self) -> dict[str, list[str]]:
        """For every step, the steps it waits for (--after, then inputs/outputs)."""
        return self._dependencies(self.steps)

    def edges(self) -> list[tuple[str, str]]:
        return [(upstream, name) for name, ups in self.dependencies().items() for upstream in ups]

    def order(self) -> list[Step]:
        """The steps in an order that respects every edge."""
        if not self.steps:
            raise ArgodasfError(
                f"the workflow draft '{self.name}' has no steps yet; promote a cell with %%dasf_workflow NAME"
            )
        return [self.steps[name] for name in self._check(self.steps)]

    def summary(self) -> dict:
        """What the JupyterLab sidebar shows (registry format)."""
        graph = self.dependencies()
        return {
            "name": self.name,
            "path": self.path,
            "steps": [
                {"name": step.name, "kind": step.kind, "after": graph[step.name]} for step in self.steps.values()
            ],
        }
