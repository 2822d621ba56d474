"""Kubernetes API access through kr8s with a bound on every request.

kr8s sends requests without a timeout unless told otherwise, so an API server that
accepts a connection and never answers would hang the caller for good. Every kr8s
client this package makes is bounded by argodasf.kubernetes.request-timeout.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Awaitable, Callable, TypeVar

from .config import settings
from .errors import ArgodasfError

T = TypeVar("T")
UNANSWERED = (
    "the Kubernetes API server did not answer within {timeout:g} s; check it with argodasf doctor, "
    "or raise argodasf.kubernetes.request-timeout"
)


def request_timeout() -> float:
    """Seconds one Kubernetes API request may take (argodasf.kubernetes.request-timeout)."""
    return float(settings().kubernetes.request_timeout)


async def bounded_api():
    """The kr8s client of the running event loop, with the request timeout set.

    Made before kr8s' own factory would make it (same arguments, so kr8s and
    dask-kubernetes reuse it on this loop), because that factory already talks
    to the server (version check) with no timeout.
    """
    import kr8s.asyncio

    api = kr8s.asyncio.Api(
        bypass_factory=True, url=None, kubeconfig=None, serviceaccount=None, namespace=None, context=None
    )
    api.timeout = request_timeout()
    return await asyncio.wait_for(api, request_timeout())


def run(
    call: Callable[..., Awaitable[T]],
    *args,
    bound: float | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> T:
    """``await call(api, *args)`` on a fresh event loop of its own thread (a notebook's
    loop is busy), or on ``loop``, a long-lived loop running in another thread; the
    whole call bounded by ``bound`` seconds (default: 3 requests)."""

    async def bounded():
        async def with_api():
            return await call(await bounded_api(), *args)

        return await asyncio.wait_for(with_api(), limit)

    limit = bound or 3 * request_timeout()
    try:
        if loop is not None:
            return asyncio.run_coroutine_threadsafe(bounded(), loop).result()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, bounded()).result()
    except (TimeoutError, asyncio.TimeoutError):
        raise ArgodasfError(UNANSWERED.format(timeout=request_timeout())) from None
