"""The IPython layer for clusters: parse the magic line and cell, call the session,
display the result. User errors become one-line UsageErrors (no traceback)."""

from __future__ import annotations

import argparse
import functools
import shlex

from IPython.core import magic_arguments
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.display import display

from .cell_flags import check_both, split_line
from .cluster_keys import option_help
from .errors import ArgodasfError

FLAG_KEYS = {
    "backend": "backend",
    "workers": "workers",
    "threads": "threads_per_worker",
    "memory": "memory_limit",
    "image": "image",
    "gpu": "gpu",
    "namespace": "namespace",
    "service_type": "scheduler_service_type",
}


def one_line_errors(method):
    """Turn ArgodasfError into IPython's UsageError: one line, no traceback."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except ArgodasfError as error:
            raise UsageError(str(error)) from None

    return wrapper


def parse_line(magic, line: str):
    """Parsed arguments, or None after printing the help when -h/--help was given."""
    try:
        asks_help = any(word in ("-h", "--help") for word in shlex.split(line))
    except ValueError:
        asks_help = False
    if asks_help:
        print(magic.__doc__)
        return None
    return split_line(magic, line)


def values_from(args, cell: str | None) -> dict:
    """The cell's YAML body with the magic-line flags laid over it."""
    from .spec import load_yaml_mapping, parse_adapt_flag

    check_both(args)
    values = load_yaml_mapping(cell or "", "the %%dasf_cluster cell body")
    if args.name:
        values["name"] = args.name
    for flag, key in FLAG_KEYS.items():
        given = getattr(args, flag)
        if given is not None:
            values[key] = given
    if args.adapt is not None:
        values["adapt"] = parse_adapt_flag(args.adapt)
        values.pop("workers", None)
    elif args.workers is not None:
        values.pop("adapt", None)
    if args.keep:
        values["keep"] = True
    if args.connect:
        values["connect"] = True
    return values


@magics_class
class DasfMagics(Magics):
    @property
    def session(self):
        from .session import current_session

        return current_session()

    @magic_arguments.magic_arguments()
    @magic_arguments.kwds(epilog="cell body keys (YAML; flags override them):\n" + option_help(),
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    @magic_arguments.argument("name", nargs="?", help="cluster name (default from config: 'dasf')")
    @magic_arguments.argument("--backend", choices=["auto", "local", "kubernetes"], help="where the cluster runs")
    @magic_arguments.argument("--workers", type=int, help="fixed number of workers")
    @magic_arguments.argument("--adapt", metavar="MIN:MAX", help="adaptive scaling range, e.g. 1:4")
    @magic_arguments.argument("--threads", type=int, help="threads per worker")
    @magic_arguments.argument("--memory", help="memory per worker, e.g. 4GiB")
    @magic_arguments.argument("--image", help="container image (kubernetes and promoted steps)")
    @magic_arguments.argument("--gpu", type=int, nargs="?", const=1, help="GPUs per worker (bare flag: 1)")
    @magic_arguments.argument("--namespace", help="Kubernetes namespace")
    @magic_arguments.argument("--service-type", choices=["ClusterIP", "NodePort", "LoadBalancer"],
                              help="scheduler Service type (kubernetes)")
    @magic_arguments.argument("--keep", action="store_true", help="keep the cluster after the kernel exits")
    @magic_arguments.argument("--connect", action="store_true", help="attach to an existing cluster NAME without owning it")
    @magic_arguments.argument("--as", dest="prefix", metavar="PREFIX",
                              help="set PREFIX_cluster, PREFIX_client, PREFIX_executor instead of the default names")
    @magic_arguments.argument("--ui", action="store_true", help="show a form that creates the cluster")
    @magic_arguments.argument("-h", "--help", action="store_true", help="show this help")
    @line_cell_magic
    @no_var_expand
    @one_line_errors
    def dasf_cluster(self, line, cell=None):
        """Create (or reuse, or reshape) a Dask cluster and its DASF executor."""
        args = parse_line(self.dasf_cluster, line)
        if args is None:
            return None
        from .session import names_for

        names_for(args.prefix)  # a bad --as is refused before anything is created
        values = values_from(args, cell)
        if args.ui:
            return self._show_form(values, args.prefix)
        return self._create(values, args.prefix)

    def _create(self, values: dict, prefix: str | None):
        from .session import bind_names
        from .widgets import ClusterWidget, Phase

        handle = display(Phase("starting cluster..."), display_id=True)

        def progress(phase: str) -> None:
            handle.update(Phase(phase))

        try:
            managed, action = self.session.create_from(values, progress=progress)
        except BaseException:
            handle.update(Phase(""))
            raise
        bind_names(self.shell.user_ns, managed, prefix)
        handle.update(ClusterWidget(self.session, managed, action))
        return None

    def _show_form(self, values: dict, prefix: str | None):
        from . import cluster_form
        from .session import bind_names

        form = cluster_form(**values)
        form.on_created = lambda managed: bind_names(self.shell.user_ns, managed, prefix)
        display(form)

    @line_magic
    @no_var_expand
    def dasf_clusters(self, line=""):
        """List the clusters of this kernel."""
        from .widgets import ClusterTable

        return ClusterTable(list(self.session.clusters.values()))

    @magic_arguments.magic_arguments()
    @magic_arguments.argument("names", nargs="*", help="clusters to close")
    @magic_arguments.argument("--all", action="store_true", help="close every cluster of this kernel")
    @magic_arguments.argument("-h", "--help", action="store_true", help="show this help")
    @line_magic
    @no_var_expand
    @one_line_errors
    def dasf_close(self, line=""):
        """Close clusters by name, or all of them."""
        args = parse_line(self.dasf_close, line)
        if args is None:
            return None
        if not args.all and not args.names:
            raise ArgodasfError("name the cluster to close (%dasf_close NAME), or use %dasf_close --all")
        names = list(self.session.clusters) if args.all else args.names
        for name in names:
            self.session.get(name)  # every name is checked before anything closes
        for name in names:
            self.session.close(name)
        print(f"closed: {', '.join(names) or 'nothing to close'}")

    @magic_arguments.magic_arguments()
    @magic_arguments.argument("--namespace", help="Kubernetes namespace to check (default: the kubeconfig's)")
    @magic_arguments.argument("-h", "--help", action="store_true", help="show this help")
    @line_magic
    @no_var_expand
    @one_line_errors
    def dasf_doctor(self, line=""):
        """Check Kubernetes credentials, the Dask CRDs and operator, permissions and the Argo Server."""
        from .doctor import run_checks
        from .widgets import CheckList

        args = parse_line(self.dasf_doctor, line)
        if args is None:
            return None
        checks = run_checks(namespace=args.namespace)
        current = self.session.current
        if current is not None and current.backend == "kubernetes":  # what its image holds
            from .preflight import as_check, cluster_image

            checks.append(as_check(cluster_image(current.spec, namespace=args.namespace)))
        return CheckList(checks)
