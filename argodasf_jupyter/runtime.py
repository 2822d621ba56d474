"""The DASF-compatible executor and, below it, the step runner.

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

import base64
import builtins
import contextlib
import enum
import hashlib
import json
import linecache
import os
import sys
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
    # DASF names nodes Class.method (operators) or by function name
    return f"{type(owner).__name__}.{name}" if owner is not None else name


class DaskExecutor:
    """A DASF pipeline executor on an existing Dask cluster.

    ``client``: a distributed.Client; when None, one is created from ``address``, or
    from DASK_SCHEDULER_ADDRESS (as inside a DaskJob runner pod). ``gpu`` selects
    DASF's GPU code paths (client.backend "cupy"). ``fail_on_task_error``: raise
    PipelineFailed from post_run when a task failed (the default).
    """

    def __init__(
        self,
        client: distributed.Client | None = None,
        *,
        address: str | None = None,
        gpu: bool = False,
        fail_on_task_error: bool = True,
    ):
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
        return (
            f"DaskExecutor {state} to {self.client.scheduler.address}: {workers} workers, "
            f"type {self.dtype.name}, backend {self.client.backend}"
        )

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


# ---------------------------------------------------------------------------
# The step runner. A promoted step's script is this whole file followed by a
# STEP literal and `raise SystemExit(main(STEP))`; the same script runs in a
# DaskJob runner pod, in `run --local` and in `--replay`. The user's code travels
# base64-encoded inside STEP, so no quoting layer (YAML, shell, Argo's {{...}})
# can alter it. Parameter values arrive base64-encoded in environment variables
# that Argo fills in; without them the defaults recorded at promotion apply.

PARAMETER_ENV_PREFIX = "ARGODASF_PARAM_"
# Argo resolves {{...}} inside workflow parameter values (argoproj/argo-workflows#4805):
# such a value travels base64-encoded behind this prefix (as does one that starts
# with the prefix, so that decoding is never ambiguous)
ENCODED_PARAMETER_PREFIX = "argodasf-base64:"
MARKER_SUFFIX = ".argodasf-complete"
REPORT_WRITTEN = "Dask performance report written to "
# The operator creates the runner pod together with the DaskCluster, so the runner
# often starts before its scheduler listens (a scheduler pod still pulling its
# image, installing EXTRA_PIP_PACKAGES or waiting for a node). Dask's default 30 s
# connect timeout is too short for that; the runner waits this long instead.
SCHEDULER_WAIT_ENV = "ARGODASF_SCHEDULER_WAIT"
SCHEDULER_WAIT_SECONDS = 600.0


def encode_text(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode_text(encoded: str) -> str:
    return base64.b64decode(encoded.encode("ascii")).decode("utf-8")


def parameter_env(name: str) -> str:
    return PARAMETER_ENV_PREFIX + name


def parameter_text(value) -> str:
    """How a parameter value is written as an Argo parameter: strings as they
    are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def argo_parameter_text(value) -> str:
    """parameter_text in a form Argo's substitution leaves alone."""
    text = parameter_text(value)
    if "{{" in text or text.startswith(ENCODED_PARAMETER_PREFIX):
        return ENCODED_PARAMETER_PREFIX + encode_text(text)
    return text


def from_argo_parameter_text(text: str) -> str:
    """The inverse of argo_parameter_text."""
    if text.startswith(ENCODED_PARAMETER_PREFIX):
        return decode_text(text[len(ENCODED_PARAMETER_PREFIX) :])
    return text


def parameter_value(text: str, default):
    """The inverse of parameter_text, guided by the default's type."""
    if isinstance(default, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def parameter_values(step: dict, environ=None) -> dict:
    environ = os.environ if environ is None else environ
    values = {}
    for name, default in step.get("parameters", {}).items():
        encoded = environ.get(parameter_env(name))
        if encoded is None:
            values[name] = default
        else:
            values[name] = parameter_value(from_argo_parameter_text(decode_text(encoded)), default)
    return values


def completion_key(code: str, parameters: dict) -> str:
    """Identifies one run of a step: the same code with the same parameters."""
    canonical = json.dumps({"code": code, "parameters": parameters}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _marker_path(output: str) -> str | None:
    # only filesystem paths carry markers; URLs (s3://...) are always recomputed
    return None if "://" in output else output.rstrip("/") + MARKER_SUFFIX


def outputs_complete(outputs, key: str) -> bool:
    """True when every output exists and was completed by a run with this key."""
    if not outputs:
        return False
    for output in outputs:
        marker = _marker_path(output)
        if marker is None or not os.path.exists(output) or not os.path.exists(marker):
            return False
        try:
            with open(marker) as stream:
                if json.load(stream).get("key") != key:
                    return False
        except (OSError, ValueError):
            return False
    return True


def write_markers(outputs, key: str, step_name: str) -> None:
    for output in outputs:
        marker = _marker_path(output)
        if marker is None or not os.path.exists(output):
            continue
        temporary = f"{marker}.{os.getpid()}.tmp"
        with open(temporary, "w") as stream:
            json.dump({"key": key, "step": step_name, "completed": time.time()}, stream)
        os.replace(temporary, marker)


def _say(message: str) -> None:
    print(f"argodasf: {message}", flush=True)


def _run_code(code: str, filename: str, namespace: dict) -> int:
    """Execute the user's code; return the exit code it asks for."""
    # register the source so tracebacks show the step's lines
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    try:
        # dont_inherit: this file's `from __future__` must not change the user's code
        exec(compile(code, filename, "exec", dont_inherit=True), namespace)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except Exception as error:
        frames = error.__traceback__.tb_next if error.__traceback__ else None  # hide this frame
        traceback.print_exception(type(error), error, frames)
        return 1
    return 0


@contextlib.contextmanager
def _performance_report(client, location: str | None, code: str):
    """distributed.performance_report around the user's code alone, when the step
    asks for one; its "Calling Code" is the user's code, not this runner's. A report
    that cannot be made is said in one line and does not fail the step."""
    report = distributed.performance_report(filename=location) if location else None
    try:
        if report is not None:
            report.__enter__()
    except Exception as error:
        _say(f"no Dask performance report: {type(error).__name__}: {error}")
        report = None
    try:
        yield
    finally:
        if report is not None:
            try:
                if "://" not in location:  # the cell may not have made its output directory
                    os.makedirs(os.path.dirname(os.path.abspath(location)), exist_ok=True)
                # the async exit takes the code to show (the sync one shows the calling frame: this runner)
                client.sync(report.__aexit__, None, None, None, code=code)
            except Exception as error:
                first = (str(error).splitlines() or [""])[0]
                # older distributed releases (2025.7 among them) extend bokeh's file.html, which bokeh 3.9 renamed
                hint = "; the scheduler's distributed needs bokeh<3.9" if "'file.html' not found" in first else ""
                _say(
                    f"the Dask performance report could not be written to {location}: "
                    f"{type(error).__name__}: {first}{hint}"
                )
            else:
                _say(REPORT_WRITTEN + location)


def _connect(address: str, environ) -> distributed.Client | None:
    """A client of the step's scheduler, retried until it answers or the wait ends."""
    wait = float(environ.get(SCHEDULER_WAIT_ENV) or SCHEDULER_WAIT_SECONDS)
    try:
        return distributed.Client(address, timeout=wait)
    except OSError as error:
        print(
            f"argodasf: the Dask scheduler at {address} did not answer within {wait:.0f} s "
            f"({type(error).__name__}); look at the DaskCluster's scheduler pod, or set "
            f"{SCHEDULER_WAIT_ENV} to wait longer",
            file=sys.stderr,
            flush=True,
        )
        return None


def main(step: dict, environ=None) -> int:
    """Run one promoted step; 0 on success, non-zero when the code raised or a
    DASF task failed."""
    environ = os.environ if environ is None else environ
    name = step["name"]
    code = decode_text(step["code"])
    values = parameter_values(step, environ)
    key = completion_key(code, values)
    outputs = step.get("outputs", [])
    if outputs_complete(outputs, key):
        _say(f"step '{name}': outputs already complete for this code and these parameters; skipped")
        return 0
    address = environ.get("DASK_SCHEDULER_ADDRESS")
    if not address:
        print(
            "argodasf: DASK_SCHEDULER_ADDRESS is not set; a step runs against a Dask scheduler "
            "(the DaskJob operator sets it in the runner pod)",
            file=sys.stderr,
            flush=True,
        )
        return 2
    started = time.perf_counter()
    client = _connect(address, environ)
    if client is None:
        return 3
    executor = DaskExecutor(client, gpu=step.get("gpu", False))
    names = step.get("names", {})
    namespace = {
        "__name__": "__main__",
        "__builtins__": builtins,
        names.get("client", "client"): client,
        names.get("executor", "executor"): executor,
        **values,
    }
    try:
        with _performance_report(client, step.get("report"), code):
            status = _run_code(code, f"<step {name}>", namespace)
        if status == 0 and executor.failed:
            for failure in executor.errors:
                print(failure.traceback, file=sys.stderr, end="")
            print(f"argodasf: DASF task '{executor.errors[0].task}' failed", file=sys.stderr, flush=True)
            status = 1
    finally:
        client.close()
    sys.stdout.flush()
    sys.stderr.flush()
    if status == 0:
        write_markers(outputs, key, name)
        _say(f"step '{name}' succeeded in {time.perf_counter() - started:.1f}s")
    else:
        _say(f"step '{name}' failed (exit code {status})")
    return status
