"""A step's Dask performance report (--report): where it goes, that the runner's
report covers the cell and only the cell, and that promotion refuses one that no
one outside the pod could read."""

from __future__ import annotations

import json

import pytest

from argodasf_jupyter import local_run, promote, step_report, step_script, workflow
from argodasf_jupyter.cell_flags import promotion_line, split_line, step_options
from argodasf_jupyter.draft import Draft
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.spec import parse_spec
from test_storage import s3_server  # noqa: F401  (a fixture)
from workflow_fixtures import scheduler_address  # noqa: F401  (a fixture)

CLAIM = {"name": "data", "claim": "seismic-rwx", "mount_path": "/data"}
WORKING = parse_spec({"workers": 1, "volumes": [{**CLAIM, "working_dir": True}]})
MOUNTED = parse_spec({"workers": 1, "volumes": [CLAIM]})

# a dask array op whose task prefix names the cell's own function
CELL = """
import dask.array as da

def envelope_block(block):
    return abs(block) + 1

envelope = da.ones((400, 400), chunks=100).map_blocks(envelope_block).persist()
print("total", int(envelope.sum().compute()))
"""


def step(outputs=(), cluster=WORKING, **options):
    return promote.make_step("envelope", CELL, cluster=cluster, outputs=list(outputs), report=True, **options)


@pytest.mark.parametrize(
    "outputs, expected",
    [
        ((), "envelope-dask-report.html"),
        (["out/cube.zarr"], "out/envelope-dask-report.html"),
        (["/data/out/cube.zarr/", "/data/other"], "/data/out/envelope-dask-report.html"),
        (["s3://seismic/run/cube.zarr"], "s3://seismic/run/envelope-dask-report.html"),
        (["s3://seismic"], "s3://seismic/envelope-dask-report.html"),
    ],
)
def test_the_report_goes_beside_the_first_output(outputs, expected):
    assert step_report.path(step(outputs)) == expected


def test_no_report_unless_asked():
    plain = promote.make_step("envelope", CELL, cluster=WORKING)
    assert step_report.path(plain) is None and step_script.step_payload(plain)["report"] is None
    assert step_report.annotation(plain) == {}


def test_the_flag_reaches_promotion():
    assert step_options(split_line(promotion_line, "envelope --report"))["report"] is True
    assert step_options(split_line(promotion_line, "envelope"))["report"] is False


@pytest.mark.parametrize(
    "outputs, cluster",
    [
        ((), MOUNTED),  # the working directory is the pod's own
        (["/tmp/out.zarr"], MOUNTED),  # beside an output off the volume
        (["out/cube.zarr"], parse_spec({"workers": 1})),
    ],
)
def test_a_report_only_its_pod_could_read_is_refused(outputs, cluster):
    with pytest.raises(ArgodasfError, match="--report would write .* own filesystem.*shared volume"):
        step(outputs, cluster)


def test_a_container_step_has_no_report():
    with pytest.raises(ArgodasfError, match="container step; --report is for DASF steps"):
        promote.make_step("copy", "cp a b\n", container="alpine:3", report=True)


def test_the_daskjob_names_where_the_report_is():
    on_claim = workflow.step_manifest(step(["/data/out/cube.zarr"], MOUNTED))
    annotations = on_claim["metadata"]["annotations"]
    assert json.loads(annotations[step_report.ANNOTATION]) == {
        "claim": "seismic-rwx",
        "mount_path": "/data",
        "path": "out/envelope-dask-report.html",
    }
    in_store = workflow.step_manifest(step(["s3://seismic/run/cube.zarr"], parse_spec({"workers": 1})))
    assert json.loads(in_store["metadata"]["annotations"][step_report.ANNOTATION]) == {
        "url": "s3://seismic/run/envelope-dask-report.html"
    }


def test_run_local_writes_a_report_of_the_cell_alone(tmp_path, scheduler_address):  # noqa: F811
    from distributed import Client

    # work done on the cluster before the step's cell must not appear in the report
    def bootstrap_marker(value):
        return value

    with Client(scheduler_address) as client:
        assert client.submit(bootstrap_marker, 1).result() == 1

    draft = Draft("reports", str(tmp_path / "reports.dasf-workflow.json"), [step(["out/cube.zarr"])])
    (run,) = local_run.run_local(draft, address=scheduler_address)
    assert run.phase == "Succeeded", run.log
    report = tmp_path / "out" / "envelope-dask-report.html"
    assert run.report == str(report)
    html = report.read_text()
    assert '"envelope_block"' in html  # the task stream names the cell's task prefix
    assert "bootstrap_marker" not in html
    # its Calling Code is the cell, not the runner that wraps it
    assert "def envelope_block(block):" in html
    assert "def main(" not in html and "DASK_SCHEDULER_ADDRESS" not in html
    assert "argodasf: Dask performance report written to out/envelope-dask-report.html" in run.log


def test_run_local_without_the_flag_writes_no_report(tmp_path, scheduler_address):  # noqa: F811
    plain = promote.make_step("envelope", CELL, cluster=WORKING, outputs=["out/cube.zarr"])
    (run,) = local_run.run_local(
        Draft("plain", str(tmp_path / "plain.dasf-workflow.json"), [plain]), address=scheduler_address
    )
    assert run.phase == "Succeeded", run.log
    assert run.report == "" and not list(tmp_path.rglob("*-dask-report.html"))


def test_a_failing_cell_still_reports_what_it_ran_and_fails(tmp_path, scheduler_address):  # noqa: F811
    failing = promote.make_step(
        "envelope", CELL + "raise RuntimeError('bad trace')\n", cluster=WORKING, outputs=["out/cube.zarr"], report=True
    )
    (run,) = local_run.run_local(
        Draft("f", str(tmp_path / "f.dasf-workflow.json"), [failing]), address=scheduler_address
    )
    assert run.phase == "Failed" and "RuntimeError: bad trace" in run.log
    assert '"envelope_block"' in (tmp_path / "out" / "envelope-dask-report.html").read_text()


def test_an_object_store_report_is_written_there_and_read_back_with_the_servers_credentials(
    tmp_path, scheduler_address, s3_server
):  # noqa: F811
    import boto3

    url = "s3://seismic/run/envelope-dask-report.html"
    in_store = step(["s3://seismic/run/cube.zarr"], parse_spec({"workers": 1}))
    (run,) = local_run.run_local(
        Draft("s3", str(tmp_path / "s3.dasf-workflow.json"), [in_store]), address=scheduler_address
    )
    assert run.phase == "Succeeded" and run.report == url, run.log
    body = boto3.client("s3", endpoint_url=s3_server).get_object(Bucket="seismic", Key="run/envelope-dask-report.html")
    html = body["Body"].read()
    assert b'"envelope_block"' in html
    assert step_report.read(step_report.reference(in_store), "envelope") == html
    with pytest.raises(step_report.ReportTooLarge, match="more than the 100 bytes"):
        step_report.read({"url": url}, "envelope", limit=100)


def test_status_and_the_local_run_view_say_where_the_report_is():
    from argodasf_jupyter.workflow_widgets import RunView, StatusView

    summary = {
        "name": "seismic-x1",
        "phase": "Succeeded",
        "steps": [
            {
                "name": "envelope",
                "phase": "Succeeded",
                "started_at": None,
                "finished_at": None,
                "message": None,
                "report": {"claim": "seismic-rwx", "mount_path": "/data", "path": "out/envelope-dask-report.html"},
            },
            {
                "name": "stage",
                "phase": "Succeeded",
                "started_at": None,
                "finished_at": None,
                "message": None,
                "report": None,
            },
        ],
    }
    view = StatusView(summary)
    expected = "Dask performance report: /data/out/envelope-dask-report.html (claim seismic-rwx)"
    assert view.fallback_text().count(expected) == 1 and view.fallback_html().count(expected) == 1
    run = local_run.StepRun("envelope", "dasf", phase="Succeeded", report="/data/out/envelope-dask-report.html")
    local = RunView("local run")
    local.update([run])
    assert "Dask performance report: /data/out/envelope-dask-report.html" in local.fallback_text()
