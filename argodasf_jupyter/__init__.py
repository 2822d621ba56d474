"""argodasf-jupyter: Dask clusters from notebook cells, promoted to Argo DaskJob steps.

Loading the IPython extension stays light: heavy libraries (hera, dask_kubernetes,
kr8s) are imported on first use only.
"""

from ._version import __version__
from .errors import ArgodasfError


def __getattr__(name):
    if name in ("Session", "current_session"):  # on first use: the session imports dask and pydantic
        from . import session

        return getattr(session, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_ipython_extension(ipython):
    from .magics import DasfMagics
    from .workflow_magics import WorkflowMagics

    ipython.register_magics(DasfMagics(ipython))
    ipython.register_magics(WorkflowMagics(ipython))


def unload_ipython_extension(ipython):
    from .session import current_session

    current_session().close_all(include_kept=False)


def create_cluster(name: str = None, **values):
    """Plain-Python %%dasf_cluster: ``create_cluster("seismic", workers=2, backend="local")``.

    Returns the kernel's ManagedCluster (``.cluster``, ``.client``, ``.executor``).
    """
    from .session import current_session

    managed, _ = current_session().create_from({**values, **({"name": name} if name else {})})
    return managed


def cluster_form(**defaults):
    """Plain-Python %dasf_cluster --ui: a form whose Create button makes the cluster."""
    from .config import settings
    from .session import current_session
    from .spec import parse_spec
    from .widgets import ClusterForm

    return ClusterForm(current_session(), parse_spec(defaults, base=settings().cluster, where="the form's defaults"))


def _jupyter_server_extension_points():
    return [{"module": "argodasf_jupyter.server"}]


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "argodasf-jupyter"}]


__all__ = [
    "ArgodasfError",
    "Session",
    "__version__",
    "cluster_form",
    "create_cluster",
    "current_session",
    "load_ipython_extension",
    "unload_ipython_extension",
]
