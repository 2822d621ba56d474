"""Preflight checks: can this kernel run Dask clusters and workflows here?

Each check says what it found and, when it fails, how to fix it. Kubernetes is
asked through kr8s, permissions through SelfSubjectAccessReview (what the API
server itself would decide), the Argo Server through its version endpoint. No
credential ever appears in a result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import html
from dataclasses import dataclass
from typing import Optional

from .errors import ArgodasfError
from .manifests import DASK_GROUP

DASK_RESOURCES = ("daskclusters", "daskworkergroups", "daskjobs", "daskautoscalers")
OPERATOR_SELECTOR = "app.kubernetes.io/name=dask-kubernetes-operator"
OPERATOR_INSTALL = (
    "helm install dask-kubernetes-operator dask/dask-kubernetes-operator -n dask-operator --create-namespace"
)
CHECK_ROUNDS = 8  # sequential request rounds of the Kubernetes checks

# (API group, resource, verbs, what needs them)
PERMISSIONS = (
    (DASK_GROUP, "daskclusters", ("create", "get", "list", "watch", "patch", "delete"), "create and close clusters"),
    (DASK_GROUP, "daskworkergroups", ("get", "list", "patch"), "scale clusters"),
    (DASK_GROUP, "daskautoscalers", ("create", "get", "patch", "delete"), "adapt clusters"),
    (DASK_GROUP, "daskjobs", ("create", "get", "list", "watch", "delete"), "run promoted steps as DaskJobs"),
    ("", "pods", ("get", "list", "watch"), "follow scheduler and worker pods"),
    ("", "pods/log", ("get",), "read cluster logs"),
    ("", "services", ("get", "list"), "find the scheduler"),
    # kr8s (KubeCluster) opens a port-forward as a WebSocket GET, authorized as "get";
    # kubectl port-forward POSTs, authorized as "create"
    ("", "pods/portforward", ("get", "create"), "reach a ClusterIP scheduler from outside the cluster"),
)


@dataclass(frozen=True)
class Check:
    """One finding. ``ok`` is None when it could not be decided."""

    name: str
    ok: Optional[bool]
    detail: str
    fix: str = ""


def run_checks(namespace: Optional[str] = None, argo: Optional[bool] = None) -> list[Check]:
    """Run every check; Kubernetes checks stop at the first one the rest depend on.

    ``argo``: check the Argo Server (default: when one is configured).
    """
    if namespace is not None:
        from .spec import check_name

        try:
            check_name(namespace, "namespace")
        except ValueError as error:
            raise ArgodasfError(str(error)) from None
    checks = _run(_kubernetes_checks(namespace))
    server = argo_server()
    if argo or (argo is None and server):
        checks.append(check_argo(server))
    return checks


def _run(coroutine):
    """Run a coroutine on a fresh loop of its own thread (a notebook's loop is busy),
    bounded as a few rounds of requests."""
    from .kube_api import request_timeout

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        try:
            return pool.submit(asyncio.run, asyncio.wait_for(coroutine, CHECK_ROUNDS * request_timeout())).result()
        except (TimeoutError, asyncio.TimeoutError):
            return [
                Check(
                    "Kubernetes API",
                    None,
                    f"the API server did not answer all checks within {CHECK_ROUNDS * request_timeout():g} s",
                    "check the server; raise argodasf.kubernetes.request-timeout",
                )
            ]


# -- Kubernetes ------------------------------------------------------------------------
async def _kubernetes_checks(namespace: Optional[str]) -> list[Check]:
    from .kube_api import bounded_api

    checks = []
    try:
        api = await bounded_api()
        version = await api.version()
    except ValueError as error:
        if "valid credentials" not in str(error):
            return [_unanswered(error)]
        return [
            Check(
                "Kubernetes credentials",
                False,
                "no kubeconfig (KUBECONFIG or ~/.kube/config) and no in-cluster service account",
                "set KUBECONFIG or create ~/.kube/config for your cluster, or use backend: local",
            )
        ]
    except Exception as error:
        return [_unanswered(error)]
    namespace = namespace or api.namespace
    context = getattr(api.auth, "active_context", None)
    where = f"context '{context}'" if context else "in-cluster service account"
    checks.append(
        Check(
            "Kubernetes credentials",
            True,
            f"{where}, server {api.auth.server}, Kubernetes {version.get('gitVersion', '?')}",
        )
    )
    checks.append(await _check_namespace(namespace))
    crds = await _check_crds(api)
    checks.append(crds)
    if crds.ok:
        checks.append(await _check_operator(namespace))
    checks += await asyncio.gather(*(_check_permission(api, namespace, *entry) for entry in PERMISSIONS))
    return checks


def _unanswered(error) -> Check:
    return Check(
        "Kubernetes credentials",
        False,
        f"credentials found but the API server did not answer ({_reason(error)})",
        "check the server address and your network; refresh an expired token",
    )


def _status(error) -> Optional[int]:
    return getattr(getattr(error, "response", None), "status_code", None)


def _json_object(response) -> dict:
    """A JSON object answer, or {} for anything else (a proxy's page, a list)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _listed(value) -> list:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _reason(error) -> str:
    """A short cause for an error; never a response body (it may echo credentials)."""
    import httpx

    from .kube_api import request_timeout

    if isinstance(error, (httpx.TimeoutException, asyncio.TimeoutError)):
        return f"no answer within {request_timeout():g} s"
    status = _status(error)
    return f"HTTP {status}" if status else type(error).__name__


async def _check_namespace(namespace: str) -> Check:
    import kr8s
    from kr8s.asyncio.objects import Namespace

    name = "namespace"
    try:
        await Namespace.get(namespace)
    except kr8s.NotFoundError:
        return Check(
            name,
            False,
            f"namespace '{namespace}' does not exist",
            f"kubectl create namespace {namespace}, or set namespace: in the cluster spec",
        )
    except kr8s.ServerError as error:
        if _status(error) == 403:
            return Check(
                name,
                None,
                f"namespace '{namespace}': not allowed to read namespaces; the permission checks below tell more",
            )
        return Check(name, None, f"could not read namespace '{namespace}' ({_reason(error)})")
    return Check(name, True, f"'{namespace}' exists")


async def _check_crds(api) -> Check:
    import kr8s

    name = "Dask operator CRDs"
    try:
        async with api.call_api("GET", version="", base="/apis", url=f"{DASK_GROUP}/v1") as response:
            served = {resource.get("name") for resource in _listed(_json_object(response).get("resources"))}
    except kr8s.ServerError as error:
        if _status(error) != 404:
            return Check(name, None, f"could not list {DASK_GROUP}/v1 ({_reason(error)})")
        served = set()
    missing = [resource for resource in DASK_RESOURCES if resource not in served]
    if missing:
        return Check(
            name,
            False,
            f"not installed: {', '.join(missing)} ({DASK_GROUP}/v1)",
            f"install the Dask operator: {OPERATOR_INSTALL}",
        )
    return Check(name, True, f"{', '.join(DASK_RESOURCES)} served by {DASK_GROUP}/v1")


async def _check_operator(namespace: str) -> Check:
    """The operator answers if its Deployment is ready, or if it has acted on a
    DaskCluster of this namespace (users often may not see other namespaces)."""
    import kr8s
    import kr8s.asyncio

    name = "Dask operator"
    deployments_visible = True
    try:
        deployments = [
            d async for d in kr8s.asyncio.get("deployments", namespace=kr8s.ALL, label_selector=OPERATOR_SELECTOR)
        ]
    except kr8s.ServerError:
        deployments_visible, deployments = False, []
    for deployment in deployments:
        if deployment.raw.get("status", {}).get("readyReplicas", 0) >= 1:
            return Check(name, True, f"Deployment {deployment.namespace}/{deployment.name} is ready")
    with_status = []
    try:
        clusters = [c async for c in kr8s.asyncio.get("daskclusters.kubernetes.dask.org", namespace=namespace)]
        with_status = [c for c in clusters if c.raw.get("status", {}).get("phase")]
    except kr8s.ServerError:
        pass
    if with_status:
        cluster = with_status[-1]
        return Check(
            name, True, f"it has acted on DaskCluster '{cluster.name}' (phase {cluster.raw['status']['phase']})"
        )
    if deployments:
        deployment = deployments[0]
        return Check(
            name,
            False,
            f"Deployment {deployment.namespace}/{deployment.name} has no ready replica",
            f"kubectl logs -n {deployment.namespace} deployment/{deployment.name}",
        )
    if deployments_visible:
        return Check(
            name,
            False,
            f"no operator Deployment ({OPERATOR_SELECTOR}) and no DaskCluster in '{namespace}' acted upon",
            f"install or restart the Dask operator: {OPERATOR_INSTALL}",
        )
    return Check(
        name, None, "not allowed to list Deployments, and no DaskCluster here to tell; it shows when a cluster starts"
    )


async def _check_permission(api, namespace: str, group: str, resource: str, verbs: tuple, purpose: str) -> Check:
    allowed = await asyncio.gather(*(_allowed(api, namespace, group, resource, verb) for verb in verbs))
    qualified = f"{resource}.{group}" if group else resource
    name = f"may use {qualified}"
    missing = [verb for verb, ok in zip(verbs, allowed, strict=True) if ok is False]
    unknown = [verb for verb, ok in zip(verbs, allowed, strict=True) if ok is None]
    if missing:
        return Check(
            name,
            False,
            f"missing {', '.join(missing)} in '{namespace}' (needed to {purpose})",
            f"ask an admin for a Role granting {', '.join(missing)} on {qualified} in namespace '{namespace}'",
        )
    if unknown:
        return Check(name, None, f"could not ask the API server about {', '.join(unknown)}")
    return Check(name, True, f"{', '.join(verbs)} ({purpose})")


async def _allowed(api, namespace: str, group: str, resource: str, verb: str) -> Optional[bool]:
    import json

    import httpx
    import kr8s

    resource, _, subresource = resource.partition("/")
    attributes = {"namespace": namespace, "verb": verb, "group": group, "resource": resource}
    if subresource:
        attributes["subresource"] = subresource
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    try:
        async with api.call_api(
            "POST", version="authorization.k8s.io/v1", url="selfsubjectaccessreviews", content=json.dumps(review)
        ) as response:
            status = _json_object(response).get("status")
            return status.get("allowed") is True if isinstance(status, dict) else None
    except (kr8s.ServerError, httpx.TransportError, ValueError):
        return None  # undecided: the checklist says it could not ask


# -- Argo ------------------------------------------------------------------------------
def argo_server():
    """Where the Argo Server is (the kernel's, the CLI's and the server's one model)."""
    from .argo_settings import argo_target

    return argo_target()


def check_argo(where) -> Check:
    """Ask the server its version through hera's WorkflowsService, as every other call does."""
    from . import argo

    name = "Argo Server"
    if where is None:
        return Check(name, False, "no Argo Server configured", "set ARGO_SERVER=host:port or argodasf.argo.server")
    try:
        version = argo._call("asking its version", "get_version", where).version
    except ArgodasfError as error:
        detail, _, fix = str(error).removeprefix("asking its version: ").partition("; ")
        return Check(name, False, detail, fix or "check ARGO_SERVER and ARGO_BASE_HREF")
    return Check(name, True, f"Argo Workflows {version} at {where.host}")


# -- rendering ---------------------------------------------------------------------------
MARKS = {True: "ok", False: "FAIL", None: "??"}
COLOURS = {True: "#1a7f37", False: "#cf222e", None: "#9a6700"}


def all_ok(checks: list[Check]) -> bool:
    return all(check.ok is not False for check in checks)


def render_text(checks: list[Check]) -> str:
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        lines.append(f"[{MARKS[check.ok]:>4}] {check.name:<{width}}  {check.detail}")
        if check.fix and check.ok is not True:
            lines.append(f"{'':7}{'':<{width}}  fix: {check.fix}")
    return "\n".join(lines)


def render_html(checks: list[Check]) -> str:
    rows = []
    for check in checks:
        fix = f"<br><em>fix:</em> {html.escape(check.fix)}" if check.fix and check.ok is not True else ""
        rows.append(
            f'<tr><td style="color:{COLOURS[check.ok]};font-weight:bold">{MARKS[check.ok]}</td>'
            f"<td>{html.escape(check.name)}</td><td>{html.escape(check.detail)}{fix}</td></tr>"
        )
    return '<table class="argodasf-doctor">' + "".join(rows) + "</table>"


def main(argv: Optional[list[str]] = None) -> int:
    """`argodasf doctor`: print the checklist; exit 1 when a check failed."""
    import argparse

    parser = argparse.ArgumentParser(prog="argodasf doctor", description=main.__doc__)
    parser.add_argument("--namespace", help="Kubernetes namespace to check (default: the kubeconfig's)")
    args = parser.parse_args(argv)
    checks = run_checks(namespace=args.namespace)
    print(render_text(checks))
    return 0 if all_ok(checks) else 1
