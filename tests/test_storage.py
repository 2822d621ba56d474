"""Data between steps: every pod has its own filesystem, so a path passed from one
step to another must be on a shared volume both mount, or an object-store URL
(here: s3:// through s3fs, against moto's S3 server)."""

from __future__ import annotations

import socket

import pytest
import yaml

from argodasf_jupyter import local_run, promote, storage, workflow
from argodasf_jupyter.draft import Draft
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.spec import parse_spec

CLAIM = {"name": "data", "claim": "seismic-rwx", "mount_path": "/data"}
WORKING = parse_spec({"workers": 1, "volumes": [{**CLAIM, "working_dir": True}]})
MOUNTED = parse_spec({"workers": 1, "volumes": [CLAIM]})
NO_VOLUME = parse_spec({"workers": 1})
NFS = parse_spec({"volumes": [{"name": "nfs", "mount_path": "/nfs", "source": {"nfs": {"server": "fs", "path": "/"}}}]})


def edge(path: str, producer=NO_VOLUME, consumer=NO_VOLUME, container=False) -> dict:
    first = (
        promote.make_step("stage", "true\n", container="alpine:3", cluster=producer, outputs=[path])
        if container
        else promote.make_step("stage", "pass\n", cluster=producer, outputs=[path])
    )
    second = promote.make_step("use", "pass\n", cluster=consumer, inputs=[path])
    return {"stage": first, "use": second}


@pytest.mark.parametrize(
    "path, producer, consumer",
    [
        ("s3://bucket/raw.zarr", NO_VOLUME, NO_VOLUME),
        ("gs://bucket/raw.zarr", NO_VOLUME, NO_VOLUME),
        ("/data/raw.npy", MOUNTED, MOUNTED),
        ("/data/raw.npy", MOUNTED, WORKING),
        ("out/raw.npy", WORKING, WORKING),
        ("/nfs/raw.npy", NFS, NFS),
    ],
)
def test_edges_on_shared_storage_pass(path, producer, consumer):
    storage.check_edges(edge(path, producer, consumer))
    storage.check_edges(edge(path, producer, consumer, container=True))


@pytest.mark.parametrize(
    "path, producer, consumer, why",
    [
        ("out/raw.npy", NO_VOLUME, NO_VOLUME, "each step runs in pods of its own"),
        ("out/raw.npy", WORKING, NO_VOLUME, "each step runs in pods of its own"),
        ("/data/raw.npy", MOUNTED, NO_VOLUME, "each step runs in pods of its own"),
        ("/tmp/raw.npy", MOUNTED, MOUNTED, "each step runs in pods of its own"),
        ("/data/raw.npy", MOUNTED, MOUNTED.with_changes(volumes=[{**CLAIM, "claim": "other"}]), "pods of its own"),
        (
            "/scratch/raw.npy",
            *[parse_spec({"volumes": [{"name": "s", "mount_path": "/scratch", "source": {"emptyDir": {}}}]})] * 2,
            "pods of its own",
        ),
        ("file:///data/raw.npy", MOUNTED, MOUNTED, "file:// is not shared between pods"),
    ],
)
def test_edges_on_a_pods_own_filesystem_are_refused_in_one_line(path, producer, consumer, why):
    with pytest.raises(ArgodasfError) as error:
        storage.check_edges(edge(path, producer, consumer))
    message = str(error.value)
    assert "\n" not in message and why in message
    assert message.startswith(f"step 'use' reads '{path}', which step 'stage' writes")
    assert "ReadWriteMany" in message and "s3://" in message


def test_export_refuses_such_an_edge(tmp_path):
    draft = Draft("bad", str(tmp_path / "bad.json"), list(edge("out/raw.npy").values()))
    with pytest.raises(ArgodasfError, match="pods of its own"):
        workflow.export(draft, str(tmp_path / "wf.yaml"))
    assert not (tmp_path / "wf.yaml").exists()


def pods_of(document: dict) -> dict:
    """Every container of the workflow: the container steps' and each DaskJob's runner,
    scheduler and worker, with the volumes of its pod."""
    found = {}
    for template in document["spec"]["templates"]:
        if "container" in template:
            found[template["name"]] = (template["container"], template.get("volumes", []))
        elif "resource" in template and "DaskJob" in template["resource"]["manifest"]:
            job = yaml.safe_load(template["resource"]["manifest"])
            cluster = job["spec"]["cluster"]["spec"]
            for role, pod in (
                ("runner", job["spec"]["job"]),
                ("scheduler", cluster["scheduler"]),
                ("worker", cluster["worker"]),
            ):
                found[f"{template['name']} {role}"] = (pod["spec"]["containers"][0], pod["spec"].get("volumes", []))
    return found


def test_volumes_working_dir_and_secrets_reach_every_pod_and_no_secret_value_does(tmp_path):
    spec = WORKING.with_changes(env_from_secrets=["s3-credentials"])
    draft = Draft(
        "storage",
        str(tmp_path / "storage.json"),
        [
            promote.make_step(
                "stage", "echo x > out/raw.txt\n", container="alpine:3", cluster=spec, outputs=["out/raw.txt"]
            ),
            promote.make_step("use", "print(open('out/raw.txt').read())\n", cluster=spec, inputs=["out/raw.txt"]),
        ],
    )
    document = workflow.to_dict(draft)
    pods = pods_of(document)
    assert set(pods) == {"stage", "use runner", "use scheduler", "use worker"}
    for name, (container, volumes) in pods.items():
        assert container["volumeMounts"] == [{"name": "data", "mountPath": "/data"}], name
        assert container["workingDir"] == "/data", name
        assert container["envFrom"] == [{"secretRef": {"name": "s3-credentials"}}], name
        assert volumes == [{"name": "data", "persistentVolumeClaim": {"claimName": "seismic-rwx"}}], name


# -- s3:// against moto's S3 server ----------------------------------------------------

ACCESS_KEY, SECRET_KEY = "AKIAEXAMPLEKEY", "moto-secret-never-in-a-workflow"

WRITE = """
import fsspec

def write(url, text):
    with fsspec.open(url, "w") as stream:
        stream.write(text)

client.submit(write, out_url, "written on a worker").result()
"""

READ = """
import fsspec

def read(url):
    with fsspec.open(url) as stream:
        return stream.read().decode()

print("read:", client.submit(read, in_url).result())
"""


@pytest.fixture
def s3_server(monkeypatch):
    """moto's S3 API on a free loopback port; the credentials as a Secret's envFrom
    puts them into the steps' pods (here: the environment the steps inherit)."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    import boto3

    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="seismic")
    yield endpoint
    server.stop()


def test_steps_pass_data_through_s3(s3_server, tmp_path):
    import boto3

    url = "s3://seismic/run/raw.txt"
    spec = parse_spec({"workers": 1, "env_from_secrets": ["s3-credentials"]})
    draft = Draft("s3", str(tmp_path / "s3.dasf-workflow.json"))
    draft.add(promote.make_step("write", WRITE, values={"out_url": url}, cluster=spec, outputs=[url]))
    draft.add(promote.make_step("read", READ, values={"in_url": url}, cluster=spec, inputs=[url]))
    assert draft.dependencies()["read"] == ["write"]

    exported = open(workflow.export(draft, str(tmp_path / "wf.yaml")), encoding="utf-8").read()
    assert SECRET_KEY not in exported and ACCESS_KEY not in exported and "s3-credentials" in exported

    runs = local_run.run_local(draft)
    assert [run.phase for run in runs] == ["Succeeded", "Succeeded"], [run.log for run in runs]
    body = boto3.client("s3", endpoint_url=s3_server).get_object(Bucket="seismic", Key="run/raw.txt")["Body"]
    assert body.read() == b"written on a worker"
    assert "read: written on a worker" in runs[1].log
