"""The IPython layer for workflows: ``%%dasf_workflow NAME`` promotes a cell,
``%dasf_workflow COMMAND`` acts on the draft and on submitted workflows.

Thin on purpose: it parses, calls the session (Session.promote, the draft), workflow and
argo, and displays.
User errors become one-line UsageErrors.
"""

from __future__ import annotations

import os
import time

from IPython.core import magic_arguments
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.display import display

from .cell_flags import promotion_arguments, step_options
from .cluster_keys import CLUSTER_MODES
from .errors import ArgodasfError
from .magics import one_line_errors, parse_line

COMMANDS = (
    "show",
    "export",
    "remove",
    "clear",
    "run",
    "submit",
    "status",
    "logs",
    "dashboard",
    "list",
    "check",
    "stop",
    "terminate",
    "retry",
    "resubmit",
    "publish",
)


def notebook_path(user_ns: dict) -> str | None:
    """The notebook this kernel runs, as Jupyter tells the kernel (when it does)."""
    return user_ns.get("__session__") or os.environ.get("JPY_SESSION_NAME") or None


def defined_in(shell, name: str) -> str | None:
    """'cell N' for the latest input cell that binds ``name`` at its top level."""
    from .cell_names import bound_names

    history = shell.user_ns.get("In") or []
    for number in range(len(history) - 1, 0, -1):
        try:
            if name in bound_names(history[number]):
                return f"cell {number}"
        except SyntaxError:
            continue
    return None


@magics_class
class WorkflowMagics(Magics):
    """%%dasf_workflow and %dasf_workflow."""

    def __init__(self, shell=None):
        super().__init__(shell)
        self._followed = {}  # workflow name -> the StatusView whose thread polls it

    # -- state -------------------------------------------------------------------------
    @property
    def session(self):
        from .session import current_session

        return current_session()

    @property
    def draft(self):
        """The session's draft, named after this kernel's notebook when Jupyter tells it."""
        self.session.use_notebook(notebook_path(self.shell.user_ns))
        return self.session.draft

    # -- promotion ---------------------------------------------------------------------
    @magic_arguments.magic_arguments()
    @promotion_arguments
    @cell_magic("dasf_workflow")
    @no_var_expand
    @one_line_errors
    def dasf_workflow_cell(self, line, cell):
        """Run the cell; when it succeeds, make it step NAME of the notebook's workflow draft."""
        args = parse_line(self.dasf_workflow_cell, line)
        if args is None:
            return None
        action = "replaced" if args.name in self.draft.steps else "promoted"
        step = self.session.promote(
            args.name,
            cell,
            run=lambda code: self.shell.run_cell(code, store_history=False).success,
            values=self.shell.user_ns,
            where=lambda name: defined_in(self.shell, name),
            replay=args.replay,
            **step_options(args),
        )
        display(self._step_view(step, action))
        self._shared_cluster_note()
        return None

    def _step_view(self, step, action: str):
        from .workflow import to_dict
        from .workflow_widgets import StepView, readable_yaml

        draft = self.draft
        templates = to_dict(draft)["spec"]["templates"]
        template = next(item for item in templates if item["name"] == step.name)
        return StepView(step, draft.dependencies()[step.name], readable_yaml(template), action)

    # -- commands ------------------------------------------------------------------------
    @magic_arguments.magic_arguments()
    @magic_arguments.argument("command", choices=COMMANDS, help="what to do")
    @magic_arguments.argument(
        "targets",
        nargs="*",
        help="export PATH (.yaml or .py) | remove STEP | status [NAME] | logs NAME [STEP] | "
        "stop, terminate, retry, resubmit [NAME]",
    )
    @magic_arguments.argument("--local", action="store_true", help="run: on this machine (local Dask clusters)")
    @magic_arguments.argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="run/submit: override a workflow parameter"
    )
    @magic_arguments.argument("--watch", action="store_true", help="submit: follow the workflow until it ends")
    @magic_arguments.argument("--no-check", action="store_true", help="submit: skip the image preflight")
    @magic_arguments.argument("--follow", action="store_true", help="logs: stream a step's log until it ends")
    @magic_arguments.argument(
        "--component",
        choices=("runner", "scheduler", "worker"),
        help="logs: which pods of a DASF step (default: runner, the cell's output)",
    )
    @magic_arguments.argument(
        "--from-failed",
        action="store_true",
        help="resubmit: submit the current draft; steps whose outputs are complete skip",
    )
    @magic_arguments.argument("--schedule", metavar="CRON", help="publish: a CronWorkflow on this schedule")
    @magic_arguments.argument("--timezone", metavar="TZ", help="publish --schedule: an IANA time zone")
    @magic_arguments.argument("--template", action="store_true", help="publish: a WorkflowTemplate")
    @magic_arguments.argument(
        "--cluster",
        choices=CLUSTER_MODES,
        help="save in the draft: a DaskJob per DASF step, or one Dask cluster for the workflow",
    )
    @magic_arguments.argument("-h", "--help", action="store_true", help="show this help")
    @line_magic("dasf_workflow")
    @no_var_expand
    @one_line_errors
    def dasf_workflow_line(self, line=""):
        """Act on the workflow draft (show, export, remove, clear, run --local) or on
        Argo (submit, status, logs, list)."""
        args = parse_line(self.dasf_workflow_line, line)
        if args is None:
            return None
        if args.cluster:
            self.draft.set_cluster(args.cluster)
        result = getattr(self, f"_{args.command}")(args)
        if args.command in ("show", "export", "submit"):
            self._shared_cluster_note()
        return result

    def _shared_cluster_note(self) -> None:
        from .shared_cluster import describe

        note = describe(self.draft)
        if note:
            print(note)

    def _arity(self, args, least: int, most: int, usage: str) -> list[str]:
        if not least <= len(args.targets) <= most:
            raise ArgodasfError(f"usage: %dasf_workflow {usage}")
        return args.targets

    def _show(self, args):
        from .workflow import to_dict
        from .workflow_widgets import DraftView, readable_yaml

        self._arity(args, 0, 0, "show")
        draft = self.draft
        return DraftView(draft, readable_yaml(to_dict(draft)))

    def _export(self, args):
        from .workflow import export

        (path,) = self._arity(args, 1, 1, "export PATH (.yaml or .py)")
        draft = self.draft
        print(f"exported workflow '{draft.name}' to {export(draft, path)}")

    def _remove(self, args):
        (name,) = self._arity(args, 1, 1, "remove STEP")
        self.draft.remove(name)
        self.session.share_draft()
        print(f"removed step '{name}'")

    def _clear(self, args):
        self._arity(args, 0, 0, "clear")
        draft = self.draft
        draft.clear()
        self.session.share_draft()
        print(f"cleared workflow draft '{draft.name}'")

    def _run(self, args):
        from .local_run import run_local
        from .workflow import parse_assignments
        from .workflow_widgets import RunView

        self._arity(args, 0, 0, "run --local")
        if not args.local:
            raise ArgodasfError("use `%dasf_workflow run --local` to run here, or `%dasf_workflow submit` for Argo")
        draft = self.draft
        view = RunView(f"local run of workflow '{draft.name}'")
        handle = display(view, display_id=True)
        # in the notebook's working directory, where its own relative paths point
        runs = run_local(draft, parse_assignments(args.param), cwd=os.getcwd(), on_update=view.update)
        handle.update(view)  # front ends without widgets see the final state too
        failed = [run.name for run in runs if run.phase in ("Failed", "Error")]
        if failed:  # fail the cell, so that Run All and nbval stop here
            raise ArgodasfError(f"the local run of workflow '{draft.name}' failed at step {', '.join(failed)}")

    def _check(self, args):
        from . import preflight

        self._arity(args, 0, 0, "check")
        print(preflight.report(preflight.check(self.draft.order())))

    def _submit(self, args):
        from . import argo, preflight
        from .workflow import parse_assignments
        from .workflow_widgets import StatusView

        self._arity(args, 0, 0, "submit [--param NAME=VALUE] [--watch] [--no-check]")
        draft = self.draft  # one reading: what is checked, submitted and watched is the same draft
        if not args.no_check:
            preflight.before_submit(draft.order())
        record = argo.submit(draft, parse_assignments(args.param))
        self.session.submitted.append({key: record[key] for key in ("name", "namespace", "submitted_at")})
        self.session.share_draft()
        print(f"submitted workflow {record['name']} to namespace {record['namespace']}: {record['url']}")
        if args.watch:
            self._watch_to_end(StatusView(name=record["name"], expected=[step.name for step in draft.order()]))

    def _watch_to_end(self, view) -> None:
        """Show ``view`` updating until the workflow ends; a failed run fails the cell
        (so Run All and nbval stop there). Interrupting stops the watch, not the run."""
        from . import argo

        name = view.summary["name"]
        display(view)
        try:
            final = argo.watch(name, view.update, interval=1.0, failure_details=True)
        except KeyboardInterrupt:
            print(f"stopped watching; workflow {name} goes on: %dasf_workflow status {name}")
            return
        argo.require_success(final)

    def _last_submitted(self) -> str:
        if not self.session.submitted:
            raise ArgodasfError("no workflow submitted from this kernel yet; name one: %dasf_workflow status NAME")
        return self.session.submitted[-1]["name"]

    def _status(self, args):
        from . import argo
        from .step_logs import with_failure_details
        from .workflow_widgets import StatusView

        targets = self._arity(args, 0, 1, "status [NAME]")
        name = argo.check_workflow_name(targets[0]) if targets else self._last_submitted()
        following = self._followed.get(name)
        if following is not None and not following.finished:
            return following  # one poller per workflow, however often its status is asked
        view = StatusView(with_failure_details(argo.status(name)))
        if not view.finished:
            self._followed[name] = view.follow()
        return view

    def _logs(self, args):
        from . import argo, step_logs

        targets = self._arity(args, 1, 2, "logs NAME [STEP] [--follow] [--component runner|scheduler|worker]")
        name = argo.check_workflow_name(targets[0])
        step = argo.check_workflow_name(targets[1], "step name") if len(targets) == 2 else None
        known = self.draft.steps.get(step) if step else None
        if step is None or (known is not None and known.kind == "container"):
            if args.follow or args.component:
                raise ArgodasfError("--follow and --component need a DASF step: %dasf_workflow logs NAME STEP")
            print(argo.logs(name, step) or "no log lines yet")
        elif args.follow:
            step_logs.follow(name, step, print, component=args.component or "runner")
        else:
            print(step_logs.read(name, step, component=args.component or "runner"))

    def _dashboard(self, args):
        from . import argo, step_dashboard

        targets = self._arity(args, 2, 2, "dashboard NAME STEP")
        name = argo.check_workflow_name(targets[0])
        step = argo.check_workflow_name(targets[1], "step name")
        dashboard = step_dashboard.open_dashboard(name, step)
        base = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
        print(
            f"the dashboard of step '{step}' (cluster {dashboard.cluster}), while it runs: "
            f"{dashboard.proxy_url(base)} on this Jupyter server, http://127.0.0.1:{dashboard.port}/status here"
        )
        return dashboard

    def _control(self, args, verb: str):
        from . import argo, argo_control

        targets = self._arity(args, 0, 1, f"{verb} [NAME]")
        name = argo.check_workflow_name(targets[0]) if targets else self._last_submitted()
        result = getattr(argo_control, verb)(name)
        print(f"{verb}: workflow {result['name']} is {result['phase']}: {result['ui_url']}")
        return result

    def _stop(self, args):
        self._control(args, "stop")

    def _terminate(self, args):
        self._control(args, "terminate")

    def _retry(self, args):
        self._control(args, "retry")

    def _resubmit(self, args):
        if not args.from_failed:
            result = self._control(args, "resubmit")
            self.session.submitted.append(
                {"name": result["name"], "namespace": result["namespace"], "submitted_at": time.time()}
            )
            return
        self._arity(args, 0, 0, "resubmit --from-failed")
        self._submit(args)

    def _publish(self, args):
        from . import argo_control

        self._arity(args, 0, 0, "publish --schedule CRON [--timezone TZ] | publish --template")
        if args.timezone and not args.schedule:
            raise ArgodasfError("--timezone goes with --schedule")
        record = argo_control.publish_draft(
            self.draft, schedule=args.schedule, timezone=args.timezone, template=args.template
        )
        print(f"published {record['kind']} {record['name']} in namespace {record['namespace']}: {record['url']}")

    def _list(self, args):
        from . import argo

        self._arity(args, 0, 0, "list")
        name = self.draft.name
        items = argo.list_workflows(name)
        if not items:
            print(f"no workflows of draft '{name}' on the Argo Server")
        for item in items:
            print(f"{item['name']:<32} {item['phase']:<10} {item['created_at'] or '-'}  {item['ui_url']}")


# both magics are named dasf_workflow; their methods cannot be: show the magic's name in help and errors
for _method, _prog in (
    (WorkflowMagics.dasf_workflow_cell, "%%dasf_workflow"),
    (WorkflowMagics.dasf_workflow_line, "%dasf_workflow"),
):
    _method.__doc__ = _method.__doc__.replace(f"%{_method.__name__}", _prog)
    _method.parser.prog = _prog
del _method, _prog
