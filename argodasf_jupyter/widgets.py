"""ipywidgets views of clusters: the live cluster widget and the create form.

Views only: every button calls a Session or ManagedCluster method, and a refused
action shows its one-line error in the widget.
"""

from __future__ import annotations

import html
import importlib.util

import ipywidgets as w

from .errors import ArgodasfError
from .session import ManagedCluster, Session
from .spec import to_cell


def dasf_available() -> bool:
    return importlib.util.find_spec("dasf") is not None


def cluster_text(managed: ManagedCluster) -> str:
    return (f"Cluster '{managed.name}' [{managed.backend}] {managed.status}: {managed.workers} workers; "
            f"{managed.ownership}; dashboard {managed.dashboard_link or '-'}")


def cluster_html(managed: ManagedCluster) -> str:
    link = managed.dashboard_link
    dashboard = f'<a href="{html.escape(link)}" target="_blank">{html.escape(link)}</a>' if link else "-"
    return (f"<b>{html.escape(managed.name)}</b> · {managed.backend} · {managed.status} · "
            f"<span class='argodasf-workers'>{managed.workers}</span> workers · "
            f"{html.escape(managed.ownership)} · dashboard: {dashboard}")


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


class ClusterWidget(_WithTextFallback, w.VBox):
    """Name, backend, status, live worker count, scale/adapt/close, dashboard."""

    def __init__(self, session: Session, managed: ManagedCluster, action: str = "created"):
        self.session = session
        self.managed = managed
        self.action = action
        self.header = w.HTML()
        self.message = w.HTML()
        self.workers_input = w.BoundedIntText(value=managed.spec.initial_workers, min=0, max=1000,
                                              description="Workers", layout=w.Layout(width="170px"))
        self.scale_button = w.Button(description="Scale", icon="arrows-v")
        self.adapt_minimum = w.BoundedIntText(value=1, min=0, max=1000, description="Adapt", layout=w.Layout(width="150px"))
        self.adapt_maximum = w.BoundedIntText(value=4, min=1, max=1000, description="to", layout=w.Layout(width="120px"))
        self.adapt_button = w.Button(description="Adapt", icon="sliders")
        self.close_button = w.Button(description="Close", button_style="danger", icon="power-off")
        self.scale_button.on_click(lambda _: self._act(lambda: managed.scale(self.workers_input.value)))
        self.adapt_button.on_click(
            lambda _: self._act(lambda: managed.adapt(self.adapt_minimum.value, self.adapt_maximum.value)))
        self.close_button.on_click(lambda _: self._act(lambda: session.close(managed.name)))
        controls = w.HBox([self.workers_input, self.scale_button, self.adapt_minimum, self.adapt_maximum,
                           self.adapt_button, self.close_button])
        super().__init__([self.header, controls, self.message])
        self.add_class("argodasf-cluster")
        managed.listeners.append(self.refresh)
        self.refresh(managed)

    def _act(self, action) -> None:
        try:
            action()
            self.message.value = ""
        except ArgodasfError as error:
            self.message.value = f"<span style='color:var(--jp-error-color1,#c00)'>{html.escape(str(error))}</span>"
        self.refresh(self.managed)

    def refresh(self, managed: ManagedCluster) -> None:
        dasf = "DASF available" if dasf_available() else "DASF not installed (plain Dask works)"
        self.header.value = f"{cluster_html(managed)} · {dasf} <i>({self.action})</i>"
        closed = managed.status in ("closed", "closing")
        for control in (self.scale_button, self.adapt_button, self.close_button):
            control.disabled = closed or not managed.owned

    def fallback_text(self) -> str:
        return f"{cluster_text(self.managed)} ({self.action})"

    def fallback_html(self) -> str:
        return f"{cluster_html(self.managed)} <i>({self.action})</i>"


class ClusterForm(_WithTextFallback, w.VBox):
    """A form that creates a cluster exactly as the %%dasf_cluster magic would."""

    def __init__(self, session: Session, defaults: dict, on_created=None):
        self.session = session
        self.on_created = on_created
        self.name = w.Text(value=defaults.get("name", "dasf"), description="Name")
        self.backend = w.Dropdown(options=["auto", "local", "kubernetes"], value=defaults.get("backend", "auto"),
                                  description="Backend")
        self.workers = w.BoundedIntText(value=defaults.get("workers") or 2, min=0, max=1000, description="Workers")
        self.use_adapt = w.Checkbox(value=False, description="Adaptive")
        self.adapt_range = w.IntRangeSlider(value=(1, 4), min=0, max=64, description="Range")
        self.threads = w.BoundedIntText(value=defaults.get("threads_per_worker", 1), min=1, max=256, description="Threads")
        self.memory = w.Text(value=str(defaults.get("memory_limit", "auto")), description="Memory")
        self.image = w.Text(value=defaults.get("image") or "", placeholder="default dask image", description="Image")
        self.gpu = w.Checkbox(value=bool(defaults.get("gpu", False)), description="GPU")
        self.create_button = w.Button(description="Create", button_style="primary", icon="play")
        self.message = w.HTML()
        self.create_button.on_click(lambda _: self.create())
        super().__init__([self.name, self.backend, self.workers, self.use_adapt, self.adapt_range, self.threads,
                          self.memory, self.image, self.gpu, self.create_button, self.message])
        self.add_class("argodasf-cluster-form")

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
        if self.image.value.strip():
            values["image"] = self.image.value.strip()
        return values

    def create(self):
        """Validate and create; on success the form becomes the cluster widget."""
        self.create_button.disabled = True
        self.message.value = "creating..."
        try:
            managed, action = self.session.create_from(self.values(), progress=self._progress)
        except ArgodasfError as error:
            self.message.value = f"<span style='color:var(--jp-error-color1,#c00)'>{html.escape(str(error))}</span>"
            self.create_button.disabled = False
            return None
        if self.on_created is not None:
            self.on_created(managed)
        cell = w.Textarea(value=to_cell(managed.spec), description="As a cell", disabled=False,
                          layout=w.Layout(width="100%", height="8em"))
        self.children = [ClusterWidget(self.session, managed, action), cell]
        return managed

    def _progress(self, phase: str) -> None:
        self.message.value = html.escape(phase)

    def fallback_text(self) -> str:
        return "Cluster form (needs a front end with ipywidgets); use %%dasf_cluster in a cell instead."

    def fallback_html(self) -> str:
        return f"<p>{html.escape(self.fallback_text())}</p>"


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
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(row[column]))}</td>" for column in self.columns) + "</tr>"
                       for row in self.rows)
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
