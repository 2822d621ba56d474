"""ipywidgets views of workflow steps, drafts, local runs and submitted workflows.

Each view also carries text/plain and text/html, so a front end without widgets
(nbval, a terminal) still shows what happened.
"""

from __future__ import annotations

import html
import re
import threading
import time
from typing import Callable, Optional

import ipywidgets as w
import yaml

from .widgets import _WithTextFallback

FINAL_PHASES = ("Succeeded", "Failed", "Error")
PHASE_COLOURS = {"Succeeded": "#2e7d32", "Failed": "#c62828", "Error": "#c62828", "Running": "#1565c0",
                 "Skipped": "#757575", "Omitted": "#757575", "Pending": "#757575"}
_LONG_BASE64 = re.compile(r"[A-Za-z0-9+/=]{200,}")


def readable_yaml(data) -> str:
    """YAML with the encoded step script abbreviated (the export has it in full)."""
    text = yaml.safe_dump(data, sort_keys=False, width=120)
    return _LONG_BASE64.sub(lambda match: f"<{len(match.group())} characters of the encoded step script>", text)


def _table(header: tuple, rows: list[tuple]) -> str:
    head = "".join(f"<th style='text-align:left'>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table class='argodasf-workflow'><tr>{head}</tr>{body}</table>"


def _phase(phase: str) -> str:
    colour = PHASE_COLOURS.get(phase, "#000")
    return f"<b style='color:{colour}'>{html.escape(phase)}</b>"


def _collapsible(title: str, text: str) -> w.Accordion:
    accordion = w.Accordion(children=[w.HTML(f"<pre>{html.escape(text)}</pre>")], selected_index=None)
    accordion.set_title(0, title)
    return accordion


class StepView(_WithTextFallback, w.VBox):
    """A promoted step: parameters, inputs/outputs, dependencies, cluster shape, YAML."""

    def __init__(self, step, dependencies: list[str], template_yaml: str, action: str = "promoted"):
        self.step = step
        self.action = action
        self.dependencies = dependencies
        self.template_yaml = template_yaml
        super().__init__([w.HTML(self.fallback_html()), _collapsible("YAML of the step", template_yaml)])

    def _facts(self) -> list[tuple[str, str]]:
        step = self.step
        facts = [("kind", "DASF step (DaskJob)" if step.kind == "dasf" else f"container step ({step.image})")]
        if step.parameters:
            facts.append(("parameters", ", ".join(f"{name}={value!r}" for name, value in step.parameters.items())))
        facts += [("inputs", ", ".join(step.inputs) or "-"), ("outputs", ", ".join(step.outputs) or "-"),
                  ("after", ", ".join(self.dependencies) or "-")]
        if step.kind == "dasf":
            facts.append(("cluster", ", ".join(f"{key}={value}" for key, value in step.cluster.items()) or "defaults"))
        facts.append(("retries / deadline", f"{step.retries} / {step.deadline}s"))
        return facts

    def fallback_text(self) -> str:
        lines = [f"step '{self.step.name}' {self.action}"]
        lines += [f"  {key}: {value}" for key, value in self._facts()]
        return "\n".join(lines)

    def fallback_html(self) -> str:
        rows = "".join(f"<tr><td><b>{html.escape(key)}</b></td><td>{html.escape(value)}</td></tr>"
                       for key, value in self._facts())
        return f"<p>step <b>{html.escape(self.step.name)}</b> {html.escape(self.action)}</p><table>{rows}</table>"


class DraftView(_WithTextFallback, w.VBox):
    """The draft's DAG and the workflow's YAML."""

    def __init__(self, draft, workflow_yaml: str):
        self.draft = draft
        super().__init__([w.HTML(self.fallback_html()), _collapsible("workflow YAML", workflow_yaml)])

    def _rows(self) -> list[tuple[str, str, str]]:
        dependencies = self.draft.dependencies()
        return [(step.name, step.kind, ", ".join(dependencies[step.name]) or "-") for step in self.draft.order()]

    def fallback_text(self) -> str:
        lines = [f"workflow draft '{self.draft.name}' ({self.draft.path})"]
        lines += [f"  {name} [{kind}] after: {after}" for name, kind, after in self._rows()]
        return "\n".join(lines)

    def fallback_html(self) -> str:
        rows = [tuple(html.escape(cell) for cell in row) for row in self._rows()]
        return (f"<p>workflow draft <b>{html.escape(self.draft.name)}</b></p>"
                + _table(("step", "kind", "after"), rows))


class RunView(_WithTextFallback, w.VBox):
    """Per-step phase, duration and log tail of a local run, updated as it goes."""

    def __init__(self, title: str):
        self.title = title
        self.runs: list = []
        self._html = w.HTML(self.fallback_html())
        super().__init__([self._html])

    def update(self, runs) -> None:
        self.runs = list(runs)
        self._html.value = self.fallback_html()

    def fallback_text(self) -> str:
        lines = [self.title]
        for run in self.runs:
            lines.append(f"  {run.name:<20} {run.phase:<10} {run.duration:6.1f}s  {run.message}")
            lines += [f"      | {line}" for line in run.tail().splitlines()]
        return "\n".join(lines)

    def fallback_html(self) -> str:
        rows = [(html.escape(run.name), _phase(run.phase), f"{run.duration:.1f}s", html.escape(run.message),
                 f"<pre style='margin:0'>{html.escape(run.tail())}</pre>") for run in self.runs]
        return f"<p>{html.escape(self.title)}</p>" + _table(("step", "phase", "duration", "message", "log tail"), rows)


class StatusView(_WithTextFallback, w.VBox):
    """A submitted workflow's phase and its steps' phases; ``follow`` keeps it
    updated from a background thread until the workflow ends."""

    def __init__(self, summary: Optional[dict] = None, name: str = ""):
        self.summary = summary or {"name": name, "phase": "Pending", "steps": []}
        self.error: Optional[str] = None
        self._html = w.HTML(self.fallback_html())
        self._thread: Optional[threading.Thread] = None
        super().__init__([self._html])

    def update(self, summary: dict) -> None:
        self.summary = summary
        self._html.value = self.fallback_html()

    @property
    def finished(self) -> bool:
        return self.summary.get("phase") in FINAL_PHASES or self.error is not None

    def follow(self, fetch: Callable[[], dict], interval: float = 2.0) -> "StatusView":
        def poll():
            while not self.finished:
                try:
                    self.update(fetch())
                except Exception as error:  # shown in the view; polling stops
                    self.error = str(error)
                    self._html.value = self.fallback_html()
                    return
                if not self.finished:
                    time.sleep(interval)

        self._thread = threading.Thread(target=poll, name="argodasf-status", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: Optional[float] = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def fallback_text(self) -> str:
        summary = self.summary
        lines = [f"workflow {summary.get('name')}: {summary.get('phase')}"
                 + (f"  {summary['ui_url']}" if summary.get("ui_url") else "")]
        lines += [f"  {step['name']:<20} {step['phase']}" for step in summary.get("steps", [])]
        if self.error:
            lines.append(f"  stopped following: {self.error}")
        return "\n".join(lines)

    def fallback_html(self) -> str:
        summary = self.summary
        link = summary.get("ui_url")
        title = html.escape(str(summary.get("name")))
        if link:
            title = f"<a href='{html.escape(link)}' target='_blank'>{title}</a>"
        rows = [(html.escape(step["name"]), _phase(step["phase"]), html.escape(step.get("message") or ""))
                for step in summary.get("steps", [])]
        error = f"<p style='color:#c62828'>stopped following: {html.escape(self.error)}</p>" if self.error else ""
        return (f"<p>workflow {title}: {_phase(str(summary.get('phase')))}</p>"
                + _table(("step", "phase", "message"), rows) + error)
