"""The workflow draft: the notebook's promoted steps and the edges between them.

A draft is a JSON file kept beside the notebook (or in argodasf.workflow.draft-dir),
rewritten atomically on every change so a kernel restart loses nothing. Edges come
from --after and from matching one step's --inputs with another's --outputs.
"""

from __future__ import annotations

import graphlib
import json
import os
import re
import tempfile
from typing import Optional

from pydantic import ValidationError

from .config import settings
from .errors import ArgodasfError, closest
from .promote import Step

VERSION = 1
SUFFIX = ".dasf-workflow.json"
# the workflow's generateName prefix; Kubernetes adds 5 characters (see workflow.job_name)
MAX_DRAFT_NAME = 20


def draft_name(stem: str) -> str:
    """A valid workflow name prefix from a notebook name: 'My Notebook' -> 'my-notebook'."""
    name = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:MAX_DRAFT_NAME].strip("-")
    if not name or not name[0].isalpha():
        name = f"wf-{name}"[:MAX_DRAFT_NAME].strip("-")
    return name


def draft_path(notebook: Optional[str] = None) -> str:
    """Where the draft of ``notebook`` lives (cwd and 'workflow' when unknown)."""
    stem = os.path.splitext(os.path.basename(notebook))[0] if notebook else "workflow"
    directory = settings().workflow.draft_dir or (os.path.dirname(os.path.abspath(notebook)) if notebook else os.getcwd())
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
        self.name = name
        self.path = path
        self.steps: dict[str, Step] = {step.name: step for step in steps or []}

    # -- persistence -------------------------------------------------------------------
    @classmethod
    def load(cls, path: str, name: Optional[str] = None) -> "Draft":
        """The draft at ``path``, or an empty one when there is none yet."""
        default_name = name or draft_name(os.path.basename(path).removesuffix(SUFFIX))
        if not os.path.exists(path):
            return cls(default_name, path)
        try:
            with open(path, encoding="utf-8") as stream:
                data = json.load(stream)
            steps = [Step.model_validate(item) for item in data.get("steps", [])]
        except (OSError, ValueError, ValidationError) as error:
            first = str(error).splitlines()[0]
            raise ArgodasfError(f"the workflow draft {path} cannot be read ({first}); fix or delete it") from None
        return cls(data.get("name") or default_name, path, steps)

    def save(self) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        record = {"version": VERSION, "name": self.name, "steps": [step.model_dump() for step in self.steps.values()]}
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".draft-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(record, stream, indent=1, ensure_ascii=False)
            os.replace(temporary, self.path)
        except BaseException:
            os.unlink(temporary)
            raise

    # -- changes -------------------------------------------------------------------------
    def add(self, step: Step) -> None:
        """Add or replace a step; the draft must stay a valid DAG."""
        candidate = dict(self.steps)
        candidate[step.name] = step
        self._check(candidate)
        self.steps = candidate
        self.save()

    def remove(self, name: str) -> None:
        self.step(name)
        del self.steps[name]
        self.save()

    def clear(self) -> None:
        self.steps = {}
        self.save()

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
                if other.name != step.name and other.name not in upstream and any(
                    _feeds(output, input_) for output in other.outputs for input_ in step.inputs
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
                    raise ArgodasfError(f"step '{name}' runs after '{dependency}', which is not in the draft: "
                                        + self._unknown(dependency, steps).split("; ", 1)[1])
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
            raise ArgodasfError(f"the workflow draft '{self.name}' has no steps yet; promote a cell with %%dasf_workflow NAME")
        return [self.steps[name] for name in self._check(self.steps)]

    def summary(self) -> dict:
        """What the JupyterLab sidebar shows (registry format)."""
        graph = self.dependencies()
        return {"name": self.name, "path": self.path,
                "steps": [{"name": step.name, "kind": step.kind, "after": graph[step.name]} for step in self.steps.values()]}
