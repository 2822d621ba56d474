"""The cluster keys' defaults and meanings, kept free of heavy imports so the
magic's help text can be built when the extension loads (spec.py uses this
table for its fields; pydantic and dask load only when a cell runs)."""

from __future__ import annotations

from typing import Any, NamedTuple

from .limits import MAX_NAME_LENGTH

DEFAULT_WORKERS = 2  # when neither 'workers' nor 'adapt' is given
# a workflow draft's clusters: a DaskJob per DASF step, or one for the whole workflow (shared_cluster.py)
CLUSTER_MODES = ("per-step", "shared")


class Key(NamedTuple):
    default: Any
    help: str


KEYS = {
    "name": Key("dasf", f"cluster name: lowercase letters, digits and '-', at most {MAX_NAME_LENGTH} characters"),
    "backend": Key("auto", "local | kubernetes | auto (kubernetes when credentials are found, else local)"),
    "workers": Key(None, f"fixed number of workers (default {DEFAULT_WORKERS})"),
    "adapt": Key(None, "adaptive range {minimum, maximum}; excludes 'workers'"),
    "threads_per_worker": Key(1, "threads in each worker"),
    "memory_limit": Key("auto", "memory per worker, e.g. 4GiB, or 'auto'"),
    "cpu": Key(None, "Kubernetes CPU request and limit per worker, e.g. '1' or '500m'"),
    "image": Key(None, "container image (default: the dask image of the installed version)"),
    "gpu": Key(False, "false, true (one GPU per worker) or a number of GPUs per worker"),
    "rmm_pool_size": Key(None, "RMM pool per GPU worker, e.g. 24GB"),
    "env": Key({}, "environment variables for scheduler and workers"),
    "namespace": Key(None, "Kubernetes namespace (default: the kubeconfig's)"),
    "volumes": Key(
        [], "volumes mounted on scheduler and workers: [{name, mount_path, claim | source, read_only, working_dir}]"
    ),
    "env_from_secrets": Key(
        [], "Kubernetes Secrets whose keys become environment variables of every pod (e.g. object-store credentials)"
    ),
    "node_selector": Key({}, "Kubernetes node selector for pods"),
    "tolerations": Key([], "Kubernetes tolerations for pods"),
    "service_account": Key(None, "Kubernetes service account for pods"),
    "scheduler_service_type": Key("ClusterIP", "ClusterIP | NodePort | LoadBalancer"),
    "idle_timeout": Key(None, "seconds of idleness before the operator deletes the cluster"),
    "keep": Key(False, "keep the cluster running after the kernel exits (kubernetes)"),
    "connect": Key(False, "attach to an existing cluster of this name without owning it (kubernetes)"),
}


def option_help() -> str:
    """Every cluster key with its meaning and default, for %dasf_cluster?."""
    return "\n".join(f"  {key:<24} {key_info.help} [default: {key_info.default!r}]" for key, key_info in KEYS.items())
