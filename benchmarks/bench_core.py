"""Core figures: extension load time, local cluster start through the magic, and
a computation through the DASF executor, each beside its plain-Dask baseline."""

from __future__ import annotations

import json
import subprocess
import sys

from common import arguments, report, row, side_by_side

LOAD_PROBE = """
import json, sys, time
started = time.perf_counter()
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
ipython_done = time.perf_counter()
if {load}:
    shell.run_line_magic("load_ext", "argodasf_jupyter")
heavy = [name for name in ("hera", "dask_kubernetes", "kr8s", "kopf") if name in sys.modules]
print(json.dumps({{"seconds": time.perf_counter() - started, "heavy": heavy}}))
"""


def load_seconds(load: bool) -> dict:
    output = subprocess.run(
        [sys.executable, "-c", LOAD_PROBE.format(load=load)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def bench_load(repeat: int) -> list[dict]:
    import statistics

    with_extension, plain = [], []
    heavy = set()
    for _ in range(repeat):
        plain.append(load_seconds(False)["seconds"])
        probe = load_seconds(True)
        with_extension.append(probe["seconds"])
        heavy.update(probe["heavy"])
    extra_ms = (statistics.median(with_extension) - statistics.median(plain)) * 1000
    rows = [row("load_ext argodasf_jupyter: ms more than IPython alone", extra_ms, None, "ms", "< 150 ms")]
    rows.append(
        row("heavy modules imported by loading (hera, dask_kubernetes, kr8s, kopf)", len(heavy), None, "count", "0")
    )
    return rows


def bench_cluster_start(repeat: int) -> list[dict]:
    from distributed import LocalCluster

    from argodasf_jupyter.session import Session

    session = Session(registry_dir=None)
    values = {"name": "bench", "backend": "local", "workers": 2, "memory_limit": "1GiB"}

    def through_magic_path():
        session.create_from(values)
        session.close("bench")

    def bare():
        LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="1GiB", dashboard_address=":0").close()

    ours, baseline = side_by_side(through_magic_path, bare, repeat)
    return [row("ready 2-worker local cluster: magic vs LocalCluster", ours, baseline, "s", "ratio <= 1.10")]


def bench_executor(repeat: int) -> list[dict]:
    import dask
    import dask.array as da
    from distributed import Client, LocalCluster

    from argodasf_jupyter.runtime import DaskExecutor

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster) as client:
        executor = DaskExecutor(client)
        array = da.random.default_rng(0).standard_normal((2000, 2000), chunks=(250, 2000))
        work = (abs(array) ** 0.5).sum()
        ours, baseline = side_by_side(lambda: executor.compute(work), lambda: dask.compute(work), repeat * 2)
    return [row("dask computation: executor.compute vs dask.compute", ours, baseline, "s", "ratio <= 1.05")]


def main():
    args = arguments(__doc__)
    rows = bench_load(args.repeat) + bench_cluster_start(args.repeat) + bench_executor(args.repeat)
    report(rows, args.json)


if __name__ == "__main__":
    main()
