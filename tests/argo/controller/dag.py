"""DAG semantics: when a task may start (`dependencies`, or a `depends` expression),
and the DAG's phase once its tasks are done. With `dependencies`, a task runs when
each one Succeeded, was Skipped or is Daemoned; `depends` names the result
(`A.Succeeded`, `A.Failed`, `A.Errored`, `A.Skipped`, `A.Omitted`, `A.Daemoned`,
`A.AnySucceeded`, `A.AllFailed`) and a bare `A` means as with `dependencies`."""

from __future__ import annotations

import re

from .nodes import FULFILLED

_OPERAND = re.compile(
    r"(?<![\w.-])([A-Za-z0-9][\w-]*)(\.(Succeeded|Failed|Errored|Skipped|Omitted|Daemoned|"
    r"AnySucceeded|AllFailed))?(?![\w.-])"
)
_RESULT_PHASES = {
    "Succeeded": ("Succeeded",),
    "Failed": ("Failed",),
    "Errored": ("Error",),
    "Skipped": ("Skipped",),
    "Omitted": ("Omitted",),
    "Daemoned": (),
    "AnySucceeded": ("Succeeded",),
    "AllFailed": ("Failed",),
}


def upstream(task: dict) -> list[str]:
    if task.get("depends"):
        return sorted({match.group(1) for match in _OPERAND.finditer(task["depends"])})
    return list(task.get("dependencies") or [])


def depends_expression(task: dict) -> str:
    """The task's condition as an expr expression over booleans named <task>__<Result>."""
    if task.get("depends"):
        text = task["depends"]
    else:
        text = " && ".join(task.get("dependencies") or []) or "true"

    def operand(match: re.Match) -> str:
        name, result = match.group(1), match.group(3)
        if name == "true":
            return name
        if result is None:
            return f"({_var(name, 'Succeeded')} || {_var(name, 'Skipped')} || {_var(name, 'Daemoned')})"
        return _var(name, result)

    return _OPERAND.sub(operand, text)


def _var(task: str, result: str) -> str:
    return f"{task.replace('-', '_')}__{result}"


def depends_values(tasks: list[str], phases: dict[str, str]) -> dict[str, bool]:
    values = {}
    for task in tasks:
        for result, wanted in _RESULT_PHASES.items():
            values[_var(task, result)] = phases.get(task) in wanted
    return values


def ordered(tasks: list[dict]) -> list[dict]:
    """Tasks in an order where each comes after those it depends on."""
    by_name = {task["name"]: task for task in tasks}
    done, result = set(), []

    def visit(name: str, seen: tuple = ()) -> None:
        if name in done:
            return
        if name in seen:
            raise ValueError(f"dependency cycle through task '{name}'")
        for parent in upstream(by_name[name]):
            if parent not in by_name:
                raise ValueError(f"task '{name}' depends on unknown task '{parent}'")
            visit(parent, seen + (name,))
        done.add(name)
        result.append(by_name[name])

    for task in tasks:
        visit(task["name"])
    return result


def phase(task_phases: list[str]) -> str:
    """The DAG's phase once every started task is fulfilled."""
    if "Error" in task_phases:
        return "Error"
    if "Failed" in task_phases:
        return "Failed"
    return "Succeeded"


def all_fulfilled(task_phases: list[str]) -> bool:
    return all(phase in FULFILLED for phase in task_phases)
