"""argodasf-jupyter: Dask clusters from notebook cells, promoted to Argo DaskJob steps.

Loading the IPython extension stays light: heavy libraries (hera, dask_kubernetes,
kr8s) are imported on first use only.
"""

from ._version import __version__


def load_ipython_extension(ipython):
    from .magics import DasfMagics
    from .workflow_magics import WorkflowMagics

    ipython.register_magics(DasfMagics(ipython))
    ipython.register_magics(WorkflowMagics(ipython))


def unload_ipython_extension(ipython):
    from .session import current_session

    current_session().close_all(include_kept=False)


def _jupyter_server_extension_points():
    return [{"module": "argodasf_jupyter.server"}]


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "argodasf-jupyter"}]


__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension"]
