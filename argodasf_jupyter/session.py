"""Per-kernel state the magics act on: the clusters this kernel holds, the draft.

Every capability of the magics and widgets is a method here, callable from plain
Python (``session.promote`` is ``%%dasf_workflow``). The session publishes what it
holds to the registry that the Jupyter server's sidebar reads, and closes what it
owns when the kernel exits.
"""

from __future__ import annotations

import atexit
import keyword
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from . import backends, kernel_exit, registry
from .errors import ArgodasfError
from .config import settings
from .spec import ClusterSpec, parse_spec

# Keys that a running cluster can change in place; any other change recreates it.
RESHAPE_KEYS = {"workers", "adapt", "keep", "connect"}
WATCH_INTERVAL = 1.0


@dataclass
class ManagedCluster:
    """A live cluster with its client and DASF executor."""

    spec: ClusterSpec
    backend: str
    cluster: object
    client: object
    executor: object
    owned: bool
    listeners: list = field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def status(self) -> str:
        status = getattr(self.cluster, "status", None)
        return getattr(status, "name", str(status))

    @property
    def workers(self) -> int:
        try:
            return len(self.cluster.scheduler_info.get("workers", {}))
        except Exception:  # a closed or unreachable cluster has no workers to count
            return 0

    @property
    def resources(self) -> dict:
        """Threads and memory limit summed over the live workers."""
        try:
            workers = self.cluster.scheduler_info.get("workers", {}).values()
        except Exception:
            workers = ()
        return {
            "threads": sum(worker.get("nthreads", 0) for worker in workers),
            "memory": sum(worker.get("memory_limit") or 0 for worker in workers),
        }

    @property
    def dashboard_link(self) -> Optional[str]:
        try:
            return self.cluster.dashboard_link
        except Exception:
            return None

    @property
    def ownership(self) -> str:
        if not self.owned:
            return "attached (not owned: closing leaves it running)"
        return "kept after the kernel exits" if self.spec.keep else "owned: closed with the kernel"

    def scale(self, n: int) -> None:
        self.spec = self.spec.with_changes(workers=n, adapt=None)
        self.cluster.scale(n)

    def adapt(self, minimum: int, maximum: int) -> None:
        self.spec = self.spec.with_changes(workers=None, adapt={"minimum": minimum, "maximum": maximum})
        self.cluster.adapt(minimum=minimum, maximum=maximum)

    def close(self) -> None:
        """Close the connection; shut the cluster down only when this kernel owns it."""
        try:
            self.client.close()
        finally:
            if self.owned and hasattr(self.cluster, "shutdown_on_close"):
                # an explicit close also ends a cluster created with keep: true
                self.cluster.shutdown_on_close = True
            self.cluster.close()

    def summary(self) -> dict:
        """What the registry and listings show; nothing secret."""
        return {
            "name": self.name,
            "backend": self.backend,
            "status": self.status,
            "workers": self.workers,
            "requested": None if self.spec.adapt else self.spec.initial_workers,
            **self.resources,
            "dashboard_link": self.dashboard_link,
            "owned": self.owned,
            "keep": self.spec.keep,
            "scheduler_address": getattr(self.cluster, "scheduler_address", None),
            "shape": self.spec.model_dump(mode="json", exclude_defaults=True),
        }


def _forget_closed_scheduler() -> None:
    """Let plain dask.compute run again once no client is left.

    Each Client sets dask's `scheduler` config and restores the previous value when
    it closes; clients closed out of creation order can leave it pointing at
    distributed with no client, and then every dask.compute in the kernel fails.
    """
    import dask
    from distributed.client import _get_global_client

    if _get_global_client() is None and dask.config.get("scheduler", None) == "dask.distributed":
        dask.config.config.pop("scheduler", None)


def _quiet(phase: str) -> None:
    pass


class Session:
    """The clusters and workflow state of one kernel."""

    def __init__(self, registry_dir: str | None = None):
        self.clusters: dict[str, ManagedCluster] = {}
        self.current: Optional[ManagedCluster] = None
        self.draft_summary: Optional[dict] = None
        self.submitted: list[dict] = []
        self.registry_dir = registry_dir
        self.notebook: Optional[str] = None
        self._draft_dir: Optional[str] = None
        self._draft = None
        self._lock = threading.RLock()
        self._watcher: Optional[threading.Thread] = None

    # -- clusters ----------------------------------------------------------------
    def create(self, spec: ClusterSpec, progress: Callable[[str], None] = _quiet) -> tuple[ManagedCluster, str]:
        """Create, reuse or reshape the cluster named by ``spec``.

        Returns the cluster and what happened: created, reused, reshaped, recreated
        or attached. Nothing is created when the spec is refused.
        """
        backend = backends.resolve(spec)
        module = backends.backend_module(backend)
        module.check(spec)
        with self._lock:
            existing = self.clusters.get(spec.name)
            if existing is not None and existing.status not in ("closed", "closing", "failed"):
                outcome = self._reuse(existing, spec, backend)
                if outcome:
                    self.current = existing
                    self.publish()
                    return existing, outcome
                self.close(spec.name)
                action = "recreated"
            else:
                action = "attached" if spec.connect else "created"
            managed = self._start(module, backend, spec, progress)
            self.clusters[spec.name] = managed
            self.current = managed
        self._ensure_watcher()
        self.publish()
        return managed, action

    def _reuse(self, existing: ManagedCluster, spec: ClusterSpec, backend: str) -> Optional[str]:
        if existing.backend != backend:
            return None
        before = existing.spec.model_dump(exclude=RESHAPE_KEYS)
        if before != spec.model_dump(exclude=RESHAPE_KEYS):
            return None
        if (existing.spec.workers, existing.spec.adapt) == (spec.workers, spec.adapt):
            existing.spec = spec
            return "reused"
        if spec.adapt is not None:
            existing.adapt(spec.adapt.minimum, spec.adapt.maximum)
        else:
            existing.scale(spec.initial_workers)
        existing.spec = spec
        return "reshaped"

    def _start(self, module, backend: str, spec: ClusterSpec, progress) -> ManagedCluster:
        from distributed import Client

        from .runtime import DaskExecutor

        cluster = module.attach(spec, progress) if spec.connect else module.start(spec, progress)
        try:
            client = Client(cluster)
            executor = DaskExecutor(client, gpu=bool(spec.gpu))
        except BaseException:
            if not spec.connect:
                cluster.close()
            raise
        return ManagedCluster(spec, backend, cluster, client, executor, owned=not spec.connect)

    def create_from(self, values: dict, progress: Callable[[str], None] = _quiet) -> tuple[ManagedCluster, str]:
        """Validate cell/flag/form values over the configured defaults, then create."""
        spec = parse_spec(values, base=settings().cluster)
        return self.create(spec, progress)

    def get(self, name: str) -> ManagedCluster:
        try:
            return self.clusters[name]
        except KeyError:
            known = ", ".join(sorted(self.clusters)) or "none"
            raise ArgodasfError(f"no cluster named '{name}' in this kernel (clusters: {known})") from None

    def close(self, name: str) -> None:
        with self._lock:
            managed = self.get(name)
            del self.clusters[name]
            if self.current is managed:
                self.current = next(reversed(self.clusters.values()), None)
        try:
            managed.close()
        finally:
            _forget_closed_scheduler()
            self.notify(managed)
            self.publish()

    def scale(self, name: str, n: int) -> ManagedCluster:
        """Scale a cluster of this kernel; widgets and the sidebar learn it at once."""
        managed = self.get(name)
        managed.scale(n)
        self.notify(managed)
        self.publish()
        return managed

    def adapt(self, name: str, minimum: int, maximum: int) -> ManagedCluster:
        managed = self.get(name)
        managed.adapt(minimum, maximum)
        self.notify(managed)
        self.publish()
        return managed

    def close_all(self, include_kept: bool = True) -> list[str]:
        closed = []
        for name, managed in list(self.clusters.items()):
            if managed.spec.keep and not include_kept:
                # leave it running, but drop our client connection
                managed.client.close()
                continue
            self.close(name)
            closed.append(name)
        return closed

    # -- the workflow draft and promotion -------------------------------------------
    def use_notebook(self, notebook: Optional[str], draft_dir: Optional[str] = None) -> None:
        """Name the draft after ``notebook`` (None: 'workflow') and keep it beside the
        notebook, or in ``draft_dir``, or in argodasf.workflow.draft-dir."""
        self.notebook, self._draft_dir = notebook, draft_dir

    @property
    def draft(self):
        """The draft of this session's notebook, as its file holds it now (other kernels may change it)."""
        from .draft import Draft, draft_name, draft_path

        path = draft_path(self.notebook)
        if self._draft_dir is not None:
            path = os.path.join(self._draft_dir, os.path.basename(path))
        if self._draft is None or self._draft.path != path:
            stem = os.path.splitext(os.path.basename(self.notebook or "workflow"))[0]
            self._draft = Draft(draft_name(stem), path)
        self._draft.refresh()
        return self._draft

    def share_draft(self) -> None:
        """Show the draft as it is now in the sidebar."""
        self.draft_summary = self.draft.summary()
        self.publish()

    def promote(
        self,
        name: str,
        cell: str,
        *,
        run: Optional[Callable[[str], bool]] = None,
        values: Optional[dict] = None,
        where: Optional[Callable[[str], Optional[str]]] = None,
        cluster: Optional[ClusterSpec] = None,
        container: Optional[str] = None,
        local_command: Optional[str] = None,
        overrides: Optional[Mapping[str, Any]] = None,
        after=(),
        inputs=(),
        outputs=(),
        retries: int = 0,
        timeout: Optional[int] = None,
        replay: bool = False,
        report: bool = False,
    ):
        """Run ``cell`` on the current cluster and, when it worked, make it step ``name``
        of the draft (replacing a step of that name); returns the Step.

        ``values`` is the namespace the cell's outside names come from; literal ones
        become workflow parameters. ``run(cell)`` runs the cell and says whether it
        succeeded (default: exec in ``values``; a kernel passes its own). ``cluster``
        is the shape to start from when not the current cluster's; ``overrides``
        change it for the job (ClusterSpec keys). With ``container`` the cell is a
        shell script for that image and is not run here. ``replay`` also runs the
        step's script in a fresh process; ``report`` makes the step write a Dask
        performance report of the cell (step_report.py). A refused cell leaves the draft unchanged.
        """
        from . import promotion, storage

        values = {} if values is None else values
        managed = self.current
        step = promotion.promote_cell(
            name,
            cell,
            run=run or promotion.exec_in(values),
            values=values,
            where=where,
            managed=managed,
            cluster=cluster if cluster is not None else (managed.spec if managed is not None else None),
            conf=settings(),
            container=container,
            local_command=local_command,
            overrides=overrides,
            replay=replay,
            after=after,
            inputs=inputs,
            outputs=outputs,
            retries=retries,
            timeout=timeout,
            report=report,
        )
        draft = self.draft
        storage.check_edges({**draft.steps, step.name: step})
        draft.add(step)
        self.draft_summary = draft.summary()
        self.publish()
        return step

    # -- registry and live updates -------------------------------------------------
    def publish(self) -> None:
        summaries = [managed.summary() for managed in self.clusters.values()]
        try:
            registry.publish(summaries, self.draft_summary, self.submitted, directory=self.registry_dir)
        except OSError:
            pass  # the sidebar is a convenience; a read-only runtime dir must not break the magic

    def notify(self, managed: ManagedCluster) -> None:
        for listener in list(managed.listeners):
            listener(managed)

    def _ensure_watcher(self) -> None:
        if self._watcher is None or not self._watcher.is_alive():
            self._watcher = threading.Thread(target=self._watch, name="argodasf-watch", daemon=True)
            self._watcher.start()

    def _watch(self) -> None:
        """Push worker-count and status changes to widgets and the registry."""
        seen: dict[str, tuple] = {}
        while self.clusters:
            for managed in list(self.clusters.values()):
                state = (managed.status, managed.workers)
                if seen.get(managed.name) != state:
                    seen[managed.name] = state
                    self.notify(managed)
                    self.publish()
            time.sleep(WATCH_INTERVAL)

    def shutdown(self) -> None:
        """At kernel exit: close owned clusters unless kept; withdraw from the registry.
        A cluster that cannot be closed any more (credentials gone, server down) is
        reported in one line, not a traceback, and the others are still closed."""
        try:
            for name, managed in list(self.clusters.items()):
                try:
                    if managed.spec.keep:
                        managed.client.close()
                    else:
                        self.close(name)
                except Exception as error:
                    reason = str(error) if isinstance(error, ArgodasfError) else type(error).__name__
                    print(f"argodasf: cluster '{name}' could not be closed at exit ({reason})", file=sys.stderr)
        finally:
            registry.withdraw(self.registry_dir)


def names_for(prefix: str | None = None) -> dict[str, str]:
    """The user-namespace names of cluster, client and executor (PREFIX_... with --as)."""
    names = settings().names
    chosen = {"cluster": names.cluster, "client": names.client, "executor": names.executor}
    if prefix is not None:
        chosen = {role: f"{prefix}_{name}" for role, name in chosen.items()}
        if not all(name.isidentifier() and not keyword.iskeyword(name) for name in chosen.values()):
            raise ArgodasfError(
                f"--as {prefix!r} makes names Python cannot use ({', '.join(chosen.values())}); "
                "use letters, digits and '_', starting with a letter"
            )
    return chosen


def bind_names(user_ns: dict, managed: ManagedCluster, prefix: str | None = None) -> dict[str, str]:
    """Put cluster, client and executor into a namespace; returns the names used."""
    chosen = names_for(prefix)
    for role, name in chosen.items():
        user_ns[name] = getattr(managed, role)
    return chosen


_session: Optional[Session] = None


def current_session() -> Session:
    global _session
    if _session is None:
        _session = Session()
        atexit.register(_session.shutdown)
        kernel_exit.on_kernel_shutdown(_session.shutdown)
    return _session
