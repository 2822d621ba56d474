"""Workflow figures: promotion latency of a 200-line cell (alone, and through
Session.promote beside running the same cell), and the overhead of a local run per
step beside running the same step script directly.

    python benchmarks/bench_workflow.py [--repeat N] [--json rows.json]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import arguments, report, row, side_by_side


def two_hundred_line_cell() -> str:
    """A realistic cell: imports, a helper, a loop of attribute computations."""
    lines = [
        "import numpy as np",
        "import dask.array as da",
        "",
        "def gain(block, factor):",
        "    return block * factor",
        "",
    ]
    for index in range(194):
        lines.append(f"attribute_{index} = da.ones((64, 64), chunks=32) * scale + {index}  # attribute {index}")
    return "\n".join(lines[:200]) + "\n"


def bench_promotion(repeat: int) -> list[dict]:
    from argodasf_jupyter import promote, workflow
    from argodasf_jupyter.draft import Draft

    validate = _daskjob_validator()
    code = two_hundred_line_cell()
    assert code.count("\n") == 200

    def promote_once():
        step = promote.make_step("attributes", code, values={"scale": 2.0})
        draft = Draft("bench", os.path.join(tempfile.gettempdir(), "bench.dasf-workflow.json"), [step])
        document = workflow.to_dict(draft)  # builds the Hera objects and their Argo models
        manifest = workflow.step_manifest(step)
        if validate is not None:
            validate(manifest)
        return document

    first_started = time.perf_counter()
    promote_once()
    first = time.perf_counter() - first_started
    samples = []
    for _ in range(max(repeat, 5)):
        started = time.perf_counter()
        promote_once()
        samples.append(time.perf_counter() - started)
    return [
        row("promotion of a 200-line cell, first call (imports hera)", first * 1000, None, "ms", "-"),
        row(
            "promotion of a 200-line cell, later calls (analysis+render+validation)",
            statistics.median(samples) * 1000,
            None,
            "ms",
            "<= 10 ms",
        ),
    ]


def bench_session_promotion(repeat: int) -> list[dict]:
    """Session.promote without running the cell (its run says it worked): settings,
    analysis, the step and the locked draft write, beside Python compiling the cell."""
    from argodasf_jupyter import Session

    code = two_hundred_line_cell()
    with tempfile.TemporaryDirectory() as directory:
        session = Session(registry_dir=os.path.join(directory, "registry"))
        session.use_notebook(None, draft_dir=directory)

        def promoted():
            session.promote("attributes", code, run=lambda cell: True, values={"scale": 2.0})

        promoted()  # the first call imports what promotion needs
        ours, baseline = side_by_side(promoted, lambda: compile(code, "<cell>", "exec"), max(repeat, 5) * 2)
    return [
        row(
            "Session.promote of a 200-line cell (run skipped) vs compiling it, after the first call",
            ours * 1000,
            baseline * 1000,
            "ms",
            "ours <= 10 ms",
        )
    ]


def _daskjob_validator():
    """The DaskJob CRD schema check of the tests, when jsonschema is installed."""
    try:
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
        from argo.schemas import daskjob_validator
    except ImportError:
        return None
    return daskjob_validator().validate


STEP_CODE = """
import dask.array as da
total = float(da.ones((400, 400), chunks=100).sum().compute())
print("total", total * scale)
"""


def bench_local_run(repeat: int) -> list[dict]:
    from distributed import LocalCluster

    from argodasf_jupyter import local_run, promote, step_script
    from argodasf_jupyter.draft import Draft

    step = promote.make_step("total", STEP_CODE, values={"scale": 2})
    with (
        tempfile.TemporaryDirectory() as directory,
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster,
    ):
        draft = Draft("bench", os.path.join(directory, "bench.dasf-workflow.json"), [step])
        script = os.path.join(directory, "total.py")
        with open(script, "w") as stream:
            stream.write(step_script.render_script(step))
        address = cluster.scheduler_address

        def through_run_local():
            (run,) = local_run.run_local(draft, address=address)
            assert run.phase == "Succeeded", run.log

        def directly():
            env = dict(os.environ, DASK_SCHEDULER_ADDRESS=address)
            subprocess.run([sys.executable, script], env=env, check=True, capture_output=True)

        ours, baseline = side_by_side(through_run_local, directly, repeat)
    return [row("local run of one step vs its script run directly (same cluster)", ours, baseline, "s", "<= 1.2x")]


def main() -> None:
    args = arguments(__doc__)
    rows = bench_promotion(args.repeat) + bench_session_promotion(args.repeat) + bench_local_run(args.repeat)
    report(rows, args.json)


if __name__ == "__main__":
    main()
