"""Dask clusters on Kubernetes, made by the Dask operator.

The cluster object is dask-kubernetes' own ``KubeCluster``, given the DaskCluster
that ``manifests.dask_cluster`` builds from the ClusterSpec. This module adds what
a notebook needs around it: startup phases reported to the widget instead of the
console, a bound on every wait, one-line errors, and no custom resource left
behind by a call that failed.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import contextmanager, suppress
from typing import Callable, Optional
from urllib.parse import urlparse

import dask.config

from .. import kube_api, manifests
from ..config import settings
from ..errors import ArgodasfError
from ..spec import ClusterSpec
from . import kubernetes_available

# Seconds for the scheduler and the first workers to come up (image pulls included).
# Seconds for the operator to act on a new DaskCluster; dask-kubernetes' own setting.
RESOURCE_TIMEOUT_KEY = "kubernetes.resource-timeout"
POLL_INTERVAL = 0.1
DELETE_SETTLE = 2.0  # seconds a deleted DaskCluster must stay absent
OPERATOR_INSTALL = (
    "helm install dask-kubernetes-operator dask/dask-kubernetes-operator -n dask-operator --create-namespace"
)

# KubeCluster's startup log lines -> the phases the widget shows
PHASES = {
    "Creating DaskCluster object": "creating",
    "Waiting for controller to action cluster": "waiting for the Dask operator",
    "Connecting to existing cluster": "connecting",
    "Waiting for scheduler pod": "scheduler pending",
    "Connecting to scheduler": "connecting to the scheduler",
    "Ready": "scheduler ready",
}

# What to look at when a phase does not finish
HINTS = {
    "creating": "check that the Kubernetes API server answers (argodasf doctor)",
    "waiting for the Dask operator": "is the Dask operator running? (argodasf doctor; kubectl get pods -A -l app.kubernetes.io/name=dask-kubernetes-operator)",
    "connecting": "check the scheduler pod: kubectl get pods -n {namespace} -l dask.org/cluster-name={name},dask.org/component=scheduler",
    "scheduler pending": "check the scheduler pod (image pull, node resources): kubectl describe pods -n {namespace} -l dask.org/cluster-name={name},dask.org/component=scheduler",
    "connecting to the scheduler": "check that this machine can reach service {name}-scheduler in {namespace} (service type, firewall, port-forward permission)",
    "workers": "check the worker pods (image pull, resources, quota): kubectl describe pods -n {namespace} -l dask.org/cluster-name={name},dask.org/component=worker",
}

VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


class StartupTimeout(ArgodasfError):
    """The cluster did not become ready in time."""


class _Phases:
    """Forwards phases to ``progress`` once each, remembering the latest."""

    def __init__(self, progress: Callable[[str], None]):
        self.progress = progress
        self.current: Optional[str] = None

    def __call__(self, phase: str) -> None:
        if phase != self.current:
            self.current = phase
            self.progress(phase)


def startup_timeout() -> int:
    """Seconds a cluster may take to become ready (argodasf.kubernetes.startup-timeout)."""
    return settings().kubernetes.startup_timeout


def _kube_cluster_class():
    from dask_kubernetes.operator import KubeCluster

    class ReportingKubeCluster(KubeCluster):
        """KubeCluster that reports its phases and bounds its startup."""

        def __init__(self, *, phases: _Phases, startup_timeout: float, **kwargs):
            self._phases = phases
            self._startup_timeout = startup_timeout
            try:
                super().__init__(**kwargs)
            except BaseException:
                self._abandon()
                raise

        def _log(self, log):
            phase = PHASES.get(log.split(",")[0])
            if phase:
                self._phases(phase)
            super()._log(log)

        async def _start(self):
            # upstream waits for the scheduler pod, service and comm without a bound,
            # and sends requests without a timeout unless its client has one
            async def bounded_start():
                await kube_api.bounded_api()
                await super(ReportingKubeCluster, self)._start()

            await asyncio.wait_for(bounded_start(), self._startup_timeout)

        async def _wait_for_controller(self):
            # The operator has acted once it sets any phase. Upstream waits for
            # "Running", which a race in the operator (dask/dask-kubernetes#968, fixed
            # after 2026.3.0) can leave at "Pending" for good. The scheduler pod,
            # service and comm are awaited next in any case.
            deadline = time.monotonic() + self._resource_timeout
            cluster = await _dask_cluster_class(asynchronous=True)(self.name, namespace=self.namespace)
            while time.monotonic() < deadline:
                await cluster.refresh()
                if cluster.raw.get("status", {}).get("phase"):
                    return
                await asyncio.sleep(0.25)
            raise TimeoutError(f"DaskCluster {self.name} not acted upon after {self._resource_timeout} s")

        def _abandon(self):
            """After a failed start: stop our threads and forget the instance, so
            that nothing is retried at interpreter exit."""
            type(self)._instances.discard(self)
            with suppress(Exception):
                self.shutdown_on_close = False
                self.close(timeout=10)
            with suppress(Exception):
                self._loop_runner.stop()

    return ReportingKubeCluster


def _dask_cluster_class(asynchronous: bool = False):
    from kr8s.objects import new_class

    return new_class(kind="DaskCluster", version=manifests.API_VERSION, namespaced=True, asyncio=asynchronous)


def _resource_timeout() -> float:
    return float(dask.config.get(RESOURCE_TIMEOUT_KEY, default=60))


NO_CREDENTIALS = (
    "no usable Kubernetes credentials (kubeconfig or in-cluster service account); "
    "check them with argodasf doctor, or use backend: local"
)


def check(spec: ClusterSpec) -> None:
    if not kubernetes_available():
        raise ArgodasfError(
            "no Kubernetes credentials: no kubeconfig (KUBECONFIG or ~/.kube/config) and not running in a pod; "
            "set one up, or use backend: local"
        )


def namespace_of(spec: ClusterSpec) -> str:
    """The spec's namespace, else the kubeconfig's (or the pod's) default one."""
    if spec.namespace:
        return spec.namespace

    async def default_namespace(api):
        return api.namespace

    with _kubernetes_errors(spec.name, "(the kubeconfig's default)", _Phases(_quiet)):
        return kube_api.run(default_namespace)


def _quiet(phase: str) -> None:
    pass


def start(spec: ClusterSpec, progress: Callable[[str], None]) -> object:
    """Create a DaskCluster of ``spec``'s shape; return its KubeCluster once the
    scheduler and the initial workers are up."""
    from dask_kubernetes.operator.kubecluster.kubecluster import CreateMode

    phases = _Phases(progress)
    phases("creating")
    namespace = namespace_of(spec)
    created = False
    try:
        with _kubernetes_errors(spec.name, namespace, phases):
            _refuse_existing(spec, namespace)
            created = True
            cluster = _kube_cluster_class()(
                phases=phases,
                startup_timeout=startup_timeout(),
                custom_cluster_spec=manifests.dask_cluster(spec, spec.name, namespace),
                namespace=namespace,
                create_mode=CreateMode.CREATE_ONLY,
                shutdown_on_close=not spec.keep,
                resource_timeout=_resource_timeout(),
                quiet=True,
            )
            try:
                if spec.adapt is not None:
                    cluster.adapt(minimum=spec.adapt.minimum, maximum=spec.adapt.maximum)
                _wait_for_workers(cluster, spec.initial_workers, phases, spec.name, namespace)
            except BaseException:
                cluster._abandon()  # the DaskCluster itself is deleted below
                raise
    except ArgodasfError as error:
        # a timeout while creating may have cancelled a create the server still stores
        settle = (
            kube_api.request_timeout()
            if isinstance(error, StartupTimeout) and phases.current == "creating"
            else DELETE_SETTLE
        )
        if created and not _delete_cluster(spec.name, namespace, settle):
            raise ArgodasfError(f"{error}; {_left_behind(spec.name, namespace)}") from None
        raise
    except BaseException:
        if created:
            _delete_cluster(spec.name, namespace)
        raise
    return cluster


def _left_behind(name: str, namespace: str) -> str:
    return f"the DaskCluster it created could not be deleted: kubectl delete daskcluster {name} -n {namespace}"


def attach(spec: ClusterSpec, progress: Callable[[str], None]) -> object:
    """Connect to an existing DaskCluster without owning it: closing the returned
    cluster never deletes it."""
    phases = _Phases(progress)
    phases("connecting")
    namespace = namespace_of(spec)
    with _kubernetes_errors(spec.name, namespace, phases):
        if _get_cluster(spec.name, namespace) is None:
            raise ArgodasfError(
                f"no DaskCluster named '{spec.name}' in namespace '{namespace}' to connect to; "
                "check the name and namespace, or drop connect: true to create it"
            )
        cluster = _kube_cluster_class().from_name(
            spec.name,
            phases=phases,
            startup_timeout=startup_timeout(),
            namespace=namespace,
            shutdown_on_close=False,
            resource_timeout=_resource_timeout(),
            quiet=True,
        )
    phases(f"workers {len(cluster.scheduler_info.get('workers', {}))}")
    return cluster


# -- what a shape is -----------------------------------------------------------------
def _pod_shape(pod: dict) -> dict:
    (container, *_) = pod.get("containers") or [{}]
    return {
        "image": container.get("image"),
        "args": container.get("args"),
        "env": container.get("env", []),
        "resources": container.get("resources", {}),
        "mounts": container.get("volumeMounts", []),
        "volumes": pod.get("volumes", []),
        "node_selector": pod.get("nodeSelector", {}),
        "tolerations": pod.get("tolerations", []),
        "service_account": pod.get("serviceAccountName"),
    }


def shape_differences(existing: dict, wanted: dict) -> list[str]:
    """Where two DaskCluster specs differ, ignoring the worker count (which scaling
    changes) and what the API server fills in."""
    differences = []
    for role in ("scheduler", "worker"):
        ours, theirs = _pod_shape(wanted[role]["spec"]), _pod_shape(existing.get(role, {}).get("spec", {}))
        differences += [f"{role} {key}" for key in ours if ours[key] != theirs[key]]
    wanted_type = wanted["scheduler"]["service"]["type"]
    if existing.get("scheduler", {}).get("service", {}).get("type", "ClusterIP") != wanted_type:
        differences.append("scheduler service type")
    return differences


def _refuse_existing(spec: ClusterSpec, namespace: str) -> None:
    existing = _get_cluster(spec.name, namespace)
    if existing is None:
        return
    where = f"a DaskCluster named '{spec.name}' already exists in namespace '{namespace}'"
    differences = shape_differences(existing.raw["spec"], manifests.dask_cluster_spec(spec, spec.name))
    if differences:
        raise ArgodasfError(
            f"{where} with another shape ({', '.join(differences)}); choose another name, "
            f"or delete it: kubectl delete daskcluster {spec.name} -n {namespace}"
        )
    raise ArgodasfError(
        f"{where} with this shape; add connect: true to use it without owning it, or choose another name"
    )


# -- Kubernetes calls ----------------------------------------------------------------
async def _fetch_cluster(api, name: str, namespace: str):
    import kr8s

    # a GET by name: kr8s' get() would retry a missing object for two seconds
    cluster = _dask_cluster_class(asynchronous=True)(name, namespace=namespace, api=api)
    try:
        await cluster.refresh()
    except kr8s.NotFoundError:
        return None
    return cluster


def _get_cluster(name: str, namespace: str):
    """The DaskCluster's object (its ``raw`` dict), or None when there is none."""
    return kube_api.run(_fetch_cluster, name, namespace)


async def _unowned_parts(api, name: str, namespace: str) -> list:
    # The operator creates a cluster's default DaskWorkerGroup (and its autoscaler)
    # before it owns them; a cluster deleted in between leaves them with no owner.
    parts = []
    for kind in ("daskworkergroups.kubernetes.dask.org", "daskautoscalers.kubernetes.dask.org"):
        parts += [
            part
            async for part in api.get(kind, namespace=namespace, label_selector={"dask.org/cluster-name": name})
            if not part.raw["metadata"].get("ownerReferences")
        ]
    return parts


async def _delete_until_gone(api, name: str, namespace: str, settle: float) -> None:
    # A create that a timeout cancelled may still be on its way to the server, and
    # land after a first delete: the cluster counts as gone once absent for a while.
    absent_since = None
    while absent_since is None or time.monotonic() - absent_since < settle:
        cluster = await _fetch_cluster(api, name, namespace)
        leftovers = await _unowned_parts(api, name, namespace)
        if cluster is None and not leftovers:
            absent_since = absent_since or time.monotonic()
        else:
            absent_since = None
            for part in ([cluster] if cluster is not None else []) + leftovers:
                if not part.raw["metadata"].get("deletionTimestamp"):
                    await part.delete()
        await asyncio.sleep(POLL_INTERVAL)


def _delete_cluster(name: str, namespace: str, settle: float = DELETE_SETTLE) -> bool:
    """Remove a DaskCluster this call created (its pods and services follow through
    owner references); False when that could not be done."""
    try:
        kube_api.run(_delete_until_gone, name, namespace, settle, bound=settle + 6 * kube_api.request_timeout())
    except Exception:
        return False
    return True


def _wait_for_workers(cluster, wanted: int, phases: _Phases, name: str, namespace: str) -> None:
    deadline = time.monotonic() + startup_timeout()
    while True:
        count = len(cluster.scheduler_info.get("workers", {}))
        phases(f"workers {count}/{wanted}")
        if count >= wanted:
            return
        if time.monotonic() > deadline:
            raise ArgodasfError(
                f"cluster '{name}' had {count} of {wanted} workers after {startup_timeout()} s; "
                + HINTS["workers"].format(name=name, namespace=namespace)
            )
        time.sleep(POLL_INTERVAL)


def _request_target(response) -> tuple[str, str]:
    """(verb, resource) of a failed request, e.g. ('create', 'daskclusters.kubernetes.dask.org')."""
    request = response.request
    parts = [part for part in urlparse(str(request.url)).path.split("/") if part]
    if parts[:1] == ["api"]:
        group, rest = "", parts[2:]
    else:
        group, rest = (parts[1] if len(parts) > 1 else ""), parts[3:]
    if rest[:1] == ["namespaces"] and len(rest) > 2:
        rest = rest[2:]
    resource = rest[0] if rest else urlparse(str(request.url)).path
    if len(rest) > 2:  # a subresource such as pods/log or daskclusters/scale
        resource = f"{resource}/{rest[2]}"
    verb = VERBS.get(request.method)
    if verb is None:
        verb = "watch" if "watch" in request.url.params else ("list" if len(rest) == 1 else "get")
    return verb, f"{resource}.{group}" if group else resource


def describe_api_error(error, name: str, namespace: str) -> str:
    """One line for an API error; never the server's response body."""
    response = getattr(error, "response", None)
    code = getattr(response, "status_code", None)
    if response is None:
        return f"Kubernetes API error on cluster '{name}': {type(error).__name__}"
    verb, resource = _request_target(response)
    if code == 401:
        return "the Kubernetes API server refused the credentials (401); refresh your kubeconfig or token"
    if code == 403:
        return (
            f"permission denied: you may not {verb} {resource} in namespace '{namespace}'; "
            f"ask an admin for a Role that grants it (argodasf doctor lists what is missing)"
        )
    if code == 404 and resource.endswith(manifests.DASK_GROUP):
        return (
            f"the Dask operator's custom resources are not installed ({resource} not found); "
            f"install the operator: {OPERATOR_INSTALL}"
        )
    return f"Kubernetes API error {code} on {verb} {resource} for cluster '{name}' in namespace '{namespace}'"


@contextmanager
def _kubernetes_errors(name: str, namespace: str, phases: _Phases):
    """Turn Kubernetes and startup failures into one-line ArgodasfErrors."""
    import httpx
    import kr8s

    try:
        yield
    except ArgodasfError:
        raise
    except ValueError as error:
        # kr8s (inside KubeCluster too) says so when no kubeconfig or token is usable
        if "valid credentials" not in str(error):
            raise ArgodasfError(_unexpected(error, name)) from None
        raise ArgodasfError(NO_CREDENTIALS) from None
    except kr8s.ServerError as error:
        raise ArgodasfError(describe_api_error(error, name, namespace)) from None
    except httpx.TimeoutException:
        raise ArgodasfError(kube_api.UNANSWERED.format(timeout=kube_api.request_timeout())) from None
    except (httpx.TransportError, kr8s.APITimeoutError) as error:
        raise ArgodasfError(
            f"cannot reach the Kubernetes API server at {_host(error)}; check your network and kubeconfig"
        ) from None
    except RuntimeError as error:
        # older dask-kubernetes reports a 404 on create this way
        if "Custom Resource Definitions" not in str(error):
            raise ArgodasfError(_unexpected(error, name)) from None
        raise ArgodasfError(
            f"the Dask operator's custom resources are not installed; install the operator: {OPERATOR_INSTALL}"
        ) from None
    except (TimeoutError, asyncio.TimeoutError):
        phase = phases.current or "creating"
        hint = HINTS.get(phase.split(" ")[0] if phase.startswith("workers") else phase, HINTS["creating"])
        if phase == "waiting for the Dask operator":
            waited = f"{_resource_timeout():g} s"
        else:
            waited = f"{startup_timeout()} s"
        raise StartupTimeout(
            f"cluster '{name}' was not ready after {waited}, still '{phase}'; "
            + hint.format(name=name, namespace=namespace)
        ) from None
    except Exception as error:  # a server that answers what no Kubernetes API would
        raise ArgodasfError(_unexpected(error, name)) from None


def _host(error) -> str:
    return getattr(getattr(getattr(error, "request", None), "url", None), "host", None) or "the configured server"


def _unexpected(error: Exception, name: str) -> str:
    # the type only: a message could quote the server's answer, which may echo credentials
    return (
        f"cannot use the kubeconfig or the Kubernetes API server's answer for cluster '{name}' "
        f"({type(error).__name__}); check them with argodasf doctor"
    )
