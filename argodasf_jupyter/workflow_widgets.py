"""ipywidgets views of workflow steps, drafts, local runs and submitted workflows.

Each view also carries text/plain and text/html, so a front end without widgets
(nbval, a terminal) still shows what happened.
"""

from __future__ import annotations

import html
import re
import threading
from datetime import datetime, timezone
from typing import Optional

import ipywidgets as w
import yaml

from . import step_report
from .widgets import _WithTextFallback

FINAL_PHASES = ("Succeeded", "Failed", "Error")
# Argo phases -> the labextension's tones (theme colours; labextension/src/status.ts)
PHASE_TONES = {
    "Succeeded": "succeeded",
    "Failed": "failed",
    "Error": "failed",
    "Running": "running",
    "Skipped": "skipped",
    "Omitted": "skipped",
    "Pending": "pending",
}
_LONG_BASE64 = re.compile(r"[A-Za-z0-9+/=]{200,}")


def readable_yaml(data) -> str:
    """YAML with the encoded step script abbreviated (the export has it in full)."""
    text = yaml.safe_dump(data, sort_keys=False, width=120)
    return _LONG_BASE64.sub(lambda match: f"<{len(match.group())} characters of the encoded step script>", text)


def _table(header: tuple, rows: list[tuple]) -> str:
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table class='argodasf-workflow'><tr>{head}</tr>{body}</table>"


def _phase(phase: str) -> str:
    """The phase in the theme's text colour after a dot in the phase's tone."""
    tone = PHASE_TONES.get(phase, "unknown")
    return f"<span class='argodasf-phase-text argodasf-tone-{tone}' data-phase='{html.escape(phase)}'>{html.escape(phase)}</span>"


def _seconds(started: Optional[str], finished: Optional[str]) -> Optional[float]:
    """Seconds between two ISO times, or until now while still running."""
    if not started:
        return None
    try:
        start = datetime.fromisoformat(started.replace("Z", "+00:00"))
        end = datetime.fromisoformat(finished.replace("Z", "+00:00")) if finished else datetime.now(timezone.utc)
    except ValueError:
        return None
    return max(0.0, (end - start).total_seconds())


def _duration(started: Optional[str], finished: Optional[str]) -> str:
    seconds = _seconds(started, finished)
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f}s"
    return f"{int(seconds // 60)}m {int(seconds % 60):02d}s"


def _collapsible(title: str, text: str) -> w.Accordion:
    accordion = w.Accordion(children=[w.HTML(f"<pre>{html.escape(text)}</pre>")], selected_index=None)
    accordion.set_title(0, title)
    return accordion


def _dashboard_hint(workflow: str, step: dict) -> str | None:
    """How to open the live dashboard of a DASF step while it runs."""
    if step.get("kind") == "dasf" and step.get("phase") == "Running":
        return f"live dashboard: %dasf_workflow dashboard {workflow} {step['name']}"
    return None


def _step_message(workflow: str, step: dict) -> str:
    """A submitted step's message, where its performance report is, and while it runs
    how to open its live dashboard."""
    parts = [html.escape(step["message"])] if step.get("message") else []
    if step.get("report"):
        parts.append(f"Dask performance report: {html.escape(step_report.describe(step['report']))}")
    if hint := _dashboard_hint(workflow, step):
        parts.append(html.escape(hint))
    return "<br>".join(parts)


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
        facts += [
            ("inputs", ", ".join(step.inputs) or "-"),
            ("outputs", ", ".join(step.outputs) or "-"),
            ("after", ", ".join(self.dependencies) or "-"),
        ]
        if step.kind == "dasf":
            facts.append(
                (
                    "cluster",
                    ", ".join(
                        f"{key}={value}" for key, value in step.model_dump(include={"cluster"})["cluster"].items()
                    )
                    or "defaults",
                )
            )
        facts.append(("retries / deadline", f"{step.retries} / {step.deadline}s"))
        return facts

    def fallback_text(self) -> str:
        lines = [f"step '{self.step.name}' {self.action}"]
        lines += [f"  {key}: {value}" for key, value in self._facts()]
        return "\n".join(lines)

    def fallback_html(self) -> str:
        rows = "".join(
            f"<tr><td><b>{html.escape(key)}</b></td><td>{html.escape(value)}</td></tr>" for key, value in self._facts()
        )
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
        return f"<p>workflow draft <b>{html.escape(self.draft.name)}</b></p>" + _table(("step", "kind", "after"), rows)


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
            if run.report:
                lines.append(f"      Dask performance report: {run.report}")
            lines += [f"      | {line}" for line in run.tail().splitlines()]
        return "\n".join(lines)

    def fallback_html(self) -> str:
        rows = [
            (
                html.escape(run.name),
                _phase(run.phase),
                f"{run.duration:.1f}s",
                html.escape(run.message)
                + (f"<br>Dask performance report: {html.escape(run.report)}" if run.report else ""),
                f"<pre style='margin:0'>{html.escape(run.tail())}</pre>",
            )
            for run in self.runs
        ]
        return f"<p>{html.escape(self.title)}</p>" + _table(("step", "phase", "duration", "message", "log tail"), rows)


class StatusView(_WithTextFallback, w.VBox):
    """A submitted workflow's phase, duration and message, and each step's; ``follow``
    keeps it updated from a background thread until the workflow ends. Until Argo
    reports its steps, the view lists the ``expected`` ones (the draft's) as Pending."""

    def __init__(self, summary: Optional[dict] = None, name: str = "", expected: Optional[list[str]] = None):
        self.summary = summary or {"name": name, "phase": "Pending", "steps": []}
        self.expected = list(expected or [])
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

    def follow(self, interval: float = 1.0) -> "StatusView":
        """Update from argo.watch (failed steps with their runner's traceback) in a background thread."""
        from . import argo

        def poll():
            try:
                argo.watch(self.summary["name"], self.update, interval=interval, failure_details=True)
            except Exception as error:  # shown in the view; polling stops
                self.error = str(error)
                self._html.value = self.fallback_html()

        self._thread = threading.Thread(target=poll, name="argodasf-status", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: Optional[float] = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def steps(self) -> list[dict]:
        """Argo's steps, then the expected ones Argo has not started yet."""
        reported = list(self.summary.get("steps", []))
        known = {step["name"] for step in reported}
        return reported + [
            {"name": name, "phase": "Pending", "started_at": None, "finished_at": None, "message": None}
            for name in self.expected
            if name not in known
        ]

    def fallback_text(self) -> str:
        summary = self.summary
        took = _duration(summary.get("started_at"), summary.get("finished_at"))
        lines = [
            f"workflow {summary.get('name')}: {summary.get('phase')} ({took})"
            + (f"  {summary['ui_url']}" if summary.get("ui_url") else "")
        ]
        if summary.get("message"):
            lines.append(f"  {summary['message']}")
        for step in self.steps():
            lines.append(
                f"  {step['name']:<20} {step['phase']:<10} {_duration(step.get('started_at'), step.get('finished_at')):>7}"
                + (f"  {step['message']}" if step.get("message") else "")
            )
            if step.get("report"):
                lines.append(f"      Dask performance report: {step_report.describe(step['report'])}")
            if hint := _dashboard_hint(str(summary.get("name")), step):
                lines.append(f"      {hint}")
        if not self.steps():
            lines.append("  waiting for Argo to start the steps")
        if self.error:
            lines.append(f"  stopped following: {self.error}")
        return "\n".join(lines)

    def fallback_html(self) -> str:
        summary = self.summary
        link = summary.get("ui_url")
        title = html.escape(str(summary.get("name")))
        if link:
            title = f"<a class='argodasf-link' href='{html.escape(link)}' target='_blank' rel='noopener'>{title}</a>"
        took = _duration(summary.get("started_at"), summary.get("finished_at"))
        head = f"<p>workflow {title}: {_phase(str(summary.get('phase')))} \u00b7 {took}"
        if summary.get("progress"):
            head += f" \u00b7 {html.escape(str(summary['progress']))} steps"
        head += "</p>"
        if summary.get("message"):
            head += f"<p class='argodasf-muted'>{html.escape(str(summary['message']))}</p>"
        steps = self.steps()
        if steps:
            rows = [
                (
                    html.escape(step["name"]),
                    _phase(step["phase"]),
                    _duration(step.get("started_at"), step.get("finished_at")),
                    _step_message(str(summary.get("name")), step),
                )
                for step in steps
            ]
            has_messages = any(row[3] for row in rows)
            header = ("step", "phase", "duration") + (("message",) if has_messages else ())
            body = _table(header, [row if has_messages else row[:3] for row in rows])
        else:
            body = "<p class='argodasf-muted'>waiting for Argo to start the steps\u2026</p>"
        error = (
            f"<p class='argodasf-message-error'>stopped following: {html.escape(self.error)}</p>" if self.error else ""
        )
        return head + body + error
