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

from .cell_flags import cluster_arguments, split_line, values_from
from .cluster_keys import option_help
from .errors import ArgodasfError


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


@magics_class
class DasfMagics(Magics):
    @property
    def session(self):
        from .session import current_session

        return current_session()

    @magic_arguments.magic_arguments()
    @magic_arguments.kwds(
        epilog="cell body keys (YAML; flags override them):\n" + option_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    @cluster_arguments
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
