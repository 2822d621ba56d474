"""Kubernetes manifests built from a ClusterSpec: plain dicts in, plain dicts out.

The shapes follow the Dask operator's CRDs (kubernetes.dask.org/v1) and the way
its own ``make_cluster_spec`` lays out scheduler and worker pods, so that both the
operator and ``KubeCluster`` accept them. No I/O and no heavy imports here.

Nulls and empty values are left out on purpose: the API server prunes nulls from
custom resources, and schema validators reject them.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable, Optional

from dask.utils import parse_bytes

from .config import settings
from .spec import ClusterSpec, Volume

API_VERSION = "kubernetes.dask.org/v1"
DASK_GROUP = "kubernetes.dask.org"
ARGO_GROUP = "argoproj.io"
DASK_IMAGE = "ghcr.io/dask/dask"
RAPIDS_IMAGE = "rapidsai/base:25.12-cuda12-py{python}"
GPU_RESOURCE = "nvidia.com/gpu"
SCHEDULER_PORT = 8786
DASHBOARD_PORT = 8787
WORKER_DASHBOARD_PORT = 8788

# least privilege for a workflow whose steps create DaskJobs (../shared/FACTS.md)
WORKFLOW_RULES = (
    (
        DASK_GROUP,
        ("daskjobs", "daskclusters", "daskworkergroups", "daskautoscalers"),
        ("create", "get", "list", "watch", "patch", "delete"),
    ),
    (ARGO_GROUP, ("workflowtaskresults",), ("create", "patch")),
)

_QUANTITY_SUFFIXES = (
    ("Ti", 2**40),
    ("Gi", 2**30),
    ("Mi", 2**20),
    ("Ki", 2**10),
    ("T", 10**12),
    ("G", 10**9),
    ("M", 10**6),
    ("k", 10**3),
)


def default_image(gpu: bool = False) -> str:
    """The image matching this environment: dask's for the installed distributed
    version and Python, or for GPU the configured image (else a RAPIDS one)."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    if gpu:
        return settings().gpu_image or RAPIDS_IMAGE.format(python=python)
    from distributed import __version__ as distributed_version

    return f"{DASK_IMAGE}:{distributed_version}-py{python}"


def memory_quantity(size: str) -> str:
    """A dask size ('4GiB', '500MB') as a Kubernetes quantity ('4Gi', '500M')."""
    count = parse_bytes(size)
    # the largest unit that divides exactly: 4GiB -> 4Gi and 4GB -> 4G (not 3906250Ki)
    exact = [(factor, suffix) for suffix, factor in _QUANTITY_SUFFIXES if count % factor == 0]
    if not exact:
        return str(count)
    factor, suffix = max(exact)
    return f"{count // factor}{suffix}"


def _compact(mapping: dict) -> dict:
    """Drop keys whose value is None or empty (one level: user-given volume
    sources such as ``emptyDir: {}`` stay as they are)."""
    return {key: value for key, value in mapping.items() if value is not None and value != {} and value != []}


def _env(values: dict[str, str]) -> list[dict]:
    return [{"name": key, "value": value} for key, value in values.items()]


def _volume(volume: Volume) -> dict:
    if volume.claim is not None:
        source = {"persistentVolumeClaim": _compact({"claimName": volume.claim, "readOnly": volume.read_only or None})}
    else:
        source = dict(volume.source)
    return {"name": volume.name, **source}


def _mount(volume: Volume) -> dict:
    return _compact({"name": volume.name, "mountPath": volume.mount_path, "readOnly": volume.read_only or None})


def storage_fields(spec: ClusterSpec) -> dict:
    """What every container of the spec's pods gets to reach the data between steps:
    the volumes' mounts, the working directory on a volume, Secrets as environment."""
    working = spec.working_volume
    return _compact(
        {
            "volumeMounts": [_mount(volume) for volume in spec.volumes],
            "workingDir": working.mount_path if working is not None else None,
            "envFrom": [{"secretRef": {"name": name}} for name in spec.env_from_secrets],
        }
    )


def pod_volumes(spec: ClusterSpec) -> list[dict]:
    return [_volume(volume) for volume in spec.volumes]


def _pod_spec(spec: ClusterSpec, containers: list[dict], service_account: Optional[str] = None, **extra) -> dict:
    """Pod fields every pod of a cluster shares: volumes, placement, identity."""
    return _compact(
        {
            "containers": containers,
            "volumes": pod_volumes(spec),
            "nodeSelector": dict(spec.node_selector),
            "tolerations": [dict(toleration) for toleration in spec.tolerations],
            "serviceAccountName": service_account or spec.service_account,
            **extra,
        }
    )


def _container(spec: ClusterSpec, name: str, image: str, args: list[str], **extra) -> dict:
    return _compact(
        {
            "name": name,
            "image": image,
            "args": args,
            "env": _env(spec.env),
            **storage_fields(spec),
            **extra,
        }
    )


def _worker_resources(spec: ClusterSpec) -> dict:
    amounts = {}
    if spec.memory_limit != "auto":
        amounts["memory"] = memory_quantity(spec.memory_limit)
    if spec.cpu is not None:
        amounts["cpu"] = spec.cpu
    if spec.gpus_per_worker:
        amounts[GPU_RESOURCE] = str(spec.gpus_per_worker)
    return {"requests": dict(amounts), "limits": dict(amounts)} if amounts else {}


def _worker_args(spec: ClusterSpec) -> list[str]:
    command = ["dask-cuda-worker"] if spec.gpus_per_worker else ["dask", "worker"]
    args = command + [
        "--name",
        "$(DASK_WORKER_NAME)",
        "--dashboard",
        "--dashboard-address",
        f":{WORKER_DASHBOARD_PORT}",
        "--nthreads",
        str(spec.threads_per_worker),
    ]
    if spec.memory_limit != "auto":
        args += ["--memory-limit", spec.memory_limit]
    if spec.gpus_per_worker and spec.rmm_pool_size:
        args += ["--rmm-pool-size", spec.rmm_pool_size]
    return args


def _health_probe(**timing) -> dict:
    return {"httpGet": {"port": "http-dashboard", "path": "/health"}, **timing}


def _scheduler(spec: ClusterSpec, name: str, image: str) -> dict:
    container = _container(
        spec,
        "scheduler",
        image,
        ["dask", "scheduler", "--host", "0.0.0.0"],
        ports=[
            {"name": "tcp-comm", "containerPort": SCHEDULER_PORT, "protocol": "TCP"},
            {"name": "http-dashboard", "containerPort": DASHBOARD_PORT, "protocol": "TCP"},
        ],
        readinessProbe=_health_probe(initialDelaySeconds=0, periodSeconds=1, timeoutSeconds=300),
        livenessProbe=_health_probe(initialDelaySeconds=15, periodSeconds=20),
    )
    service = {
        "type": spec.scheduler_service_type,
        "selector": {"dask.org/cluster-name": name, "dask.org/component": "scheduler"},
        "ports": [
            {"name": "tcp-comm", "protocol": "TCP", "port": SCHEDULER_PORT, "targetPort": "tcp-comm"},
            {"name": "http-dashboard", "protocol": "TCP", "port": DASHBOARD_PORT, "targetPort": "http-dashboard"},
        ],
    }
    return {"spec": _pod_spec(spec, [container]), "service": service}


def _worker(spec: ClusterSpec, image: str) -> dict:
    container = _container(
        spec,
        "worker",
        image,
        _worker_args(spec),
        resources=_worker_resources(spec),
        ports=[{"name": "http-dashboard", "containerPort": WORKER_DASHBOARD_PORT, "protocol": "TCP"}],
    )
    return {"replicas": spec.initial_workers, "spec": _pod_spec(spec, [container])}


def dask_cluster_spec(spec: ClusterSpec, name: str) -> dict:
    """The ``.spec`` of a DaskCluster named ``name`` (also a DaskJob's cluster)."""
    image = spec.image or default_image(gpu=bool(spec.gpus_per_worker))
    return _compact(
        {
            "idleTimeout": spec.idle_timeout,
            "scheduler": _scheduler(spec, name, image),
            "worker": _worker(spec, image),
        }
    )


def _metadata(name: str, namespace: Optional[str], labels: Optional[dict] = None) -> dict:
    return _compact({"name": name, "namespace": namespace, "labels": dict(labels or {})})


def dask_cluster(spec: ClusterSpec, name: str, namespace: Optional[str] = None) -> dict:
    """A complete DaskCluster resource."""
    return {
        "apiVersion": API_VERSION,
        "kind": "DaskCluster",
        "metadata": _metadata(name, namespace),
        "spec": dask_cluster_spec(spec, name),
    }


def dask_autoscaler(name: str, minimum: int, maximum: int, namespace: Optional[str] = None) -> dict:
    """A DaskAutoscaler for cluster ``name`` (the operator scales between the bounds)."""
    labels = {"dask.org/cluster-name": name, "dask.org/component": "autoscaler"}
    return {
        "apiVersion": API_VERSION,
        "kind": "DaskAutoscaler",
        "metadata": _metadata(name, namespace, labels),
        "spec": {"cluster": name, "minimum": minimum, "maximum": maximum},
    }


def _merged_env(spec: ClusterSpec, env: Any) -> list[dict]:
    """ClusterSpec env, then the runner's own (a dict or a list of EnvVar dicts);
    the runner's value wins for a name given twice."""
    merged = {item["name"]: item for item in _env(spec.env)}
    extra = _env(env) if isinstance(env, dict) else list(env or [])
    merged.update({item["name"]: dict(item) for item in extra})
    return list(merged.values())


def dask_job(
    spec: ClusterSpec,
    name: str,
    container: dict,
    namespace: Optional[str] = None,
    service_account: Optional[str] = None,
    labels: Optional[dict] = None,
) -> dict:
    """A DaskJob: a runner pod (``container``) plus a cluster of ``spec``'s shape.

    The operator names the job's cluster after the job, so the scheduler Service
    selects cluster ``name``. The runner never restarts: a crashing runner must
    fail the job rather than loop forever.
    """
    runner = dict(container)
    storage = storage_fields(spec)
    runner.update(
        storage,
        name="job",
        image=container.get("image") or spec.image or default_image(gpu=bool(spec.gpus_per_worker)),
        env=_merged_env(spec, container.get("env")),
        volumeMounts=list(container.get("volumeMounts", [])) + storage.get("volumeMounts", []),
    )
    return {
        "apiVersion": API_VERSION,
        "kind": "DaskJob",
        "metadata": _metadata(name, namespace, labels),
        "spec": {
            "job": {"spec": _pod_spec(spec, [_compact(runner)], service_account, restartPolicy="Never")},
            "cluster": {"spec": dask_cluster_spec(spec, name)},
        },
    }


def _rules(rules: Iterable[tuple]) -> list[dict]:
    return [
        {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)} for group, resources, verbs in rules
    ]


def rbac(namespace: str, service_account: str) -> list[dict]:
    """ServiceAccount, Role and RoleBinding for workflows that create DaskJobs."""
    metadata = {"name": service_account, "namespace": namespace}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": dict(metadata)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": dict(metadata),
            "rules": _rules(WORKFLOW_RULES),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": dict(metadata),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": service_account},
            "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
        },
    ]
