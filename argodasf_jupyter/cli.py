"""The `argodasf` command: workflows from saved notebooks, without a kernel.

    argodasf promote NOTEBOOK.ipynb [--execute] [-o wf.yaml|wf.py] [--submit] [--param NAME=VALUE]
    argodasf render DRAFT.json|NOTEBOOK.ipynb [-o wf.yaml|wf.py]
    argodasf submit DRAFT.json|NOTEBOOK.ipynb [--param NAME=VALUE]
    argodasf logs WORKFLOW [STEP] [--follow] [--component runner|scheduler|worker]
    argodasf dashboard WORKFLOW STEP
    argodasf stop|terminate|retry|resubmit WORKFLOW
    argodasf publish DRAFT.json|NOTEBOOK.ipynb --schedule CRON [--timezone TZ] | --template
    argodasf rbac --namespace NS [--service-account SA]
    argodasf doctor ...

Without a kernel nothing runs: a `%%dasf_workflow` cell's outside names take their
values from literal assignments in earlier cells (`input_path = "/data/in.zarr"`),
and its cluster shape from the last `%%dasf_cluster` cell before it. With
`promote --execute` the notebook runs in a fresh kernel first, as JupyterLab's Run All
would, and its cells promote themselves from the live values.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import tempfile
import types

import yaml

from .errors import ArgodasfError

DEFAULT_SERVICE_ACCOUNT = "argodasf-workflow"


def _cells(notebook: str) -> list[str]:
    """The sources of a notebook's code cells (nbformat 4: 'cells', each with a 'source')."""
    try:
        with open(notebook, encoding="utf-8") as stream:
            data = json.load(stream)
    except OSError as error:
        raise ArgodasfError(f"cannot read notebook {notebook} ({error.strerror})") from None
    except ValueError as error:
        raise ArgodasfError(f"notebook {notebook} is not JSON ({str(error).splitlines()[0]})") from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        raise ArgodasfError(f"notebook {notebook} has no list of cells; is it a .ipynb file (nbformat 4)?")
    sources = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise ArgodasfError(f"notebook {notebook}: the source of cell {number} is not text")
        sources.append(source)
    return sources


def _split_magic(source: str, magic: str) -> tuple[str, str] | None:
    """(line, body) when ``source`` is a ``%%magic`` cell."""
    head, _, body = source.lstrip("\n").partition("\n")
    words = head.split(None, 1)
    if not words or words[0] != f"%%{magic}":
        return None
    return (words[1] if len(words) > 1 else ""), body


def _stand_in(node) -> object:
    """What a non-literal binding looks like to the free-name check."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return types.ModuleType("module")
    if isinstance(node, ast.ClassDef):
        return type("class", (), {})
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return lambda: None
    return type("value computed when the notebook runs (promote --execute runs it first)", (), {})()


def _record_bindings(source: str, number: int, values: dict, where: dict) -> None:
    """Remember what a plain cell binds: literal values as they are, others as stand-ins."""
    from IPython.core.inputtransformer2 import TransformerManager

    from .cell_names import bound_names

    try:
        # IPython syntax (!ls, %time) becomes plain Python first, as in the kernel
        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return
    for node in tree.body:
        for name in bound_names(ast.unparse(node)):
            value = _stand_in(node)
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    pass
            values[name] = value
            where[name] = f"cell {number}"


def _magic_args(magic, line: str, number: int):
    from .cell_flags import split_line

    try:
        return split_line(magic, line)
    except ArgodasfError as error:
        raise ArgodasfError(f"cell {number}: {error}") from None


def _not_run(cell: str) -> bool:
    """A saved notebook's cells do not run here: their values come from the literal cells before them."""
    return True


def draft_from_notebook(notebook: str):
    """The workflow Draft of a saved notebook's %%dasf_workflow cells (not saved)."""
    from .cell_flags import cluster_line, promotion_line, step_options, values_from
    from .config import settings
    from .draft import Draft, draft_path
    from .session import Session
    from .spec import parse_spec

    values: dict = {}
    where: dict = {}
    cluster = None
    with tempfile.TemporaryDirectory(prefix="argodasf-promote-") as scratch:
        # a private draft and registry record: the notebook's own draft and the sidebar stay untouched
        session = Session(registry_dir=scratch)
        session.use_notebook(notebook, draft_dir=scratch)
        for number, source in enumerate(_cells(notebook), start=1):
            if (found := _split_magic(source, "dasf_cluster")) is not None:
                line, body = found
                args = _magic_args(cluster_line, line, number)
                cluster = parse_spec(
                    values_from(args, body), base=settings().cluster, where=f"the cluster of cell {number}"
                )
            elif (found := _split_magic(source, "dasf_workflow")) is not None:
                line, body = found
                args = _magic_args(promotion_line, line, number)
                session.promote(
                    args.name, body, run=_not_run, values=values, where=where.get, cluster=cluster, **step_options(args)
                )
                if not args.container:
                    _record_bindings(body, number, values, where)
            else:
                _record_bindings(source, number, values, where)
        promoted = session.draft
    draft = Draft(promoted.name, draft_path(notebook), list(promoted.steps.values()))
    draft.order()  # a notebook without steps is an error here too
    return draft


def _load(path: str):
    from .draft import Draft

    if path.endswith(".ipynb"):
        return draft_from_notebook(path)
    if not os.path.exists(path):
        raise ArgodasfError(f"no such draft or notebook: {path}")
    return Draft.load(path)


def _write(draft, output: str | None) -> None:
    from . import workflow

    if output:
        workflow.export(draft, output)
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(workflow.to_yaml(draft))


def _submit(draft, params, check: bool = True, watch: bool = False) -> None:
    from . import argo, preflight
    from .workflow import parse_assignments

    if check:
        preflight.before_submit(draft.order())
    record = argo.submit(draft, parse_assignments(params))
    print(f"submitted workflow {record['name']} to namespace {record['namespace']}: {record['url']}")
    if watch:
        argo.require_success(argo.watch(record["name"], _phase_changes(), failure_details=True))
        print(f"workflow {record['name']} Succeeded")


def _phase_changes():
    """An on_update for argo.watch that prints each step's phase when it changes."""
    seen: dict = {}

    def report(summary: dict) -> None:
        for step in summary["steps"]:
            if seen.get(step["name"]) != step["phase"]:
                seen[step["name"]] = step["phase"]
                print(f"{step['name']}: {step['phase']}", file=sys.stderr)

    return report


def _progress(number: int, total: int, first_line: str, seconds: float) -> None:
    print(f"[{number}/{total}] {first_line}  ({seconds:.1f} s)", file=sys.stderr)


def cmd_promote(args) -> None:
    if args.execute:
        from .notebook_run import execute_and_collect_draft

        draft = execute_and_collect_draft(args.notebook, cell_timeout=args.cell_timeout, on_cell=_progress)
    else:
        draft = draft_from_notebook(args.notebook)
    if args.output or not args.submit:
        _write(draft, args.output)
    if args.submit:
        _submit(draft, args.param, not args.no_check)


def cmd_render(args) -> None:
    _write(_load(args.source), args.output)


def cmd_submit(args) -> None:
    _submit(_load(args.source), args.param, not args.no_check, args.watch)


def cmd_rbac(args) -> None:
    from .manifests import rbac
    from .spec import check_name

    try:
        check_name(args.namespace, "namespace")
        check_name(args.service_account, "service account")
    except ValueError as error:
        raise ArgodasfError(str(error)) from None
    sys.stdout.write(yaml.safe_dump_all(rbac(args.namespace, args.service_account), sort_keys=False))


def cmd_doctor(args) -> int:
    from .doctor import main as doctor_main

    return doctor_main(args.doctor_args)


def cmd_logs(args) -> None:
    from . import argo, step_logs

    name = argo.check_workflow_name(args.workflow)
    if args.step is not None:
        argo.check_workflow_name(args.step, "step name")
    if args.step is None:
        if args.follow or args.component:
            raise ArgodasfError("--follow and --component need a DASF step: argodasf logs WORKFLOW STEP")
        print(argo.logs(name) or "no log lines yet")
    elif args.follow:
        step_logs.follow(name, args.step, print, component=args.component or "runner")
    else:
        print(step_logs.read(name, args.step, component=args.component or "runner"))


def cmd_dashboard(args) -> None:
    import time

    from . import argo, step_dashboard

    name = argo.check_workflow_name(args.workflow)
    step = argo.check_workflow_name(args.step, "step name")
    dashboard = step_dashboard.open_dashboard(name, step)
    print(
        f"the dashboard of step '{step}': http://127.0.0.1:{dashboard.port}/status until the step ends (Ctrl-C stops)"
    )
    try:
        while dashboard in step_dashboard.open_dashboards():
            time.sleep(1)
    except KeyboardInterrupt:
        return
    print(f"step '{step}' of workflow '{name}' ended; its dashboard is closed")


def cmd_control(args) -> None:
    from . import argo, argo_control

    result = getattr(argo_control, args.command)(argo.check_workflow_name(args.workflow))
    print(f"{args.command}: workflow {result['name']} is {result['phase']}: {result['ui_url']}")


def cmd_publish(args) -> None:
    from .argo_control import publish_draft

    if args.timezone and not args.schedule:
        raise ArgodasfError("--timezone goes with --schedule")
    record = publish_draft(_load(args.source), schedule=args.schedule, timezone=args.timezone, template=args.template)
    print(f"published {record['kind']} {record['name']} in namespace {record['namespace']}: {record['url']}")


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="argodasf", description="DASF notebook cells as Argo workflows of DaskJobs."
    )
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    promote = commands.add_parser("promote", help="the workflow of a notebook's %%dasf_workflow cells")
    promote.add_argument("notebook", help="a saved .ipynb")
    promote.add_argument("-o", "--output", help="write YAML (.yaml) or a Hera script (.py) instead of printing YAML")
    promote.add_argument(
        "--submit", action="store_true", help="submit it to the Argo Server (ARGO_SERVER, ARGO_TOKEN...)"
    )
    promote.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="override a parameter")
    promote.add_argument("--no-check", action="store_true", help="--submit: skip the image preflight")
    promote.add_argument(
        "--execute",
        action="store_true",
        help="run the notebook in a fresh kernel first and promote from its live values",
    )
    promote.add_argument("--cell-timeout", type=int, default=600, metavar="SECONDS", help="with --execute")
    promote.set_defaults(run=cmd_promote)

    render = commands.add_parser("render", help="the workflow of a saved draft or notebook, as YAML or Hera .py")
    render.add_argument("source", help="a .dasf-workflow.json draft or a .ipynb")
    render.add_argument("-o", "--output", help="a .yaml or .py file (default: YAML on stdout)")
    render.set_defaults(run=cmd_render)

    submit = commands.add_parser("submit", help="submit a saved draft or notebook to the Argo Server")
    submit.add_argument("source", help="a .dasf-workflow.json draft or a .ipynb")
    submit.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="override a parameter")
    submit.add_argument("--no-check", action="store_true", help="skip the image preflight")
    submit.add_argument(
        "--watch", action="store_true", help="follow the workflow until it ends; exit non-zero unless it succeeded"
    )
    submit.set_defaults(run=cmd_submit)

    logs = commands.add_parser("logs", help="a submitted workflow's logs; a DASF step's from its DaskJob's pods")
    logs.add_argument("workflow")
    logs.add_argument("step", nargs="?")
    logs.add_argument("--follow", action="store_true", help="stream the step's log until it ends")
    logs.add_argument("--component", choices=("runner", "scheduler", "worker"), help="default: runner")
    logs.set_defaults(run=cmd_logs)

    dashboard = commands.add_parser("dashboard", help="forward a running DASF step's Dask dashboard to this machine")
    dashboard.add_argument("workflow")
    dashboard.add_argument("step")
    dashboard.set_defaults(run=cmd_dashboard)

    for verb, text in (
        ("stop", "let running steps finish and start no new one"),
        ("terminate", "stop a workflow at once"),
        ("retry", "re-run the failed steps of a workflow"),
        ("resubmit", "a new workflow with the spec of a submitted one"),
    ):
        control = commands.add_parser(verb, help=text)
        control.add_argument("workflow")
        control.set_defaults(run=cmd_control)

    publish = commands.add_parser("publish", help="a draft's or notebook's workflow as a CronWorkflow or template")
    publish.add_argument("source", help="a .dasf-workflow.json draft or a .ipynb")
    when = publish.add_mutually_exclusive_group(required=True)
    when.add_argument("--schedule", metavar="CRON", help="a CronWorkflow on this schedule, e.g. '0 2 * * *'")
    when.add_argument("--template", action="store_true", help="a WorkflowTemplate")
    publish.add_argument("--timezone", metavar="TZ", help="with --schedule: an IANA time zone")
    publish.set_defaults(run=cmd_publish)

    rbac = commands.add_parser("rbac", help="ServiceAccount, Role and RoleBinding the workflows need")
    rbac.add_argument("--namespace", required=True)
    rbac.add_argument("--service-account", default=DEFAULT_SERVICE_ACCOUNT)
    rbac.set_defaults(run=cmd_rbac)

    # doctor parses its own flags (--namespace, --help): see main
    doctor = commands.add_parser("doctor", help="check kubeconfig, CRDs, RBAC, operator and Argo", add_help=False)
    doctor.set_defaults(run=cmd_doctor)
    return main_parser


def main(argv=None) -> int:
    main_parser = parser()
    args, rest = main_parser.parse_known_args(argv)
    if args.command == "doctor":
        args.doctor_args = rest
    elif rest:
        main_parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return args.run(args) or 0
    except ArgodasfError as error:
        print(f"argodasf: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
