"""The flags of a ``%%dasf_workflow`` line, declared once for the magic and the CLI.

Declared with IPython's magic_arguments (its ``script_args`` pattern), so the magic
gets ``%%dasf_workflow?`` help and the CLI parses a saved notebook's lines the same
way, without the magics layer. Mistakes are one-line ArgodasfErrors.
"""

from __future__ import annotations

import shlex

from IPython.core import magic_arguments
from IPython.core.error import UsageError

from .errors import ArgodasfError, closest

# promotion flag -> ClusterSpec key
OVERRIDE_FLAGS = {"workers": "workers", "threads": "threads_per_worker", "memory": "memory_limit",
                  "cpu": "cpu", "image": "image", "gpu": "gpu"}

_PROMOTION_ARGUMENTS = [
    magic_arguments.argument("name", help="step name: lowercase letters, digits and '-'"),
    magic_arguments.argument("--after", nargs="+", action="extend", default=[], metavar="STEP",
                             help="steps this one runs after"),
    magic_arguments.argument("--inputs", nargs="+", action="extend", default=[], metavar="PATH",
                             help="paths this step reads (adds edges from the steps that output them)"),
    magic_arguments.argument("--outputs", nargs="+", action="extend", default=[], metavar="PATH",
                             help="paths this step writes (a rerun with the same code and parameters skips it)"),
    magic_arguments.argument("--retries", type=int, default=0, help="retries of a failed step"),
    magic_arguments.argument("--timeout", type=int, help="seconds before the step fails (default from config)"),
    magic_arguments.argument("--container", metavar="IMAGE", help="a plain container step: the body is a shell script"),
    magic_arguments.argument("--local-command", metavar="CMD", help="what `run --local` runs for a container step"),
    magic_arguments.argument("--replay", action="store_true",
                             help="also run the generated step script in a fresh process; promote only if it succeeds"),
    magic_arguments.argument("--workers", type=int, help="job workers (default: the current cluster's)"),
    magic_arguments.argument("--adapt", metavar="MIN:MAX", help="job adaptive range"),
    magic_arguments.argument("--threads", type=int, help="threads per worker"),
    magic_arguments.argument("--memory", help="memory per worker, e.g. 4GiB"),
    magic_arguments.argument("--cpu", help="CPU per worker, e.g. 2 or 500m"),
    magic_arguments.argument("--image", help="image of the job's runner, scheduler and workers"),
    magic_arguments.argument("--gpu", type=int, nargs="?", const=1, help="GPUs per worker (bare flag: 1)"),
    magic_arguments.argument("-h", "--help", action="store_true", help="show this help"),
]


def promotion_arguments(function):
    """Declare the ``%%dasf_workflow NAME`` flags on ``function``."""
    for argument in reversed(_PROMOTION_ARGUMENTS):
        function = argument(function)
    return function


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
    return dict(container=args.container, local_command=args.local_command, after=args.after, inputs=args.inputs,
                outputs=args.outputs, retries=args.retries, timeout=args.timeout,
                overrides=None if args.container else cluster_overrides(args))
