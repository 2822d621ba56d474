"""The notebook's envelope step, run on a real seismic cube, against the envelope
that DASF's seismic attribute library computed for it (../shared/data/seismic/)."""

import pathlib

import nbformat
import numpy as np
from scipy.signal import hilbert

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "02-seismic-envelope.ipynb"


def envelope_step_body() -> str:
    """The body of the notebook's `%%dasf_workflow envelope` cell, exactly as promoted."""
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code" and cell.source.startswith("%%dasf_workflow envelope"):
            return cell.source.split("\n", 1)[1]
    raise AssertionError("the notebook has no %%dasf_workflow envelope cell")


def test_envelope_step_matches_the_dasf_reference(shared_dir, tmp_path):
    import dask.array as da
    from distributed import Client, LocalCluster

    from argodasf_jupyter.runtime import DaskExecutor

    seismic = shared_dir / "data" / "seismic"
    raw = np.load(seismic / "raw-100x100x100-float32.npy")
    reference = np.load(seismic / "envelope-reference-100x100x100-float32.npy")
    raw_path, envelope_path = str(tmp_path / "raw.zarr"), str(tmp_path / "envelope.zarr")
    da.from_array(raw, chunks=(50, 50, 100)).to_zarr(raw_path)  # time axis whole, as in the notebook

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster) as client:
        namespace = {
            "raw_path": raw_path,
            "envelope_path": envelope_path,
            "client": client,
            "executor": DaskExecutor(client),
        }
        exec(compile(envelope_step_body(), "envelope-step", "exec"), namespace)
        result = da.from_zarr(envelope_path).compute()
    assert result.shape == reference.shape and result.dtype == np.float32
    scale = float(raw.max() - raw.min())
    worst = float(np.max(np.abs(result - reference)))
    assert worst / scale < 1e-3, f"largest difference {worst} is {worst / scale:.2e} of the data range"
    # the check can fail: the envelope along the wrong axis is far off
    wrong_axis = np.abs(hilbert(raw, axis=0))
    assert np.max(np.abs(wrong_axis - reference)) / scale > 1e-2
