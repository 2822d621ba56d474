"""Seismic envelope of a 512x512x256 float32 cube (zarr in, zarr out) through the
DASF executor on 2 local workers, beside single-process numpy + scipy on the same
data; and the workers' memory peak against the cube size."""

from __future__ import annotations

import shutil
import tempfile

import numpy as np

from common import arguments, report, row, side_by_side

SHAPE = (512, 512, 256)
CHUNKS = (64, 64, 256)  # the time axis whole: the envelope of each block is exact


def envelope(block):
    from scipy.signal import hilbert

    return np.abs(hilbert(block, axis=-1)).astype(np.float32)


def make_cube(path: str) -> None:
    import dask.array as da

    rng = da.random.default_rng(7)
    cube = rng.standard_normal(SHAPE, chunks=CHUNKS, dtype=np.float32)
    cube.to_zarr(path, overwrite=True)


def main():
    args = arguments(__doc__)
    import dask.array as da
    import zarr
    from distributed import Client, LocalCluster
    from distributed.diagnostics import MemorySampler

    from argodasf_jupyter.runtime import DaskExecutor

    workdir = tempfile.mkdtemp(prefix="argodasf-bench-")
    source, target = f"{workdir}/raw.zarr", f"{workdir}/envelope.zarr"
    try:
        make_cube(source)
        megabytes = np.prod(SHAPE) * 4 / 1e6

        def whole_cube():
            # the plain numpy+scipy way: the whole cube in memory at once
            output = zarr.open_array(f"{workdir}/whole.zarr", mode="w", shape=SHAPE, chunks=CHUNKS, dtype=np.float32)
            output[...] = envelope(zarr.open_array(source, mode="r")[...])

        def block_by_block():
            # the best one process can do: as cache-friendly as the workers
            cube = zarr.open_array(source, mode="r")
            output = zarr.open_array(f"{workdir}/baseline.zarr", mode="w", shape=SHAPE, chunks=CHUNKS, dtype=np.float32)
            for i in range(0, SHAPE[0], CHUNKS[0]):
                for j in range(0, SHAPE[1], CHUNKS[1]):
                    block = (slice(i, i + CHUNKS[0]), slice(j, j + CHUNKS[1]))
                    output[block] = envelope(cube[block])

        with (
            LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="4GiB", dashboard_address=":0") as cluster,
            Client(cluster) as client,
        ):
            executor = DaskExecutor(client)

            def through_executor():
                attribute = da.from_zarr(source).map_blocks(envelope, dtype=np.float32)
                executor.execute(fn=da.to_zarr, arr=attribute, url=target, overwrite=True)

            ours, whole = side_by_side(through_executor, whole_cube, args.repeat)
            ours_again, blockwise = side_by_side(through_executor, block_by_block, args.repeat)
            sampler = MemorySampler()
            with sampler.sample("envelope", interval=0.05):
                through_executor()
            peak = max(memory for _, memory in sampler.samples["envelope"])
        same = np.allclose(zarr.open_array(target)[...], zarr.open_array(f"{workdir}/baseline.zarr")[...], atol=1e-4)
        if not same:
            raise SystemExit("the executor's envelope differs from the single-process one")
        rows = [
            row(
                "envelope 512x512x256 (MB/s): executor on 2 workers vs numpy+scipy on the whole cube",
                megabytes / ours,
                megabytes / whole,
                "MB/s",
                "ratio up to 2 (2 cores)",
            ),
            row(
                "envelope 512x512x256 (MB/s): executor on 2 workers vs one process block by block",
                megabytes / ours_again,
                megabytes / blockwise,
                "MB/s",
                "ratio up to 2 (2 cores)",
            ),
            row("workers' memory peak / cube size", peak / (megabytes * 1e6), None, "x", "report"),
        ]
        report(rows, args.json)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
