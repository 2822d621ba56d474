"""A cell becomes a step only once it has worked in full.

Its outside values are taken before it runs (``x = x + 1`` must record the old x);
it runs on the session's current cluster, as that cluster's client; and it is
refused when it failed, or when the cluster's DASF executor recorded a new task
error (a cell that catches PipelineFailed would make a job that fails).
"""

from __future__ import annotations

import copy
import os
import traceback
from contextlib import nullcontext
from typing import Any, Callable, Mapping, Optional

from . import cell_names, promote, step_script
from .errors import ArgodasfError
from .config import Settings
from .spec import ClusterSpec


def exec_in(namespace: dict) -> Callable[[str], bool]:
    """A ``run`` for plain Python: exec the cell in ``namespace``. A failure prints
    its traceback to stderr, as a kernel shows it, and returns False."""

    def run(code: str) -> bool:
        try:
            exec(compile(code, "<cell>", "exec"), namespace)
        except Exception:
            traceback.print_exc()
            return False
        return True

    return run


def values_before(cell: cell_names.ParsedCell, values: Mapping[str, Any]) -> dict[str, Any]:
    """The cell's outside names as they are now; literals are copied, since the cell may change them."""
    return {
        name: copy.deepcopy(values[name]) if cell_names.is_literal(values[name]) else values[name]
        for name in cell.free
        if name in values
    }


def run_checked(name: str, cell: str, run: Callable[[str], bool], managed) -> None:
    """Run the cell on ``managed`` (a ManagedCluster, or None); one line when it did not work."""
    known = list(managed.executor.errors) if managed is not None else []
    with managed.client.as_current() if managed is not None else nullcontext():
        succeeded = run(cell)
    if not succeeded:
        # the cell's own traceback is shown already; this marks the promotion failed, in one line
        raise ArgodasfError(f"step '{name}' not promoted: the cell failed")
    new = [error for error in managed.executor.errors if error not in known] if managed is not None else []
    if new:
        first = new[0]
        raise ArgodasfError(
            f"step '{name}' not promoted: DASF task '{first.task}' failed in the cell "
            f"({type(first.error).__name__}: {first.error}); its job would fail"
        )


def promote_cell(
    name: str,
    cell: str,
    *,
    run: Callable[[str], bool],
    values: Mapping[str, Any],
    where: Optional[Callable[[str], Optional[str]]],
    managed,
    cluster: Optional[ClusterSpec],
    conf: Settings,
    container: Optional[str] = None,
    local_command: Optional[str] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    replay: bool = False,
    **options,
) -> promote.Step:
    """The Step of a cell that worked; ``options`` are make_step's after, inputs, outputs, retries, timeout.
    A container step's body is a shell script: it is not run here."""
    if container is not None:
        return promote.make_step(
            name, cell, container=container, local_command=local_command, cluster=cluster, conf=conf, **options
        )
    promote.check_step_name(name)
    promote.check_size(cell, conf)
    if replay and managed is None:
        raise ArgodasfError("--replay needs a cluster to connect to; create one with %%dasf_cluster first")
    parsed = cell_names.parse(cell)
    before = values_before(parsed, values)
    run_checked(name, cell, run, managed)
    step = promote.make_step(
        name, parsed, values=before, where=where, cluster=cluster, overrides=overrides, conf=conf, **options
    )
    if replay:
        step_script.replay(step, managed.client.scheduler.address, cwd=os.getcwd())
    return step
