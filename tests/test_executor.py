"""The executor driven exactly as DASF's Pipeline.run() drives it (FACTS.md):
is_connected, pre_run, execute(fn=..., **deps) per node in topological order,
post_run; task errors caught by the pipeline and only logged."""

import distributed
import pytest

from argodasf_jupyter.runtime import DaskExecutor, PipelineFailed, TaskExecutorType


class MiniPipeline:
    """The control flow of dasf.pipeline.Pipeline.run(), without DASF."""

    def __init__(self, executor, nodes):
        self.executor = executor
        self.nodes = nodes  # [(name, fn, {param: dependency name})] in topological order
        self.results = {}

    def run(self):
        assert hasattr(self.executor, "execute") and self.executor.is_connected
        self.executor.pre_run(self)
        failed = False
        for name, fn, params in self.nodes:
            if failed:
                continue
            try:
                deps = {key: self.results[dep] for key, dep in params.items()}
                self.results[name] = self.executor.execute(fn=fn, **deps)
            except Exception:
                failed = True  # DASF logs the error and goes on to post_run
        self.executor.post_run(self)
        return self.results


@pytest.fixture(scope="module")
def client():
    with distributed.Client(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0") as client:
        yield client


def test_pipeline_runs_nodes_with_client_current(client):
    import dask.array as da

    seen = {}

    def load():
        seen["current"] = distributed.Client.current()
        return da.arange(100, chunks=10)

    def double(data):
        return data * 2

    def total(data):
        return data.sum().compute()

    executor = DaskExecutor(client)
    results = MiniPipeline(
        executor, [("load", load, {}), ("double", double, {"data": "load"}), ("total", total, {"data": "double"})]
    ).run()
    assert results["total"] == 2 * sum(range(100))
    assert seen["current"] is client
    assert (client.backend, client.dtype) == ("numpy", TaskExecutorType.multi_cpu)
    assert int(client.dtype) == 2  # the value DASF's dispatch compares against
    assert not executor.failed and set(executor.timings) == {"load", "double", "total"}


def test_failing_task_makes_the_pipeline_fail(client):
    def load():
        return 1

    def broken(data):
        raise KeyError("missing trace header")

    executor = DaskExecutor(client)
    pipeline = MiniPipeline(executor, [("load", load, {}), ("broken", broken, {"data": "load"})])
    with pytest.raises(PipelineFailed, match="task 'broken' failed: KeyError"):
        pipeline.run()
    assert len(executor.errors) == 1 and isinstance(executor.errors[0].error, KeyError)
    assert "missing trace header" in executor.errors[0].traceback


def test_failure_can_be_only_recorded(client):
    executor = DaskExecutor(client, fail_on_task_error=False)
    MiniPipeline(executor, [("boom", lambda: 1 / 0, {})]).run()
    assert executor.failed


def test_plugins_hear_task_errors_and_worker_plugins_reach_the_cluster(client):
    from distributed.diagnostics.plugin import WorkerPlugin

    class Recorder:
        def __init__(self):
            self.calls = []

        def on_task_error(self, pipeline, task, error):
            self.calls.append((task, type(error).__name__))

    class Marker(WorkerPlugin):
        name = "argodasf-test-marker"

        def setup(self, worker):
            worker.argodasf_marker = True

    recorder = Recorder()
    executor = DaskExecutor(client, fail_on_task_error=False)
    executor.register_plugin(recorder)
    executor.register_plugin(Marker())
    MiniPipeline(executor, [("boom", lambda: 1 / 0, {})]).run()
    assert recorder.calls == [("<lambda>", "ZeroDivisionError")]
    assert all(client.run(lambda dask_worker: getattr(dask_worker, "argodasf_marker", False)).values())


def test_gpu_executor_selects_cupy_dispatch(client):
    executor = DaskExecutor(client, gpu=True)
    assert client.backend == "cupy" and client.dtype == TaskExecutorType.multi_gpu
    DaskExecutor(client)  # restore for other tests
    assert "connected" in executor.info


def test_runtime_module_imports_only_stdlib_and_distributed():
    import ast
    import pathlib
    import sys

    import argodasf_jupyter.runtime as runtime

    tree = ast.parse(pathlib.Path(runtime.__file__).read_text())
    modules = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    modules |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0
    }
    allowed = set(sys.stdlib_module_names) | {"distributed", "dask", "__future__"}
    assert modules <= allowed, modules - allowed
    assert "dasf" not in modules and "argodasf_jupyter" not in modules
