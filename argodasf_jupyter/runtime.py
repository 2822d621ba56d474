"""The DASF-compatible executor (and, later in this file, the step runner).

This module is self-contained: it imports only the standard library and
`distributed`, because it is embedded verbatim into promoted workflow steps that run
in images where argodasf_jupyter is not installed. It never imports dasf.

DASF's Pipeline.run() drives an executor like this: it checks `execute` and a true
`is_connected`, calls `pre_run(pipeline)`, then `execute(fn=..., **deps)` for every
node in topological order, then `post_run(pipeline)`. It catches a failing task's
exception and only logs it, so a failed pipeline would look like a success; this
executor records task errors and raises from `post_run`, which Pipeline.run() does
not catch, turning a failed task into a failed cell or a failed process.
"""

from __future__ import annotations

import enum
import time
import traceback

import distributed


class TaskExecutorType(enum.IntEnum):
    """Mirrors dasf.pipeline.types.TaskExecutorType (DASF dispatches on these values)."""

    single_cpu = 1
    multi_cpu = 2
    single_gpu = 3
    multi_gpu = 4


class PipelineFailed(RuntimeError):
    """Raised by post_run when a task of the pipeline failed."""


class TaskError:
    def __init__(self, task: str, error: BaseException):
        self.task = task
        self.error = error
        self.traceback = "".join(traceback.format_exception(type(error), error, error.__traceback__))

    def __repr__(self):
        return f"TaskError(task={self.task!r}, error={self.error!r})"


def _task_name(fn) -> str:
    owner = getattr(fn, "__self__", None)
    name = getattr(fn, "__name__", repr(fn))
    return f"{type(owner).__name__}.{name}" if owner is not None else getattr(fn, "__qualname__", name)


class DaskExecutor:
    """A DASF pipeline executor on an existing Dask cluster.

    ``client``: a distributed.Client; when None, one is created from ``address``, or
    from DASK_SCHEDULER_ADDRESS (as inside a DaskJob runner pod). ``gpu`` selects
    DASF's GPU code paths (client.backend "cupy"). ``fail_on_task_error``: raise
    PipelineFailed from post_run when a task failed (the default).
    """

    def __init__(self, client: distributed.Client | None = None, *, address: str | None = None,
                 gpu: bool = False, fail_on_task_error: bool = True):
        self.client = client if client is not None else distributed.Client(address)
        self.gpu = bool(gpu)
        self.fail_on_task_error = fail_on_task_error
        self.dtype = TaskExecutorType.multi_gpu if self.gpu else TaskExecutorType.multi_cpu
        self.errors: list[TaskError] = []
        self.plugins: list = []
        self.timings: dict[str, float] = {}
        # DASF's operators read these from distributed.Client.current().
        self.client.dtype = self.dtype
        self.client.backend = "cupy" if self.gpu else "numpy"

    # -- the protocol DASF's Pipeline drives ------------------------------------
    @property
    def is_connected(self) -> bool:
        return self.client.status == "running"

    @property
    def info(self) -> str:
        workers = len(self.client.scheduler_info().get("workers", {})) if self.is_connected else 0
        state = "connected" if self.is_connected else "not connected"
        return (f"DaskExecutor {state} to {self.client.scheduler.address}: {workers} workers, "
                f"type {self.dtype.name}, backend {self.client.backend}")

    def pre_run(self, pipeline=None) -> None:
        self.errors = []
        self.timings = {}

    def execute(self, fn, *args, **kwargs):
        """Run one pipeline node with this executor's client current."""
        name = _task_name(fn)
        started = time.perf_counter()
        try:
            with self.client.as_current():
                return fn(*args, **kwargs)
        except Exception as error:
            self.on_task_error(None, name, error)
            raise
        finally:
            self.timings[name] = time.perf_counter() - started

    def post_run(self, pipeline=None) -> None:
        if self.errors and self.fail_on_task_error:
            first = self.errors[0]
            raise PipelineFailed(f"task '{first.task}' failed: {type(first.error).__name__}: {first.error}")

    def register_plugin(self, plugin) -> None:
        """Worker/nanny plugins go to the cluster; others get on_task_error calls."""
        from distributed.diagnostics.plugin import NannyPlugin, WorkerPlugin

        if isinstance(plugin, (WorkerPlugin, NannyPlugin)):
            self.client.register_plugin(plugin)
        else:
            self.plugins.append(plugin)

    def on_task_error(self, pipeline, task, error) -> None:
        """Record a failed task (DASF also calls this on plugins it knows)."""
        if not any(recorded.error is error for recorded in self.errors):
            self.errors.append(TaskError(str(task), error))
            for plugin in self.plugins:
                callback = getattr(plugin, "on_task_error", None)
                if callback is not None:
                    callback(pipeline, task, error)

    # -- conveniences for notebook code -----------------------------------------
    @property
    def failed(self) -> bool:
        return bool(self.errors)

    def compute(self, *collections, **kwargs):
        """dask.compute on this executor's cluster, recorded like a task; one
        collection gives one result, several give a tuple."""
        import dask

        results = self.execute(dask.compute, *collections, **kwargs)
        return results[0] if len(collections) == 1 else results

    def close(self) -> None:
        self.client.close()

    def __repr__(self):
        return f"<DaskExecutor {self.client.scheduler.address if self.client.scheduler else '-'} {self.client.backend}>"
