"""%%dasf_cluster and friends in a real IPython shell with real local clusters."""

import json
import os
import subprocess
import sys
import textwrap
import time

import psutil

from argodasf_jupyter import registry
from argodasf_jupyter.session import current_session
from argodasf_jupyter.spec import parse_spec

LOCAL = "backend: local\nmemory_limit: 1GiB\n"


def run(shell, cell):
    result = shell.run_cell(cell)
    assert result.success, result.error_in_exec or result.error_before_exec
    return result


def wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def worker_pids(cluster):
    return {worker.process.pid for worker in cluster.workers.values() if worker.process}


def test_cell_creates_cluster_binds_names_and_computes(no_leftover_processes, shell):
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        run(shell, f"%%dasf_cluster seismic --workers 2\n{LOCAL}threads_per_worker: 1\nenv: {{OMP_NUM_THREADS: 1}}")
    ns = shell.user_ns
    assert ns["cluster"].name == "seismic"
    assert len(ns["cluster"].scheduler_info["workers"]) == 2
    assert ns["client"].status == "running" and ns["executor"].client is ns["client"]
    widget_output = captured.outputs[-1].data
    assert "application/vnd.jupyter.widget-view+json" in widget_output
    assert "Cluster 'seismic' [local] running: 2 workers" in widget_output["text/plain"]
    env = ns["client"].run(lambda: os.environ.get("OMP_NUM_THREADS"))
    assert set(env.values()) == {"1"}
    run(shell, "import dask.array as da\ntotal = executor.compute(da.ones((200, 200), chunks=50).sum())")
    assert ns["total"] == 40000
    run(shell, "%dasf_close seismic")
    assert ns["cluster"].status.name == "closed"


def test_rerun_reuses_then_reshapes_then_recreates(no_leftover_processes, shell):
    run(shell, f"%%dasf_cluster seismic --workers 1\n{LOCAL}")
    first = shell.user_ns["cluster"]
    run(shell, f"%%dasf_cluster seismic --workers 1\n{LOCAL}")
    assert shell.user_ns["cluster"] is first and len(current_session().clusters) == 1
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        run(shell, f"%%dasf_cluster seismic --workers 3\n{LOCAL}")
    assert captured.outputs[-1].data["text/plain"].endswith("(reshaped)")
    assert shell.user_ns["cluster"] is first
    assert wait_for(lambda: len(first.scheduler_info["workers"]) == 3)
    run(shell, "%%dasf_cluster seismic --workers 1\nbackend: local\nmemory_limit: 2GiB")
    assert shell.user_ns["cluster"] is not first and first.status.name == "closed"
    assert len(current_session().clusters) == 1


def test_second_name_gives_second_cluster_listing_and_close_all(no_leftover_processes, shell):
    run(shell, f"%%dasf_cluster first --workers 1\n{LOCAL}")
    run(shell, f"%%dasf_cluster second --workers 1 --as seismic\n{LOCAL}")
    ns = shell.user_ns
    assert ns["cluster"].name == "first" and ns["seismic_cluster"].name == "second"
    assert ns["seismic_executor"].client is ns["seismic_client"]
    listing = run(shell, "%dasf_clusters").result
    assert "name=first" in repr(listing) and "name=second" in repr(listing)
    assert "<table" in listing._repr_html_()
    pids = worker_pids(ns["cluster"]) | worker_pids(ns["seismic_cluster"])
    assert len(pids) == 2
    run(shell, "%dasf_close --all")
    assert current_session().clusters == {}
    run(shell, "import dask.array as da\nafter_close = da.ones(4).sum().compute()")  # plain dask works again
    assert ns["after_close"] == 4
    assert wait_for(lambda: not any(psutil.pid_exists(pid) for pid in pids))


def test_adapt_range_from_flag(no_leftover_processes, shell):
    run(shell, f"%%dasf_cluster elastic --adapt 1:3\n{LOCAL}")
    managed = current_session().get("elastic")
    assert managed.spec.adapt.maximum == 3 and managed.spec.workers is None
    assert managed.cluster._adaptive is not None and managed.cluster._adaptive.maximum == 3


def test_registry_follows_worker_count_and_close(no_leftover_processes, shell, tmp_path):
    run(shell, f"%%dasf_cluster seismic --workers 1\n{LOCAL}")

    def published_workers():
        records = registry.read_all()
        clusters = records[0]["clusters"] if records else []
        return clusters[0]["workers"] if clusters else None

    assert wait_for(lambda: published_workers() == 1)
    shell.user_ns["cluster"].scale(2)  # scaled outside the magic: the watcher notices
    assert wait_for(lambda: published_workers() == 2)
    record = registry.read_all()[0]
    assert record["pid"] == os.getpid() and record["clusters"][0]["backend"] == "local"
    assert record["clusters"][0]["shape"]["name"] == "seismic"
    run(shell, "%dasf_close seismic")
    assert registry.read_all()[0]["clusters"] == []


def test_widget_buttons_scale_adapt_and_close(no_leftover_processes, shell):
    from argodasf_jupyter.widgets import ClusterWidget

    run(shell, f"%%dasf_cluster seismic --workers 1\n{LOCAL}")
    session = current_session()
    widget = ClusterWidget(session, session.get("seismic"))
    widget.workers_input.value = 2
    widget.scale_button.click()
    assert wait_for(lambda: len(shell.user_ns["cluster"].scheduler_info["workers"]) == 2)
    assert session.get("seismic").spec.workers == 2
    assert wait_for(lambda: ">2</span>/<span class='argodasf-target'>2</span>" in widget.header.value)
    widget.adapt_minimum.value, widget.adapt_maximum.value = 3, 2
    widget.adapt_button.click()
    assert "swap them" in widget.message.value
    widget.close_button.click()
    assert "seismic" not in session.clusters and widget.close_button.disabled


def test_form_creates_like_the_magic_and_shows_the_cell(no_leftover_processes, shell):
    from argodasf_jupyter.widgets import ClusterForm, ClusterWidget

    session = current_session()
    bound = []
    form = ClusterForm(session, parse_spec({"name": "fromform", "backend": "local"}), on_created=bound.append)
    form.memory.value = "lots"
    assert form.create() is None
    assert "is not a size" in form.message.value and session.clusters == {}
    form.memory.value = "1GiB"
    form.workers.value = 1
    managed = form.create()
    assert managed.name == "fromform" and bound == [managed]
    assert isinstance(form.children[0], ClusterWidget)
    cell_text = form.children[1].value
    assert cell_text.startswith("%%dasf_cluster fromform\n") and "memory_limit: 1GiB" in cell_text
    current_session().close("fromform")
    run(shell, cell_text)  # the shown cell recreates the same shape
    assert current_session().get("fromform").spec == managed.spec


def test_help_lists_every_option(shell, capsys):
    run(shell, "%dasf_cluster --help")
    out = capsys.readouterr().out
    assert "--workers WORKERS" in out and "memory_limit" in out and "[default: 'dasf']" in out


def test_kernel_exit_closes_owned_clusters(tmp_path):
    script = textwrap.dedent("""
        import json, sys
        from IPython.core.interactiveshell import InteractiveShell
        if __name__ == "__main__":
            import dask
            dask.config.set({"argodasf.local.dashboard-address": ":0"})
            ip = InteractiveShell.instance()
            ip.run_cell("%load_ext argodasf_jupyter")
            ok = ip.run_cell("%%dasf_cluster exiting --workers 2\\nbackend: local\\nmemory_limit: 1GiB").success
            cluster = ip.user_ns["cluster"]
            pids = [w.process.pid for w in cluster.workers.values()]
            print(json.dumps({"ok": ok, "pids": pids}), flush=True)
    """)
    path = tmp_path / "kernel.py"
    path.write_text(script)
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] and len(report["pids"]) == 2
    assert wait_for(lambda: not any(psutil.pid_exists(pid) for pid in report["pids"]), timeout=20)
    assert not os.listdir(tmp_path / "runtime" / "argodasf")  # withdrawn from the registry


def test_plain_python_calls_match_the_magic(no_leftover_processes, shell):
    import dask.array as da

    import argodasf_jupyter
    from argodasf_jupyter.widgets import ClusterForm

    managed = argodasf_jupyter.create_cluster("plain", backend="local", workers=1, memory_limit="1GiB")
    assert current_session().get("plain") is managed and managed.workers == 1
    assert managed.executor.compute(da.ones(8).sum()) == 8
    form = argodasf_jupyter.cluster_form(name="formed", backend="local")
    assert isinstance(form, ClusterForm) and form.values()["name"] == "formed"
    run(shell, "%dasf_cluster --ui formed --workers 1")  # the magic shows the same form
    current_session().close("plain")


def test_closing_a_cluster_that_a_progress_bar_watches_prints_no_traceback(no_leftover_processes, shell, caplog):
    # Under Run All the kernel's loop can be busy with the next cells, so a progress bar
    # never reads its "finished" message and the scheduler still feeds it at close.
    from distributed.comm import connect
    from distributed.protocol.pickle import dumps

    run(shell, f"%%dasf_cluster watched --workers 1\n{LOCAL}")
    cluster, client = shell.user_ns["cluster"], shell.user_ns["client"]

    async def open_unread_feed():
        comm = await connect(cluster.scheduler_address)
        await comm.write({"op": "feed", "function": dumps(lambda scheduler: 1), "interval": "10ms"})
        return comm

    feed = client.sync(open_unread_feed)
    assert wait_for(lambda: "feed" in cluster.scheduler._comms.values(), timeout=10)
    run(shell, "%dasf_close watched")
    feed.abort()
    assert cluster.status.name == "closed"
    tracebacks = [record for record in caplog.records if record.exc_info]
    assert not tracebacks, [record.getMessage() for record in tracebacks]
