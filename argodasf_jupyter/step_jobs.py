"""The Kubernetes objects behind a submitted workflow's DASF steps: the DaskJob of
each attempt (and the DaskAutoscaler of an adaptive step), found by the labels
``argodasf.io/workflow`` and ``argodasf.io/step`` that promotion puts on them."""

from __future__ import annotations

import asyncio
import time
from typing import Iterable, Optional

from .errors import ArgodasfError

LABEL_WORKFLOW = "argodasf.io/workflow"
LABEL_STEP = "argodasf.io/step"
JOBS = "daskjobs.kubernetes.dask.org"
AUTOSCALERS = "daskautoscalers.kubernetes.dask.org"
DELETE_WAIT = 60.0
FAILED_PHASES = ("Failed", "Error")  # the Argo node phases a retry re-runs


async def labelled(api, kind: str, workflow: str, step: Optional[str], namespace: Optional[str]) -> list:
    """The objects of ``kind`` made for ``workflow`` (one step's, when given), oldest first."""
    selector = {LABEL_WORKFLOW: workflow, **({LABEL_STEP: step} if step else {})}
    found = [item async for item in api.get(kind, namespace=namespace, label_selector=selector)]
    return sorted(found, key=lambda item: item.metadata.get("creationTimestamp") or "")


def call(doing: str, function, *args, bound: Optional[float] = None, loop=None):
    """``function(api, *args)`` through kube_api (every request bounded; on ``loop``
    when given); failures as one line that names what was being done."""
    import httpx
    import kr8s

    from . import kube_api

    try:
        return kube_api.run(function, *args, bound=bound, loop=loop)
    except ValueError as error:
        if "valid credentials" not in str(error):
            raise
        raise ArgodasfError(f"no Kubernetes credentials: set KUBECONFIG or run inside the cluster to {doing}") from None
    except kr8s.ServerError as error:
        code = getattr(getattr(error, "response", None), "status_code", "?")
        raise ArgodasfError(
            f"the Kubernetes API refused to {doing} ({code}); the credentials need get/list on pods, "
            "pods/log and daskjobs, get/create on pods/portforward for a dashboard, and delete on "
            "daskjobs and daskautoscalers to retry (argodasf doctor checks them)"
        ) from None
    except httpx.TransportError:
        raise ArgodasfError(f"cannot reach the Kubernetes API server to {doing}; check KUBECONFIG") from None


def clear_for_retry(
    workflow: str, steps: Iterable[str], adaptive: Iterable[str], namespace: Optional[str]
) -> list[str]:
    """Delete the unfinished DaskJobs of ``steps`` and the DaskAutoscalers of the
    ``adaptive`` ones, and wait until they are gone: a retried step creates its
    DaskJob (and autoscaler) again under the same name. Returns what was deleted."""

    async def clear(api):
        doomed = []
        for step in steps:
            doomed += [
                job
                for job in await labelled(api, JOBS, workflow, step, namespace)
                if (job.raw.get("status") or {}).get("jobStatus") != "Successful"
            ]
        for step in adaptive:
            doomed += await labelled(api, AUTOSCALERS, workflow, step, namespace)
        for item in doomed:
            await item.delete(propagation_policy="Foreground")
        deadline = time.monotonic() + DELETE_WAIT
        for item in doomed:
            while await item.exists():
                if time.monotonic() > deadline:
                    raise ArgodasfError(
                        f"{item.kind} {item.name} is still being deleted after {DELETE_WAIT:g} s; "
                        "retry again once it is gone"
                    )
                await asyncio.sleep(0.25)
        return [f"{item.kind.lower()}/{item.name}" for item in doomed]

    return call("clear the failed steps' DaskJobs", clear, bound=DELETE_WAIT + 60)
