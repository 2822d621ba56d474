"""Free-name analysis of a cell: which names it reads from outside itself, in the
order it reads them. Simple literal values among them become workflow parameters;
anything else is an error naming the culprits and where they were defined."""

from __future__ import annotations

import ast
import builtins
import json
import math
import symtable
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from .errors import ArgodasfError

MAX_PARAMETER_CHARS = 16384
# IPython puts these into builtins; a job's plain Python does not have them
IPYTHON_ONLY = frozenset({"get_ipython", "display", "In", "Out", "__IPYTHON__"})
PYTHON_BUILTINS = frozenset(dir(builtins)) - IPYTHON_ONLY | {"__name__", "__file__", "__builtins__"}


class _TopLevel(ast.NodeVisitor):
    """Walks the cell's top level in execution order: which names are read
    before the cell binds them. Nested scopes are left to symtable."""

    _methods: dict[type, Callable] = {}

    def __init__(self):
        self.bound: set[str] = set()
        self.free: dict[str, int] = {}
        self.scopes = 0  # nested scopes met (functions, lambdas, classes, comprehensions)

    # ast.NodeVisitor's dispatch (a getattr per node, and its legacy visit_Constant)
    # was most of the time a long cell's promotion took
    def visit(self, node):
        method = self._methods.get(type(node))
        if method is None:
            method = getattr(type(self), "visit_" + type(node).__name__, None)
            if method is None or method is getattr(ast.NodeVisitor, method.__name__, None):
                method = _TopLevel.generic_visit
            self._methods[type(node)] = method
        method(self, node)

    def generic_visit(self, node):
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

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
        self.scopes += 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._visit_all([*node.args.defaults, *node.args.kw_defaults])
        self.scopes += 1

    def visit_ClassDef(self, node):
        self._visit_all([*node.decorator_list, *node.bases, *(keyword.value for keyword in node.keywords)])
        self.bound.add(node.name)
        self.scopes += 1

    def _comprehension(self, node):
        self.visit(node.generators[0].iter)  # the only part evaluated in this scope
        self.scopes += 1

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
        hint = (
            " (IPython syntax such as % or ! cannot run in a workflow step)"
            if error.text and error.text.lstrip()[:1] in "%!"
            else ""
        )
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


@dataclass(frozen=True)
class ParsedCell:
    """A cell parsed once: its text, syntax tree and free names (see free_names)."""

    code: str
    tree: ast.Module
    free: dict[str, int]


def parse(code: str) -> ParsedCell:
    tree = parse_cell(code)
    return ParsedCell(code, tree, _free_names(code, tree))


def free_names(code: str) -> dict[str, int]:
    """Names the cell uses but neither defines nor imports, with the first line
    each is used on; Python builtins are not included."""
    return parse(code).free


def _free_names(code: str, tree: ast.Module) -> dict[str, int]:
    visitor = _TopLevel()
    scoped = []  # the top-level statements that hold a nested scope
    for statement in tree.body:
        before = visitor.scopes
        visitor.visit(statement)
        if visitor.scopes > before:
            scoped.append(statement)
    free = dict(visitor.free)
    later = set()
    if scoped:
        table = symtable.symtable(_scoped_source(code, tree.body, scoped), "<cell>", "exec")
        later = _nested_global_reads(table) - visitor.bound
    if later:
        first_lines: dict[str, int] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in later:
                first_lines[node.id] = min(first_lines.get(node.id, node.lineno), node.lineno)
        for name in later:
            free.setdefault(name, first_lines.get(name, 1))
    return {name: line for name, line in sorted(free.items(), key=lambda item: item[1]) if name not in PYTHON_BUILTINS}


def _first_line(statement: ast.stmt) -> int:
    return min([statement.lineno, *(item.lineno for item in getattr(statement, "decorator_list", ()))])


def _scoped_source(code: str, body: list[ast.stmt], scoped: list[ast.stmt]) -> str:
    """The lines of the ``scoped`` statements alone, which are all symtable needs (its
    cost grows with the cell), or the whole cell when one shares a line with another."""
    shared = {
        before.end_lineno
        for before, after in zip(body, body[1:], strict=False)
        if before.end_lineno == _first_line(after)
    }
    if any(_first_line(statement) in shared or statement.end_lineno in shared for statement in scoped):
        return code
    lines = code.splitlines(keepends=True)
    return "".join("".join(lines[_first_line(statement) - 1 : statement.end_lineno]) + "\n" for statement in scoped)


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


def parameters_from(
    free: Mapping[str, int],
    values: Mapping[str, Any],
    provided: set[str],
    cluster_name: str,
    where: Callable[[str], Optional[str]] | None = None,
    step: str = "",
) -> dict[str, Any]:
    """Literal free names become parameters; every other one is reported, in one line."""
    parameters, problems = {}, []
    for name, line in free.items():
        if name in provided:
            continue
        value = values.get(name, _MISSING)
        if name == cluster_name:
            problems.append(
                f"'{name}' (line {line}) is not available inside a job; size the job with flags "
                "such as --workers, --memory or --image instead"
            )
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
            f"cannot promote step '{step}': "
            + "; ".join(problems)
            + " (only str, int, float, bool, None and small lists/dicts of those become parameters)"
        )
    return parameters
