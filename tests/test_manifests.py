"""Manifests validated strictly against the Dask operator's own CRD schemas and,
for the embedded pods and services, against the Kubernetes schemas."""

from __future__ import annotations

import copy
import importlib.util
import os

import jsonschema
import kubernetes_validate
import pytest
import yaml

from argodasf_jupyter import manifests
from argodasf_jupyter.spec import parse_spec
from argo.schemas import strict

CRD_DIR = os.path.join(
    importlib.util.find_spec("dask_kubernetes").submodule_search_locations[0],
    "operator",
    "deployment",
    "helm",
    "dask-kubernetes-operator",
    "crds",
)
K8S_VERSION = kubernetes_validate.latest_version()
IMAGE = "example.org/dask:1"


def crd_validator(kind: str):
    with open(os.path.join(CRD_DIR, f"{kind.lower()}.yaml")) as stream:
        crd = yaml.safe_load(stream)
    schema = copy.deepcopy(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    # the API server checks these itself; the CRD schema leaves them out
    schema["properties"].update(apiVersion={"type": "string"}, kind={"type": "string"}, metadata={"type": "object"})
    return jsonschema.Draft7Validator(strict(schema))


VALIDATORS = {kind: crd_validator(kind) for kind in ("DaskCluster", "DaskJob", "DaskAutoscaler", "DaskWorkerGroup")}


def k8s_validate(kind: str, spec: dict) -> None:
    body = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "check"}, "spec": spec}
    kubernetes_validate.validate(body, K8S_VERSION, strict=True)


def validate_cluster_spec(cluster_spec: dict) -> None:
    k8s_validate("Pod", cluster_spec["scheduler"]["spec"])
    k8s_validate("Service", cluster_spec["scheduler"]["service"])
    k8s_validate("Pod", cluster_spec["worker"]["spec"])


def validate(body: dict) -> dict:
    """Validate a Dask resource strictly, with its embedded Kubernetes objects."""
    assert body["apiVersion"] == "kubernetes.dask.org/v1"
    VALIDATORS[body["kind"]].validate(body)
    if body["kind"] == "DaskCluster":
        validate_cluster_spec(body["spec"])
    if body["kind"] == "DaskJob":
        k8s_validate("Pod", body["spec"]["job"]["spec"])
        validate_cluster_spec(body["spec"]["cluster"]["spec"])
    return body


def cluster_spec(**values):
    return parse_spec({"image": IMAGE, **values})


def container(pod: dict) -> dict:
    (only,) = pod["containers"]
    return only


VOLUMES = [
    {"name": "data", "mount_path": "/data", "claim": "shared-data", "read_only": True},
    {"name": "scratch", "mount_path": "/scratch", "source": {"emptyDir": {}}},
]
POD_VOLUMES = [
    {"name": "data", "persistentVolumeClaim": {"claimName": "shared-data", "readOnly": True}},
    {"name": "scratch", "emptyDir": {}},
]
MOUNTS = [{"name": "data", "mountPath": "/data", "readOnly": True}, {"name": "scratch", "mountPath": "/scratch"}]


def test_cpu_cluster_golden():
    spec = cluster_spec(
        name="demo", workers=3, threads_per_worker=2, memory_limit="4GiB", cpu="1500m", env={"OMP_NUM_THREADS": 1}
    )
    body = validate(manifests.dask_cluster(spec, "demo", namespace="team"))
    assert body["metadata"] == {"name": "demo", "namespace": "team"}
    env = [{"name": "OMP_NUM_THREADS", "value": "1"}]
    assert body["spec"]["worker"] == {
        "replicas": 3,
        "spec": {
            "containers": [
                {
                    "name": "worker",
                    "image": IMAGE,
                    "args": [
                        "dask",
                        "worker",
                        "--name",
                        "$(DASK_WORKER_NAME)",
                        "--dashboard",
                        "--dashboard-address",
                        ":8788",
                        "--nthreads",
                        "2",
                        "--memory-limit",
                        "4GiB",
                    ],
                    "env": env,
                    "resources": {
                        "requests": {"memory": "4Gi", "cpu": "1500m"},
                        "limits": {"memory": "4Gi", "cpu": "1500m"},
                    },
                    "ports": [{"name": "http-dashboard", "containerPort": 8788, "protocol": "TCP"}],
                }
            ]
        },
    }
    scheduler = container(body["spec"]["scheduler"]["spec"])
    assert scheduler["args"] == ["dask", "scheduler", "--host", "0.0.0.0"]
    assert scheduler["env"] == env
    assert [(port["name"], port["containerPort"]) for port in scheduler["ports"]] == [
        ("tcp-comm", 8786),
        ("http-dashboard", 8787),
    ]
    assert scheduler["readinessProbe"]["httpGet"] == {"port": "http-dashboard", "path": "/health"}
    service = body["spec"]["scheduler"]["service"]
    assert service["type"] == "ClusterIP"
    assert service["selector"] == {"dask.org/cluster-name": "demo", "dask.org/component": "scheduler"}
    assert "idleTimeout" not in body["spec"]


def test_defaults_leave_out_empty_values():
    spec = parse_spec({"name": "plain"})
    body = validate(manifests.dask_cluster(spec, "plain"))
    worker = container(body["spec"]["worker"]["spec"])
    assert worker["image"] == manifests.default_image()
    assert set(worker) == {"name", "image", "args", "ports"}
    assert "--memory-limit" not in worker["args"]
    assert body["metadata"] == {"name": "plain"}
    assert body["spec"]["worker"]["replicas"] == 2
    assert set(body["spec"]["worker"]["spec"]) == {"containers"}


def test_gpu_cluster_golden():
    spec = cluster_spec(name="gpus", workers=1, gpu=2, rmm_pool_size="24GB", memory_limit="32GB")
    body = validate(manifests.dask_cluster(spec, "gpus"))
    worker = container(body["spec"]["worker"]["spec"])
    assert worker["args"] == [
        "dask-cuda-worker",
        "--name",
        "$(DASK_WORKER_NAME)",
        "--dashboard",
        "--dashboard-address",
        ":8788",
        "--nthreads",
        "1",
        "--memory-limit",
        "32GB",
        "--rmm-pool-size",
        "24GB",
    ]
    amounts = {"memory": "32G", "nvidia.com/gpu": "2"}
    assert worker["resources"] == {"requests": amounts, "limits": amounts}
    # the scheduler needs no GPU
    assert "resources" not in container(body["spec"]["scheduler"]["spec"])


def test_gpu_image_from_settings():
    import dask.config

    assert manifests.default_image(gpu=True).startswith("rapidsai/base:")
    with dask.config.set({"argodasf.gpu-image": "example.org/rapids:1"}):
        body = manifests.dask_cluster(parse_spec({"gpu": True}), "g")
    assert container(body["spec"]["worker"]["spec"])["image"] == "example.org/rapids:1"


def test_default_image_matches_installed_distributed():
    import sys

    import distributed

    assert (
        manifests.default_image()
        == f"ghcr.io/dask/dask:{distributed.__version__}-py{sys.version_info.major}.{sys.version_info.minor}"
    )


def test_volumes_and_placement_on_scheduler_workers_and_runner():
    spec = cluster_spec(
        name="vols",
        volumes=VOLUMES,
        node_selector={"pool": "dask"},
        tolerations=[{"key": "dedicated", "operator": "Equal", "value": "dask", "effect": "NoSchedule"}],
        service_account="dask-runner",
    )
    job = validate(manifests.dask_job(spec, "vols", {"image": IMAGE, "command": ["python", "/app/step.py"]}))
    pods = {
        "scheduler": job["spec"]["cluster"]["spec"]["scheduler"]["spec"],
        "worker": job["spec"]["cluster"]["spec"]["worker"]["spec"],
        "runner": job["spec"]["job"]["spec"],
    }
    for kind, pod in pods.items():
        assert pod["volumes"] == POD_VOLUMES, kind
        assert container(pod)["volumeMounts"] == MOUNTS, kind
        assert pod["nodeSelector"] == {"pool": "dask"}, kind
        assert pod["tolerations"][0]["key"] == "dedicated", kind
        assert pod["serviceAccountName"] == "dask-runner", kind


def test_adapt_starts_at_minimum_and_autoscaler():
    spec = cluster_spec(name="elastic", adapt={"minimum": 1, "maximum": 5})
    body = validate(manifests.dask_cluster(spec, "elastic"))
    assert body["spec"]["worker"]["replicas"] == 1
    autoscaler = validate(manifests.dask_autoscaler("elastic", 1, 5, namespace="team"))
    assert autoscaler["spec"] == {"cluster": "elastic", "minimum": 1, "maximum": 5}
    assert autoscaler["metadata"]["name"] == "elastic"
    assert autoscaler["metadata"]["namespace"] == "team"


def test_service_type_and_idle_timeout():
    spec = cluster_spec(scheduler_service_type="LoadBalancer", idle_timeout=600)
    body = validate(manifests.dask_cluster(spec, "lb"))
    assert body["spec"]["scheduler"]["service"]["type"] == "LoadBalancer"
    assert body["spec"]["idleTimeout"] == 600


def test_dask_job_runner():
    spec = cluster_spec(name="step", workers=4, env={"SHARED": "yes", "MODE": "cluster"})
    runner = {"image": "example.org/step:2", "command": ["python"], "args": ["-m", "step"], "env": {"MODE": "runner"}}
    job = validate(
        manifests.dask_job(
            spec, "wf-step-1", runner, namespace="team", service_account="workflow", labels={"app": "argodasf"}
        )
    )
    assert job["metadata"] == {"name": "wf-step-1", "namespace": "team", "labels": {"app": "argodasf"}}
    pod = job["spec"]["job"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["serviceAccountName"] == "workflow"
    assert container(pod) == {
        "name": "job",
        "image": "example.org/step:2",
        "command": ["python"],
        "args": ["-m", "step"],
        "env": [{"name": "SHARED", "value": "yes"}, {"name": "MODE", "value": "runner"}],
    }
    cluster = job["spec"]["cluster"]["spec"]
    assert cluster["scheduler"]["service"]["selector"]["dask.org/cluster-name"] == "wf-step-1"
    assert cluster["worker"]["replicas"] == 4
    # the cluster pods keep the ClusterSpec's own env
    assert container(cluster["worker"]["spec"])["env"] == [
        {"name": "SHARED", "value": "yes"},
        {"name": "MODE", "value": "cluster"},
    ]
    assert "serviceAccountName" not in cluster["worker"]["spec"]


def test_dask_job_runner_defaults_to_cluster_image():
    job = validate(manifests.dask_job(cluster_spec(), "j", {"command": ["python", "-c", "pass"]}))
    assert container(job["spec"]["job"]["spec"])["image"] == IMAGE


def test_rbac_least_privilege():
    objects = manifests.rbac("team", "workflow")
    for body in objects:
        kubernetes_validate.validate(body, K8S_VERSION, strict=True)
    assert [body["kind"] for body in objects] == ["ServiceAccount", "Role", "RoleBinding"]
    role = objects[1]
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    dask_verbs = {"create", "get", "list", "watch", "patch", "delete"}
    expected = {
        ("kubernetes.dask.org", resource, verb)
        for resource in ("daskjobs", "daskclusters", "daskworkergroups", "daskautoscalers")
        for verb in dask_verbs
    } | {("argoproj.io", "workflowtaskresults", verb) for verb in ("create", "patch")}
    assert granted == expected
    binding = objects[2]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "workflow", "namespace": "team"}]


def test_memory_quantity():
    assert [manifests.memory_quantity(size) for size in ("4GiB", "4GB", "1.5GiB", "500MB", "1000000001")] == [
        "4Gi",
        "4G",
        "1536Mi",
        "500M",
        "1000000001",
    ]


@pytest.mark.parametrize(
    "where, misspelt",
    [
        (lambda body: body["spec"], "idleTimout"),
        (lambda body: body["spec"]["worker"], "replica"),
        (lambda body: body["spec"]["scheduler"]["service"], "selecter"),
    ],
)
def test_strict_crd_validation_rejects_misspelt_keys(where, misspelt):
    body = manifests.dask_cluster(cluster_spec(), "typo")
    where(body)[misspelt] = 1
    with pytest.raises(jsonschema.ValidationError, match=misspelt):
        VALIDATORS["DaskCluster"].validate(body)


def test_strict_pod_validation_rejects_misspelt_keys():
    body = manifests.dask_cluster(cluster_spec(), "typo")
    pod = body["spec"]["worker"]["spec"]
    container(pod)["volumeMount"] = []
    with pytest.raises(jsonschema.ValidationError, match="volumeMount"):
        VALIDATORS["DaskCluster"].validate(body)
    with pytest.raises(kubernetes_validate.ValidationError, match="volumeMount"):
        k8s_validate("Pod", pod)


def test_nulls_are_rejected_by_the_validator():
    body = manifests.dask_cluster(cluster_spec(), "nulls")
    body["spec"]["idleTimeout"] = None
    with pytest.raises(jsonschema.ValidationError):
        VALIDATORS["DaskCluster"].validate(body)


def test_module_imports_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys, argodasf_jupyter.manifests as m; "
        "m.dask_cluster(m.ClusterSpec(), 'x'); "
        "print(sorted(n for n in ('dask_kubernetes', 'kr8s', 'kopf', 'hera') if n in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
