"""The distributions a cell imports, with the kernel's versions.

A cell needs what its import statements name, the modules behind the names it uses
from earlier cells' imports, and the optional dependencies that a few dask calls
import when they run (``to_zarr`` needs zarr). Each top-level module maps to the
distribution that installed it (importlib.metadata); standard-library modules need
nothing.

Whether a distribution is on the package index is decided without the network, from
how it was installed: an installer record (pip, uv, conda...) and no
``direct_url.json``. pip writes that file for everything it installs from a URL, a
git checkout, a local directory or in editable mode, none of which an index serves;
a module that no distribution installed (a file beside the notebook) is not on the
index either.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata as metadata
import importlib.util
import sys
import types
from typing import Any, Mapping, Optional

from pydantic import BaseModel, ConfigDict

# dask calls that import an optional dependency when they run
LAZY_IMPORTS = {
    "to_zarr": "zarr",
    "from_zarr": "zarr",
    "read_parquet": "pyarrow",
    "to_parquet": "pyarrow",
    "read_hdf": "tables",
    "to_hdf": "tables",
}


class Imported(BaseModel):
    """A top-level module a step imports, and the kernel's distribution behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    module: str
    distribution: Optional[str] = None  # None: no distribution installed it
    version: Optional[str] = None
    on_index: bool = False

    def pin(self) -> str:
        return f"{self.distribution}=={self.version}"


def _top(name: str) -> str:
    return name.split(".")[0]


def _value_module(value: Any) -> Optional[str]:
    if isinstance(value, types.ModuleType):
        return value.__name__
    if isinstance(value, type) or isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
        return getattr(value, "__module__", None)
    return None


def _statements(tree: ast.AST):
    """Every statement of the cell, nested ones too, without walking into expressions
    (where no import statement can be)."""
    pending = list(getattr(tree, "body", ()))
    while pending:
        node = pending.pop()
        yield node
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, name, ())
            if isinstance(children, list):
                pending.extend(children)


def imported_modules(tree: ast.AST, used: Mapping[str, Any] | None = None, source: str | None = None) -> list[str]:
    """Top-level modules the cell imports (``used``: values of the names it takes
    from earlier cells), sorted, without the standard library. With the cell's
    ``source``, its expressions are walked for lazy dask imports only when it names one."""
    found: set[str] = set()
    for node in _statements(tree):
        if isinstance(node, ast.Import):
            found.update(_top(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(_top(node.module))
    if source is None or any(call in source for call in LAZY_IMPORTS):
        found.update(
            LAZY_IMPORTS[node.attr]
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in LAZY_IMPORTS
        )
    for value in (used or {}).values():
        module = _value_module(value)
        if module:
            found.add(_top(module))
    return sorted(name for name in found if name not in sys.stdlib_module_names and name != "__main__")


@functools.lru_cache(maxsize=1)
def _module_distributions() -> Mapping[str, list[str]]:
    return metadata.packages_distributions()


@functools.lru_cache(maxsize=512)
def _distribution(name: str) -> tuple[str, str, bool]:
    found = metadata.distribution(name)
    installer = (found.read_text("INSTALLER") or "").strip()
    on_index = bool(installer) and found.read_text("direct_url.json") is None
    return found.metadata["Name"], found.version, on_index


def describe(module: str) -> Optional[Imported]:
    """The kernel's distribution of ``module``; None when the module is not
    importable here at all (an optional import the cell survived without)."""
    names = _module_distributions().get(module)
    if names is None and importlib.util.find_spec(module) is not None:
        _module_distributions.cache_clear()  # installed since the first look?
        names = _module_distributions().get(module)
    if names:
        distribution, version, on_index = _distribution(sorted(names)[0])
        return Imported(module=module, distribution=distribution, version=version, on_index=on_index)
    if importlib.util.find_spec(module) is None:
        return None
    return Imported(module=module)


def cell_imports(tree: ast.AST, used: Mapping[str, Any] | None = None, source: str | None = None) -> list[Imported]:
    """What the cell imports, as the kernel has it (``source``: see imported_modules)."""
    return [found for found in map(describe, imported_modules(tree, used, source)) if found is not None]
