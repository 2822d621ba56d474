"""A validated cell becomes a workflow Step.

Free-name analysis decides what the cell needs from outside itself: simple
literal values become workflow parameters, anything else is an error naming the
culprits and where they were defined. The step script is runtime.py plus the
step's data, so the executor and runner are embedded verbatim; ``run_script``
runs it in a fresh process exactly as a DaskJob runner will.
"""

from __future__ import annotations

import ast
import base64
import builtins
import json
import math
import os
import pprint
import re
import subprocess
import sys
import symtable
import tempfile
import zlib
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field

from . import images, runtime
from .config import settings
from .errors import ArgodasfError
from .imports import Imported, cell_imports
from .spec import ClusterSpec, check_name, parse_spec

MAX_RETRIES = 20
# what a container step takes from the cluster spec
STORAGE_KEYS = {"volumes", "env_from_secrets"}
# in generated template and task names only, so they never collide with a step's
GENERATED_NAME_MARK = "--"
MAX_PARAMETER_CHARS = 16384
# IPython puts these into builtins; a job's plain Python does not have them
IPYTHON_ONLY = frozenset({"get_ipython", "display", "In", "Out", "__IPYTHON__"})
PYTHON_BUILTINS = frozenset(dir(builtins)) - IPYTHON_ONLY | {"__name__", "__file__", "__builtins__"}
# argv chunks stay far below Linux's 128 KiB limit for one argument
CHUNK_CHARS = 65536
# runs the compressed step script given as argv; no '{{' (Argo) and no '$(' (kubelet)
PYTHON_BOOTSTRAP = (
    "import base64,sys,zlib;"
    "source=zlib.decompress(base64.b64decode(''.join(sys.argv[1:]))).decode('utf-8');"
    "sys.argv[1:]=[];"
    "exec(compile(source,'argodasf_step.py','exec'),{'__name__':'__main__'})"
)
SHELL_BOOTSTRAP = 'printf %s "$@" | base64 -d | sh'


class Step(BaseModel):
    """One workflow step: a DASF cell run as a DaskJob, or a container command."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["dasf", "container"] = "dasf"
    code: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=list)
    outputs: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)
    retries: int = 0
    timeout: Optional[int] = None
    cluster: dict[str, Any] = Field(default_factory=dict)
    image: Optional[str] = None
    local_command: Optional[str] = None
    names: dict[str, str] = Field(default_factory=lambda: {"client": "client", "executor": "executor"})
    imports: list[Imported] = Field(default_factory=list)  # what the cell imports, as the kernel has it

    def cluster_spec(self) -> ClusterSpec:
        return parse_spec(self.cluster, where=f"the cluster of step '{self.name}'")

    @property
    def deadline(self) -> int:
        return self.timeout or settings().workflow.active_deadline

    def completion_key(self, parameters: Mapping | None = None) -> str:
        values = dict(self.parameters)
        values.update(parameters or {})
        return runtime.completion_key(self.code, values)


# -- free-name analysis ------------------------------------------------------------

class _TopLevel(ast.NodeVisitor):
    """Walks the cell's top level in execution order: which names are read
    before the cell binds them. Nested scopes are left to symtable."""

    def __init__(self):
        self.bound: set[str] = set()
        self.free: dict[str, int] = {}

    def _load(self, name: str, line: int) -> None:
        if name not in self.bound:
            self.free.setdefault(name, line)

    def _visit_all(self, nodes) -> None:
        for node in nodes:
            if node is not None:
                self.visit(node)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self._load(node.id, node.lineno)
        else:
            self.bound.add(node.id)

    def visit_Assign(self, node):
        self.visit(node.value)
        self._visit_all(node.targets)

    def visit_AugAssign(self, node):
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self._load(node.target.id, node.lineno)
        self.visit(node.target)

    def visit_AnnAssign(self, node):
        self._visit_all([node.value, node.target])

    def visit_NamedExpr(self, node):
        self._visit_all([node.value, node.target])

    def visit_For(self, node):
        self._visit_all([node.iter, node.target, *node.body, *node.orelse])

    visit_AsyncFor = visit_For

    def visit_Import(self, node):
        for alias in node.names:
            self.bound.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node):
        self.bound.update(alias.asname or alias.name for alias in node.names if alias.name != "*")

    def visit_FunctionDef(self, node):
        # decorators and defaults run now; the body runs later, in its own scope
        self._visit_all([*node.decorator_list, *node.args.defaults, *node.args.kw_defaults])
        self.bound.add(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._visit_all([*node.args.defaults, *node.args.kw_defaults])

    def visit_ClassDef(self, node):
        self._visit_all([*node.decorator_list, *node.bases, *(keyword.value for keyword in node.keywords)])
        self.bound.add(node.name)

    def _comprehension(self, node):
        self.visit(node.generators[0].iter)  # the only part evaluated in this scope

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_ExceptHandler(self, node):
        self._visit_all([node.type])
        if node.name:
            self.bound.add(node.name)
        self._visit_all(node.body)

    def visit_withitem(self, node):
        self._visit_all([node.context_expr, node.optional_vars])

    def visit_MatchAs(self, node):
        self._visit_all([node.pattern])
        if node.name:
            self.bound.add(node.name)

    def visit_MatchStar(self, node):
        if node.name:
            self.bound.add(node.name)

    def visit_MatchMapping(self, node):
        self.generic_visit(node)
        if node.rest:
            self.bound.add(node.rest)


def parse_cell(code: str, where: str = "the cell") -> ast.Module:
    try:
        return ast.parse(code)
    except SyntaxError as error:
        hint = " (IPython syntax such as % or ! cannot run in a workflow step)" if error.text and error.text.lstrip()[:1] in "%!" else ""
        raise ArgodasfError(f"{where} is not valid Python at line {error.lineno}: {error.msg}{hint}") from None


def bound_names(code: str) -> set[str]:
    """Names a cell binds at its top level (assignments, imports, def, class)."""
    visitor = _TopLevel()
    visitor.visit(ast.parse(code))
    return visitor.bound


def _nested_global_reads(table: symtable.SymbolTable) -> set[str]:
    names = set()
    for child in table.get_children():
        for symbol in child.get_symbols():
            if symbol.is_global() and symbol.is_referenced() and not symbol.is_assigned():
                names.add(symbol.get_name())
        names |= _nested_global_reads(child)
    return names


def free_names(code: str) -> dict[str, int]:
    """Names the cell uses but neither defines nor imports, with the first line
    each is used on; Python builtins are not included."""
    tree = parse_cell(code)
    visitor = _TopLevel()
    visitor.visit(tree)
    free = dict(visitor.free)
    later = _nested_global_reads(symtable.symtable(code, "<cell>", "exec")) - visitor.bound
    if later:
        first_lines: dict[str, int] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in later:
                first_lines[node.id] = min(first_lines.get(node.id, node.lineno), node.lineno)
        for name in later:
            free.setdefault(name, first_lines.get(name, 1))
    return {name: line for name, line in sorted(free.items(), key=lambda item: item[1]) if name not in PYTHON_BUILTINS}


def is_literal(value: Any) -> bool:
    """str, int, float, bool, None, and small lists/dicts of those."""
    def simple(item, depth=0):
        if item is None or isinstance(item, (str, bool, int)):
            return True
        if isinstance(item, float):
            return math.isfinite(item)
        if depth < 4 and isinstance(item, list):
            return all(simple(element, depth + 1) for element in item)
        if depth < 4 and isinstance(item, dict):
            return all(isinstance(key, str) and simple(element, depth + 1) for key, element in item.items())
        return False

    return simple(value) and len(json.dumps(value)) <= MAX_PARAMETER_CHARS


def _describe(value: Any) -> str:
    import inspect

    if inspect.ismodule(value):
        return "a module"
    if inspect.isclass(value):
        return "a class"
    if callable(value) and hasattr(value, "__code__"):
        return "a function"
    return f"a {type(value).__name__}"


_MISSING = object()


def parameters_from(free: Mapping[str, int], values: Mapping[str, Any], provided: set[str], cluster_name: str,
                    where: Callable[[str], Optional[str]] | None = None, step: str = "") -> dict[str, Any]:
    """Literal free names become parameters; every other one is reported, in one line."""
    parameters, problems = {}, []
    for name, line in free.items():
        if name in provided:
            continue
        value = values.get(name, _MISSING)
        if name == cluster_name:
            problems.append(f"'{name}' (line {line}) is not available inside a job; size the job with flags "
                            "such as --workers, --memory or --image instead")
        elif name in IPYTHON_ONLY:
            problems.append(f"'{name}' (line {line}) exists only in IPython; use print or plain Python instead")
        elif value is _MISSING:
            problems.append(f"'{name}' (line {line}) is not defined; define it in this cell")
        elif is_literal(value):
            parameters[name] = value
        else:
            origin = where(name) if where else None
            place = f", defined in {origin}" if origin else ""
            problems.append(f"'{name}' (line {line}) is {_describe(value)}{place}; define or import it in this cell")
    if problems:
        raise ArgodasfError(
            f"cannot promote step '{step}': " + "; ".join(problems)
            + " (only str, int, float, bool, None and small lists/dicts of those become parameters)"
        )
    return parameters


# -- making a step -------------------------------------------------------------------

# one rule for Python and the labextension's promote dialog
STEP_NAME_RULE = json.loads((Path(__file__).parent / "step_name.json").read_text())


def check_step_name(name: str) -> str:
    try:
        check_name(name, "step name")
    except ValueError as error:
        raise ArgodasfError(str(error)) from None
    if GENERATED_NAME_MARK in name:
        raise ArgodasfError(f"the step name '{name}' holds '{GENERATED_NAME_MARK}', which only the names the "
                            "workflow generates hold; use a single '-'")
    if not re.match(STEP_NAME_RULE["pattern"], name):
        raise ArgodasfError(f"the step name '{name}' is not valid; {STEP_NAME_RULE['hint']}")
    return name


def check_adapt_retries(name: str, adapt, retries: int) -> None:
    if adapt is not None and retries:
        raise ArgodasfError(f"step '{name}' has both adapt and --retries: its DaskAutoscaler can name only the "
                            "first attempt's cluster; give it a fixed --workers N, or --retries 0")


def check_size(code: str) -> None:
    size = len(code.encode("utf-8"))
    limit = settings().workflow.max_cell_bytes
    if size > limit:
        raise ArgodasfError(
            f"the cell has {size} bytes; the largest that can be promoted is {limit} "
            "(argodasf.workflow.max-cell-bytes); move code into a module installed in the image"
        )


def make_step(
    name: str,
    code: str,
    *,
    values: Mapping[str, Any] | None = None,
    where: Callable[[str], Optional[str]] | None = None,
    cluster: ClusterSpec | None = None,
    overrides: Mapping[str, Any] | None = None,
    after=(),
    inputs=(),
    outputs=(),
    retries: int = 0,
    timeout: int | None = None,
    container: str | None = None,
    local_command: str | None = None,
) -> Step:
    """Validate a cell and make it a Step (the cell has already run successfully)."""
    check_step_name(name)
    check_size(code)
    if not 0 <= retries <= MAX_RETRIES:
        raise ArgodasfError(f"--retries {retries} is out of range; use 0..{MAX_RETRIES}")
    if timeout is not None and timeout < 1:
        raise ArgodasfError(f"--timeout {timeout} must be a positive number of seconds")
    common = dict(name=name, code=code, inputs=list(inputs), outputs=list(outputs), after=list(after),
                  retries=retries, timeout=timeout)
    spec = cluster if cluster is not None else parse_spec(settings().cluster, where="the argodasf.cluster config")
    if container is not None:
        # a container step shares the cluster's way to the data: volumes and Secrets
        storage = spec.model_dump(mode="json", exclude_unset=True, include=STORAGE_KEYS)
        return Step(kind="container", image=container, local_command=local_command, cluster=storage, **common)
    names = settings().names
    if overrides:
        spec = spec.with_changes(**{key: value for key, value in overrides.items() if value is not None})
    check_adapt_retries(name, spec.adapt, retries)
    free = free_names(code)
    parameters = parameters_from(free, values or {}, {names.client, names.executor}, names.cluster,
                                 where, step=name)
    # where the interactive cluster ran is not where the job runs: the workflow's namespace is
    shape = spec.model_dump(mode="json", exclude_unset=True, exclude={"name", "namespace", "backend", "keep", "connect"})
    imported = cell_imports(ast.parse(code), {key: values[key] for key in free if key in (values or {})})
    images.check_promotable(spec, imported, name)
    return Step(cluster=shape, parameters=parameters, names={"client": names.client, "executor": names.executor},
                imports=imported, **common)


# -- the step script and how it is delivered ------------------------------------------

def runtime_source() -> str:
    with open(runtime.__file__, encoding="utf-8") as stream:
        return stream.read()


def step_payload(step: Step) -> dict:
    return {
        "name": step.name,
        "code": runtime.encode_text(step.code),
        "parameters": dict(step.parameters),
        "outputs": list(step.outputs),
        "gpu": bool(step.cluster.get("gpu", False)),
        "names": dict(step.names),
    }


def render_script(step: Step) -> str:
    """The complete, self-contained script of a DASF step."""
    return (
        runtime_source().rstrip("\n")
        + "\n\n\n# -- the promoted step ------------------------------------------------------\n"
        + f"STEP = {pprint.pformat(step_payload(step), width=100)}\n\n"
        + 'if __name__ == "__main__":\n    raise SystemExit(main(STEP))\n'
    )


def _chunks(text: str) -> list[str]:
    return [text[start:start + CHUNK_CHARS] for start in range(0, len(text), CHUNK_CHARS)] or [""]


def runner_container(step: Step, python: str = "python") -> dict:
    """command and args that run the step in a container: the script travels
    compressed and base64-encoded, in argument chunks."""
    if step.kind == "container":
        encoded = base64.b64encode(step.code.encode("utf-8")).decode("ascii")
        return {"command": ["sh", "-c", SHELL_BOOTSTRAP, "argodasf"], "args": _chunks(encoded)}
    packed = base64.b64encode(zlib.compress(render_script(step).encode("utf-8"), 9)).decode("ascii")
    # args, not command: the image's entrypoint (which installs EXTRA_PIP_PACKAGES) must run
    return {"args": [python, "-c", PYTHON_BOOTSTRAP, *_chunks(packed)]}


def parameter_environment(step: Step, parameters: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Environment variables that hand parameter values to the runner."""
    values = dict(step.parameters)
    values.update(parameters or {})
    return {runtime.parameter_env(name): runtime.encode_text(runtime.argo_parameter_text(values[name]))
            for name in step.parameters}


def run_script(step: Step, address: str, parameters: Mapping[str, Any] | None = None, cwd: str | None = None,
               timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run the step's exact script in a fresh process against the scheduler at
    ``address``, the way the DaskJob runner runs it. Output is captured (stdout
    and stderr interleaved)."""
    with tempfile.TemporaryDirectory(prefix="argodasf-step-") as directory:
        path = os.path.join(directory, f"{step.name}.py")
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(render_script(step))
        env = dict(os.environ, DASK_SCHEDULER_ADDRESS=address, **parameter_environment(step, parameters))
        try:
            return subprocess.run([sys.executable, path], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as expired:
            output = expired.stdout or ""
            output = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
            return subprocess.CompletedProcess(expired.cmd, -9, output + f"\nargodasf: timed out after {timeout:.0f}s\n")


def replay(step: Step, address: str, cwd: str | None = None, timeout: float | None = None) -> str:
    """Run the step script as the job will; raise with its log tail if it fails."""
    result = run_script(step, address, cwd=cwd, timeout=timeout or step.deadline)
    if result.returncode != 0:
        tail = " | ".join(line for line in result.stdout.strip().splitlines()[-3:])
        raise ArgodasfError(f"--replay of step '{step.name}' exited with {result.returncode}; not promoted: {tail}")
    return result.stdout
