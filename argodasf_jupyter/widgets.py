"""ipywidgets views of clusters: the live cluster widget and the create form.

Views only: every button calls a Session or ManagedCluster method, and a refused
action shows its one-line error in the widget.
"""

from __future__ import annotations

import html
import importlib.util
import logging

import ipywidgets as w
from dask.utils import format_bytes

from .errors import ArgodasfError
from .session import ManagedCluster, Session
from .cluster_keys import DEFAULT_WORKERS
from .limits import MAX_WORKERS
from .spec import BACKENDS, MAX_THREADS, Adapt, ClusterSpec, to_cell

FORM_ADAPT = Adapt(minimum=1, maximum=4)  # the range the form offers when the defaults give none


def dasf_available() -> bool:
    return importlib.util.find_spec("dasf") is not None


# distributed's status names -> the sidebar's tones (labextension/src/status.ts)
STATUS_TONES = {
    "created": "pending",
    "starting": "pending",
    "running": "succeeded",
    "closing": "pending",
    "closed": "skipped",
    "failed": "failed",
}


class _RetirementRace(logging.Filter):
    """Drops the scheduler's warning about a heartbeat that races a retiring worker.

    When adapt scales down, a worker that is being retired can send one last
    heartbeat after the scheduler forgot it; distributed logs that as a WARNING,
    which lands in the notebook as a stderr block although nothing is wrong.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "Received heartbeat from unregistered worker" not in record.getMessage()


def _quiet_retirement_race() -> None:
    scheduler_log = logging.getLogger("distributed.scheduler")
    if not any(isinstance(existing, _RetirementRace) for existing in scheduler_log.filters):
        scheduler_log.addFilter(_RetirementRace())


def target_text(managed: ManagedCluster) -> str:
    """What the cluster was asked for: a worker count, or the adaptive range."""
    adapt = managed.spec.adapt
    if adapt is not None:
        return f"adaptive {adapt.minimum}\u2013{adapt.maximum}"
    return str(managed.spec.initial_workers)


def cluster_text(managed: ManagedCluster) -> str:
    resources = managed.resources
    return (
        f"Cluster '{managed.name}' [{managed.backend}] {managed.status}: {managed.workers} workers "
        f"(asked: {target_text(managed)}), {resources['threads']} threads, "
        f"{format_bytes(resources['memory'])}; {managed.ownership}; dashboard {managed.dashboard_link or '-'}"
    )


def _fact(label: str, value: str) -> str:
    return f"<div class='argodasf-fact'><dt>{html.escape(label)}</dt><dd>{value}</dd></div>"


def cluster_html(managed: ManagedCluster, action: str = "") -> str:
    """A compact card: status dot and phase, name, workers n/m, threads, memory, dashboard link."""
    link = managed.dashboard_link
    dashboard = (
        f"<a class='argodasf-link' href='{html.escape(link)}' target='_blank' rel='noopener'>{html.escape(link)}</a>"
        if link
        else "-"
    )
    resources = managed.resources
    tone = STATUS_TONES.get(managed.status, "unknown")
    dasf = "DASF available" if dasf_available() else "DASF not installed (plain Dask works)"
    happened = f" \u00b7 {html.escape(action)}" if action else ""
    return (
        f"<div class='argodasf-card' data-status='{html.escape(managed.status)}'>"
        f"<div class='argodasf-card-title'><span class='argodasf-dot argodasf-tone-{tone}'></span>"
        f"<span class='argodasf-phase'>{html.escape(managed.status)}</span>"
        f"<b class='argodasf-card-name'>{html.escape(managed.name)}</b>"
        f"<span class='argodasf-muted'>{html.escape(managed.backend)}{happened}</span></div>"
        "<dl class='argodasf-facts'>"
        + _fact(
            "Workers",
            f"<span class='argodasf-workers'>{managed.workers}</span>/"
            f"<span class='argodasf-target'>{html.escape(target_text(managed))}</span>",
        )
        + _fact("Threads", str(resources["threads"]))
        + _fact("Memory", html.escape(format_bytes(resources["memory"])))
        + _fact("Dashboard", dashboard)
        + "</dl>"
        f"<div class='argodasf-muted'>{html.escape(managed.ownership)} \u00b7 {dasf}</div></div>"
    )


def _error_html(error: Exception) -> str:
    return f"<span class='argodasf-message-error'>{html.escape(str(error))}</span>"


def _done_html(text: str) -> str:
    return f"<span class='argodasf-message-done'>{html.escape(text)}</span>"


class Phase:
    """A startup phase line, shown while a cluster starts."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self):
        return self.text

    def _repr_html_(self):
        return f"<i>{html.escape(self.text)}</i>"


class _WithTextFallback:
    """Widgets that also carry text/plain and text/html for front ends without widgets."""

    def fallback_text(self) -> str:
        raise NotImplementedError

    def fallback_html(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = self.fallback_text()
        bundle["text/html"] = self.fallback_html()
        return bundle


def _number(value: int, description: str, minimum: int, width: str = "8.5em") -> w.BoundedIntText:
    return w.BoundedIntText(
        value=value,
        min=minimum,
        max=MAX_WORKERS,
        description=description,
        style={"description_width": "initial"},
        layout=w.Layout(width=width, flex="0 0 auto"),
    )


def _button(description: str, icon: str, tooltip: str) -> w.Button:
    # width auto + no shrinking: at a narrow notebook the row wraps instead of cutting the labels
    return w.Button(description=description, icon=icon, tooltip=tooltip, layout=w.Layout(width="auto", flex="0 0 auto"))


class ClusterWidget(_WithTextFallback, w.VBox):
    """The cluster as a card (status, workers n/m, threads, memory, dashboard) with
    Scale, Adapt and Close controls that wrap at narrow widths."""

    def __init__(self, session: Session, managed: ManagedCluster, action: str = "created"):
        self.session = session
        self.managed = managed
        self.action = action
        self.header = w.HTML()
        self.message = w.HTML()
        adapt = managed.spec.adapt
        self._requested = None if adapt else managed.spec.initial_workers
        self.workers_input = _number(managed.workers if adapt else managed.spec.initial_workers, "Workers", 0)
        self.scale_button = _button("Scale", "arrows-v", "Ask for exactly this many workers")
        self.adapt_minimum = _number(adapt.minimum if adapt else 1, "Adapt from", 0, width="9.5em")
        self.adapt_maximum = _number(adapt.maximum if adapt else 4, "to", 1, width="6.5em")
        self.adapt_button = _button("Adapt", "sliders", "Let Dask scale between these two counts")
        self.close_button = _button("Close", "power-off", "Shut this cluster down")
        self.scale_button.on_click(
            lambda _: self._act(
                lambda: session.scale(managed.name, self.workers_input.value),
                lambda: f"Scaling to {self.workers_input.value} workers",
            )
        )
        self.adapt_button.on_click(
            lambda _: self._act(
                lambda: session.adapt(managed.name, self.adapt_minimum.value, self.adapt_maximum.value),
                lambda: f"Adaptive between {self.adapt_minimum.value} and {self.adapt_maximum.value} workers",
            )
        )
        self.close_button.on_click(lambda _: self._act(lambda: session.close(managed.name), lambda: "Closed"))
        controls = w.HBox(
            [
                self.workers_input,
                self.scale_button,
                self.adapt_minimum,
                self.adapt_maximum,
                self.adapt_button,
                self.close_button,
            ],
            layout=w.Layout(flex_flow="row wrap", align_items="center", grid_gap="4px 8px"),
        )
        controls.add_class("argodasf-controls")
        super().__init__([self.header, controls, self.message])
        self.add_class("argodasf-cluster")
        if managed.backend == "local":
            _quiet_retirement_race()
        managed.listeners.append(self.refresh)
        self.refresh(managed)

    def _act(self, action, done) -> None:
        try:
            action()
            self.message.value = _done_html(done())
        except ArgodasfError as error:
            self.message.value = _error_html(error)
        self.refresh(self.managed)

    def refresh(self, managed: ManagedCluster) -> None:
        self.header.value = cluster_html(managed, self.action)
        if managed.spec.adapt is not None:
            self.workers_input.value = min(managed.workers, MAX_WORKERS)  # what adapt chose, not a stale ask
        elif managed.spec.initial_workers != self._requested:  # scaled elsewhere (a cell, the sidebar)
            self.workers_input.value = managed.spec.initial_workers
        self._requested = None if managed.spec.adapt else managed.spec.initial_workers
        closed = managed.status in ("closed", "closing")
        for control in (
            self.scale_button,
            self.adapt_button,
            self.close_button,
            self.workers_input,
            self.adapt_minimum,
            self.adapt_maximum,
        ):
            control.disabled = closed or not managed.owned
        # a disabled Close is not a danger any more
        self.close_button.button_style = "" if self.close_button.disabled else "danger"

    def fallback_text(self) -> str:
        return f"{cluster_text(self.managed)} ({self.action})"

    def fallback_html(self) -> str:
        return cluster_html(self.managed, self.action)


class ClusterForm(_WithTextFallback, w.VBox):
    """A form that creates a cluster exactly as the %%dasf_cluster magic would."""

    def __init__(self, session: Session, defaults: ClusterSpec, on_created=None):
        self.session = session
        self.on_created = on_created
        style = {"description_width": "9em"}
        self.name = w.Text(value=defaults.name, description="Name", style=style)
        self.backend = w.Dropdown(options=BACKENDS, value=defaults.backend, description="Backend", style=style)
        self.workers = w.BoundedIntText(
            value=defaults.workers if defaults.workers is not None else DEFAULT_WORKERS,
            min=0,
            max=MAX_WORKERS,
            description="Workers",
            style=style,
        )
        self.use_adapt = w.Checkbox(
            value=defaults.adapt is not None,
            description="Adaptive (Dask picks the worker count)",
            style={"description_width": "initial"},
        )
        adapt = defaults.adapt or FORM_ADAPT
        self.adapt_range = w.IntRangeSlider(
            value=(adapt.minimum, adapt.maximum), min=0, max=MAX_WORKERS, description="Workers from/to", style=style
        )
        self.threads = w.BoundedIntText(
            value=defaults.threads_per_worker, min=1, max=MAX_THREADS, description="Threads / worker", style=style
        )
        self.memory = w.Text(
            value=defaults.memory_limit,
            description="Memory / worker",
            placeholder="e.g. 4GiB, 512MiB or auto",
            style=style,
        )
        self.image = w.Text(
            value=defaults.image or "", placeholder="default dask image", description="Image", style=style
        )
        self.gpu = w.Checkbox(
            value=bool(defaults.gpu), description="GPU workers (dask-cuda)", style={"description_width": "initial"}
        )
        self.create_button = w.Button(
            description="Create",
            button_style="primary",
            icon="play",
            layout=w.Layout(width="auto", align_self="flex-start"),
        )
        self.message = w.HTML()
        self.create_button.on_click(lambda _: self.create())
        self.use_adapt.observe(lambda _: self._follow_choices(), "value")
        self.backend.observe(lambda _: self._follow_choices(), "value")
        super().__init__(
            [
                self.name,
                self.backend,
                self.use_adapt,
                self.workers,
                self.adapt_range,
                self.threads,
                self.memory,
                self.image,
                self.gpu,
                self.create_button,
                self.message,
            ]
        )
        self.add_class("argodasf-cluster-form")
        self._follow_choices()

    def _follow_choices(self) -> None:
        """Only the fields that the current choices use are shown and editable."""
        adaptive = self.use_adapt.value
        self.workers.disabled, self.adapt_range.disabled = adaptive, not adaptive
        self.workers.layout.display = "none" if adaptive else None
        self.adapt_range.layout.display = None if adaptive else "none"
        local = self.backend.value == "local"
        self.image.layout.display = "none" if local else None
        self.gpu.layout.display = "none" if local and not _dask_cuda_available() else None

    def values(self) -> dict:
        values = {
            "name": self.name.value.strip(),
            "backend": self.backend.value,
            "threads_per_worker": self.threads.value,
            "memory_limit": self.memory.value.strip(),
            "gpu": self.gpu.value,
        }
        if self.use_adapt.value:
            values["adapt"] = {"minimum": self.adapt_range.value[0], "maximum": self.adapt_range.value[1]}
        else:
            values["workers"] = self.workers.value
        if self.image.value.strip() and self.backend.value != "local":
            values["image"] = self.image.value.strip()
        return values

    def create(self):
        """Validate and create; on success the form becomes the cluster widget."""
        self.create_button.disabled = True
        self.message.value = "creating..."
        try:
            managed, action = self.session.create_from(self.values(), progress=self._progress)
        except ArgodasfError as error:
            self.message.value = _error_html(error)
            self.create_button.disabled = False
            return None
        if self.on_created is not None:
            self.on_created(managed)
        cell = w.Textarea(
            value=to_cell(managed.spec),
            description="As a cell",
            disabled=False,
            layout=w.Layout(width="100%", height="8em"),
        )
        self.children = [ClusterWidget(self.session, managed, action), cell]
        return managed

    def _progress(self, phase: str) -> None:
        self.message.value = html.escape(phase)

    def fallback_text(self) -> str:
        return "Cluster form (needs a front end with ipywidgets); use %%dasf_cluster in a cell instead."

    def fallback_html(self) -> str:
        return f"<p>{html.escape(self.fallback_text())}</p>"


def _dask_cuda_available() -> bool:
    return importlib.util.find_spec("dask_cuda") is not None


class ClusterTable:
    """%dasf_clusters: one row per cluster, as text or HTML."""

    columns = ("name", "backend", "status", "workers", "owned", "keep", "dashboard_link")

    def __init__(self, clusters: list[ManagedCluster]):
        self.rows = [managed.summary() for managed in clusters]

    def __repr__(self):
        if not self.rows:
            return "no clusters in this kernel"
        return "\n".join("  ".join(f"{column}={row[column]}" for column in self.columns) for row in self.rows)

    def _repr_html_(self):
        if not self.rows:
            return "<p>no clusters in this kernel</p>"
        head = "".join(f"<th>{column}</th>" for column in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(row[column]))}</td>" for column in self.columns) + "</tr>"
            for row in self.rows
        )
        return f"<table class='argodasf-clusters'><tr>{head}</tr>{body}</table>"


class CheckList:
    """%dasf_doctor's checklist, as text or HTML."""

    def __init__(self, checks):
        self.checks = checks

    def __repr__(self):
        from .doctor import render_text

        return render_text(self.checks)

    def _repr_html_(self):
        from .doctor import render_html

        return render_html(self.checks)
