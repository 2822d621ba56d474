"""What image fidelity costs, on the fake Kubernetes API (tests/kube/harness.py) with the
image-faithful fake kubelet.

- Start-up cost of EXTRA_PIP_PACKAGES per pod: a dask-image pod that imports scipy and
  zarr, given them through EXTRA_PIP_PACKAGES (the entrypoint installs them from the
  local wheel cache), against the same pod importing only distributed, with nothing
  to install; create to terminated, side by side.
- The preflight's time per image (preflight.check for one step), against a bare pod of
  the same image that runs `python -c pass`.
- The import analysis inside promotion: make_step of a 200-line cell after the first call.

    cd benchmarks && python bench_images.py --repeat 3 --json images.json
"""

from __future__ import annotations

import importlib.metadata
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_kubernetes import isolate_home
from common import arguments, median_time, report, row

ROOT = Path(__file__).resolve().parents[1]
DASK_IMAGE = "ghcr.io/dask/dask:latest"
PINS = " ".join(f"{name}=={importlib.metadata.version(name)}" for name in ("scipy", "zarr"))
CELL = (
    """
import numpy as np
import dask.array as da
from scipy.signal import hilbert

def envelope(block):
    return np.abs(hilbert(block, axis=-1)).astype(np.float32)

raw = da.from_zarr(raw_path)
attribute = raw.map_blocks(envelope, dtype=np.float32)
executor.execute(fn=da.to_zarr, arr=attribute, url=envelope_path, overwrite=True)
"""
    * 20
)

counter = itertools.count()


def run_pod(fk, script: str, env: dict | None = None, timeout: float = 300) -> float:
    name = f"bench-{next(counter)}"
    container = {"name": "main", "image": DASK_IMAGE, "args": ["python", "-c", script]}
    if env:
        container["env"] = [{"name": key, "value": value} for key, value in env.items()]
    started = time.perf_counter()
    fk.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "containers": [container]},
        }
    )

    def finished():
        statuses = (fk.get("pods", name) or {}).get("status", {}).get("containerStatuses") or [{}]
        return statuses[0].get("state", {}).get("terminated")

    fk.wait_for(finished, timeout=timeout, message=lambda: fk.pod_log(name)[-1500:])
    elapsed = time.perf_counter() - started
    if finished()["exitCode"] != 0:
        raise SystemExit(f"pod {name} failed: {fk.pod_log(name)[-1500:]}")
    return elapsed


def main() -> int:
    args = arguments(__doc__)
    isolate_home()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    from kube.harness import FakeKubernetes

    from argodasf_jupyter import preflight, promote
    from argodasf_jupyter.spec import parse_spec

    rows = []
    started = time.perf_counter()
    promote.make_step("first", CELL, values={"raw_path": "/r", "envelope_path": "/e"})
    first = time.perf_counter() - started
    promotion = median_time(
        lambda: promote.make_step("envelope", CELL, values={"raw_path": "/r", "envelope_path": "/e"}),
        max(args.repeat, 20),
    )
    rows.append(row("promotion of a 200-line cell, import analysis included", promotion, None, "s", "< 0.1 s"))
    rows.append(row("the same, first call (reads the installed distributions)", first, None, "s", "-"))

    with FakeKubernetes(tempfile.mkdtemp(prefix="bench-images-"), operator=False) as fk:
        run_pod(fk, "import distributed")  # warm-up: first pod, first imports
        with_pip, without = [], []
        for _ in range(args.repeat):
            without.append(run_pod(fk, "import distributed"))
            with_pip.append(run_pod(fk, "import scipy, zarr", {"EXTRA_PIP_PACKAGES": PINS}))
        ours, baseline = statistics.median(with_pip), statistics.median(without)
        rows.append(row(f"dask-image pod start to exit, EXTRA_PIP_PACKAGES={PINS}", ours, baseline, "s", "report"))
        rows.append(row("start-up cost EXTRA_PIP_PACKAGES adds per pod", ours - baseline, None, "s", "report"))

        step = promote.make_step(
            "envelope",
            CELL,
            values={"raw_path": "/r", "envelope_path": "/e"},
            cluster=parse_spec({"image": DASK_IMAGE}),
        )
        checks, bare = [], []
        for _ in range(args.repeat):
            bare.append(run_pod(fk, "pass", {"EXTRA_PIP_PACKAGES": PINS}))
            (result,) = preflight.check([step], timeout=300)
            if result.problems:
                raise SystemExit(f"preflight found problems: {result.problems}")
            checks.append(result.seconds)
        rows.append(
            row(
                "preflight of one image (pod with its pins, imports, versions)",
                statistics.median(checks),
                statistics.median(bare),
                "s",
                "report",
            )
        )
    report(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
