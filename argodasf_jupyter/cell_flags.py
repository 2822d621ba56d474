"""The flags of ``%%dasf_cluster`` and ``%%dasf_workflow`` lines, declared once for
the magics and the CLI.

Declared with IPython's magic_arguments (its ``script_args`` pattern), so the magics
get ``%%dasf_workflow?`` help and the CLI parses a saved notebook's lines the same
way, without the magics layer. Mistakes are one-line ArgodasfErrors.
"""

from __future__ import annotations

import shlex

from IPython.core import magic_arguments
from IPython.core.error import UsageError

from .errors import ArgodasfError, closest

# %%dasf_cluster flag -> ClusterSpec key
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
# %%dasf_workflow flag -> ClusterSpec key
OVERRIDE_FLAGS = {
    "workers": "workers",
    "threads": "threads_per_worker",
    "memory": "memory_limit",
    "cpu": "cpu",
    "image": "image",
    "gpu": "gpu",
}

_CLUSTER_ARGUMENTS = [
    magic_arguments.argument("name", nargs="?", help="cluster name (default from config: 'dasf')"),
    magic_arguments.argument("--backend", choices=["auto", "local", "kubernetes"], help="where the cluster runs"),
    magic_arguments.argument("--workers", type=int, help="fixed number of workers"),
    magic_arguments.argument("--adapt", metavar="MIN:MAX", help="adaptive scaling range, e.g. 1:4"),
    magic_arguments.argument("--threads", type=int, help="threads per worker"),
    magic_arguments.argument("--memory", help="memory per worker, e.g. 4GiB"),
    magic_arguments.argument("--image", help="container image (kubernetes and promoted steps)"),
    magic_arguments.argument("--gpu", type=int, nargs="?", const=1, help="GPUs per worker (bare flag: 1)"),
    magic_arguments.argument("--namespace", help="Kubernetes namespace"),
    magic_arguments.argument(
        "--service-type", choices=["ClusterIP", "NodePort", "LoadBalancer"], help="scheduler Service type (kubernetes)"
    ),
    magic_arguments.argument("--keep", action="store_true", help="keep the cluster after the kernel exits"),
    magic_arguments.argument(
        "--connect", action="store_true", help="attach to an existing cluster NAME without owning it"
    ),
    magic_arguments.argument(
        "--as",
        dest="prefix",
        metavar="PREFIX",
        help="set PREFIX_cluster, PREFIX_client, PREFIX_executor instead of the default names",
    ),
    magic_arguments.argument("--ui", action="store_true", help="show a form that creates the cluster"),
    magic_arguments.argument("-h", "--help", action="store_true", help="show this help"),
]

_PROMOTION_ARGUMENTS = [
    magic_arguments.argument("name", help="step name: lowercase letters, digits and '-'"),
    magic_arguments.argument(
        "--after", nargs="+", action="extend", default=[], metavar="STEP", help="steps this one runs after"
    ),
    magic_arguments.argument(
        "--inputs",
        nargs="+",
        action="extend",
        default=[],
        metavar="PATH",
        help="paths this step reads (adds edges from the steps that output them)",
    ),
    magic_arguments.argument(
        "--outputs",
        nargs="+",
        action="extend",
        default=[],
        metavar="PATH",
        help="paths this step writes (a rerun with the same code and parameters skips it)",
    ),
    magic_arguments.argument("--retries", type=int, default=0, help="retries of a failed step"),
    magic_arguments.argument("--timeout", type=int, help="seconds before the step fails (default from config)"),
    magic_arguments.argument("--container", metavar="IMAGE", help="a plain container step: the body is a shell script"),
    magic_arguments.argument("--local-command", metavar="CMD", help="what `run --local` runs for a container step"),
    magic_arguments.argument(
        "--report",
        action="store_true",
        help="write a Dask performance report of the cell, <step>-dask-report.html, beside its "
        "first output (or in its working directory)",
    ),
    magic_arguments.argument(
        "--replay",
        action="store_true",
        help="also run the generated step script in a fresh process; promote only if it succeeds",
    ),
    magic_arguments.argument("--workers", type=int, help="job workers (default: the current cluster's)"),
    magic_arguments.argument("--adapt", metavar="MIN:MAX", help="job adaptive range"),
    magic_arguments.argument("--threads", type=int, help="threads per worker"),
    magic_arguments.argument("--memory", help="memory per worker, e.g. 4GiB"),
    magic_arguments.argument("--cpu", help="CPU per worker, e.g. 2 or 500m"),
    magic_arguments.argument("--image", help="image of the job's runner, scheduler and workers"),
    magic_arguments.argument("--gpu", type=int, nargs="?", const=1, help="GPUs per worker (bare flag: 1)"),
    magic_arguments.argument("-h", "--help", action="store_true", help="show this help"),
]


def _declare(arguments: list, function):
    for argument in reversed(arguments):
        function = argument(function)
    return function


def cluster_arguments(function):
    """Declare the ``%%dasf_cluster`` flags on ``function``."""
    return _declare(_CLUSTER_ARGUMENTS, function)


def promotion_arguments(function):
    """Declare the ``%%dasf_workflow NAME`` flags on ``function``."""
    return _declare(_PROMOTION_ARGUMENTS, function)


@magic_arguments.magic_arguments()
@cluster_arguments
def cluster_line(line: str) -> None:
    """%%dasf_cluster [NAME] [flags]: the line of a cell that sizes a cluster."""


@magic_arguments.magic_arguments()
@promotion_arguments
def promotion_line(line: str) -> None:
    """%%dasf_workflow NAME [flags]: the line of a cell to promote."""


def with_flag_suggestion(message: str, parser) -> str:
    """Add 'did you mean --workers?' to argparse's 'unrecognized arguments: --wokers'."""
    if not message.startswith("unrecognized arguments:"):
        return message
    unknown = next((word for word in message.split()[2:] if word.startswith("-")), None)
    suggestion = unknown and closest(unknown, parser._option_string_actions)
    return f"{message}; did you mean {suggestion}?" if suggestion else message


def split_line(magic, line: str):
    """The arguments of a magic line, split as a POSIX shell does (quotes removed,
    nothing expanded); a mistake is an ArgodasfError."""
    try:
        words = shlex.split(line)
    except ValueError as error:  # e.g. "No closing quotation"
        raise ArgodasfError(f"the magic line cannot be split ({error}); check its quotes") from None
    try:
        return magic.parser.parse_args(words)
    except UsageError as error:
        raise ArgodasfError(with_flag_suggestion(str(error), magic.parser)) from None


def check_both(args) -> None:
    if args.workers is not None and args.adapt is not None:
        raise ArgodasfError("give either --workers or --adapt, not both")


def values_from(args, cell: str | None) -> dict:
    """The %%dasf_cluster cell's YAML body with the magic-line flags laid over it."""
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


def cluster_overrides(args) -> dict:
    """The ClusterSpec keys that the promotion flags given change (--adapt drops workers)."""
    from .spec import parse_adapt_flag

    check_both(args)
    overrides = {key: getattr(args, flag) for flag, key in OVERRIDE_FLAGS.items() if getattr(args, flag) is not None}
    if args.adapt is not None:
        overrides.update(adapt=parse_adapt_flag(args.adapt), workers=None)
    elif args.workers is not None:
        overrides["adapt"] = None
    return overrides


def step_options(args) -> dict:
    """The keyword arguments of Session.promote that a parsed promotion line gives."""
    check_both(args)
    return dict(
        container=args.container,
        local_command=args.local_command,
        after=args.after,
        inputs=args.inputs,
        outputs=args.outputs,
        retries=args.retries,
        timeout=args.timeout,
        report=args.report,
        overrides=None if args.container else cluster_overrides(args),
    )
