"""The package's layering, read from its source: no import cycles, no upward imports, a facade
that does not pull in pytest, and no module over 400 lines.

Every import counts: at the top, inside functions, under ``if TYPE_CHECKING:``. The checks are
plain functions of a package folder, so the tests at the end run them on small made-up packages
too, to show that each one fails when it should.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

import pytest_moclone

PACKAGE = "pytest_moclone"
ROOT = Path(pytest_moclone.__file__).parent
MAX_LINES = 400

#: Bottom to top: a module may import from its own layer or a lower one. A name stands for the
#: module or package of that name and everything under it (a package's ``__init__`` is in its
#: package's layer); ``pytest_moclone/__init__.py``, the facade, is above them all.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        (
            "errors",
            "names",
            "version",
            "diff",
            "leases",
            "detect",
            "urls",
            "sqlfile",
            "registry_schema",
        ),
    ),
    ("connection", ("connection",)),
    ("dialects", ("dialects",)),
    ("managers", ("verify", "clone", "snapshots", "janitor", "registry")),
    ("client", ("client",)),
    ("services", ("golden", "pool", "records", "recycle", "rollback", "sqlalchemy")),
    ("servers", ("servers",)),
    ("cli", ("cli", "__main__")),
    ("plugin", ("plugin",)),
]

Graph = dict[str, set[str]]


def modules_of(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module and package under ``root``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _known(name: str, modules: Mapping[str, Path]) -> str:
    """The module ``name`` is, or the innermost known package holding it."""
    while name not in modules and "." in name:
        name = name.rpartition(".")[0]
    return name


def imports_of(module: str, path: Path, modules: Mapping[str, Path], package: str) -> set[str]:
    """The package's modules that ``module`` imports, anywhere in its source.

    ``from X import y`` imports the submodule ``X.y`` when there is one, else ``X``; importing
    ``a.b.c`` also runs the packages ``a.b`` above it, except the facade and the importer's own
    packages (those are already being imported when it runs)."""
    is_package = path.name == "__init__.py"
    here = module if is_package else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                targets.add(submodule if submodule in modules else source)
    found = set()
    for target in targets:
        if target != package and not target.startswith(package + "."):
            continue
        name = _known(target, modules)
        found.add(name)
        parent = name.rpartition(".")[0]
        while parent != package and "." in parent:
            if not (module == parent or module.startswith(parent + ".")):
                found.add(parent)
            parent = parent.rpartition(".")[0]
    found.discard(module)
    return found


def import_graph(root: Path, package: str = PACKAGE) -> Graph:
    modules = modules_of(root, package)
    return {name: imports_of(name, path, modules, package) for name, path in modules.items()}


def find_cycle(graph: Graph) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for dep in sorted(graph.get(name, ())):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (cycle := visit(dep)) is not None:
                return cycle
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name)) is not None:
            return cycle
    return None


def layer_of(module: str, layers: list[tuple[str, tuple[str, ...]]], package: str) -> int | None:
    name = module.removeprefix(package + ".")
    while True:
        for index, (_, members) in enumerate(layers):
            if name in members:
                return index
        if "." not in name:
            return None
        name = name.rpartition(".")[0]


def layering_problems(
    graph: Graph, layers: list[tuple[str, tuple[str, ...]]] = LAYERS, package: str = PACKAGE
) -> list[str]:
    """Modules in no layer, and imports that go up a layer.

    The facade is in no layer and may import anything; a module importing the facade imports
    what it does, so it counts as importing the facade's highest import."""
    level: dict[str, int] = {}
    problems = []
    for module in sorted(graph):
        if module == package:
            continue
        found = layer_of(module, layers, package)
        if found is None:
            problems.append(f"{module} is in no layer: add it to LAYERS")
        else:
            level[module] = found
    facade = [level[dep] for dep in graph.get(package, ()) if dep in level]
    if facade:
        level[package] = max(facade)
    for module in sorted(graph):
        if module == package or module not in level:
            continue
        for dep in sorted(graph[module]):
            if dep in level and level[dep] > level[module]:
                problems.append(
                    f"{module} (layer {layers[level[module]][0]}) imports {dep} "
                    f"(layer {layers[level[dep]][0]}, above it)"
                )
    return problems


def long_modules(root: Path, limit: int = MAX_LINES) -> list[str]:
    return [
        f"{path.relative_to(root.parent)}: {lines} lines"
        for path in sorted(root.rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > limit
    ]


def pytest_modules_loaded_by_import(folder: Path) -> list[str]:
    """The modules of pytest and pluggy that ``import pytest_moclone`` loads, in a fresh
    interpreter, from the package in ``folder``."""
    code = (
        "import sys, pytest_moclone; "
        "print(pytest_moclone.__file__); "
        "print(' '.join(sorted(m for m in sys.modules "
        "if m.partition('.')[0] in ('pytest', '_pytest', 'pluggy'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, f"import pytest_moclone failed:\n{done.stderr}"
    where, loaded = [*done.stdout.splitlines(), ""][:2]
    assert Path(where).parent == folder / PACKAGE, f"imported {where}, not the one in {folder}"
    return loaded.split()


# -- the package itself ------------------------------------------------------------------------


def test_no_module_imports_itself_back() -> None:
    cycle = find_cycle(import_graph(ROOT))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_every_import_goes_down_the_layers() -> None:
    problems = layering_problems(import_graph(ROOT))
    assert not problems, "layering:\n  " + "\n  ".join(problems)


def test_the_library_loads_without_pytest() -> None:
    loaded = pytest_modules_loaded_by_import(ROOT.parent)
    assert loaded == [], "import pytest_moclone loads " + ", ".join(loaded)


def test_no_module_is_over_the_line_limit() -> None:
    offenders = long_modules(ROOT)
    assert not offenders, f"over {MAX_LINES} lines: " + ", ".join(offenders)


# -- the checks fail when they should --------------------------------------------------------


def _package(tmp_path: Path, files: Mapping[str, str]) -> Path:
    root = tmp_path / PACKAGE
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def _short(names: Iterable[str]) -> list[str]:
    return [name.removeprefix(PACKAGE + ".") for name in names]


def test_a_cycle_inside_a_function_and_under_type_checking_is_found(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "def f():\n    from .client import Client\n",
            "client.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pytest_moclone.names import x\n"
            ),
            "names.py": "from . import errors\n",
        },
    )
    cycle = find_cycle(import_graph(root))
    assert cycle is not None
    assert _short(cycle) == ["client", "names", "errors", "client"]


def test_from_a_package_import_a_submodule_is_an_import_of_the_submodule(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "dialects/__init__.py": "from .base import Dialect\n",
            "dialects/base.py": "from ..errors import E\nfrom . import tablespaces\n",
            "dialects/tablespaces.py": "from .. import errors\n",
            "errors.py": "",
            "snapshots.py": "from .dialects.base import Dialect\n",
        },
    )
    graph = {_short([k])[0]: set(_short(v)) for k, v in import_graph(root).items()}
    assert graph["dialects.base"] == {"errors", "dialects.tablespaces"}
    assert graph["dialects.tablespaces"] == {"errors"}
    assert graph["dialects"] == {"dialects.base"}
    assert graph["snapshots"] == {"dialects.base", "dialects"}  # the package's __init__ runs
    assert find_cycle(import_graph(root)) is None


def test_an_upward_import_and_a_module_in_no_layer_are_reported(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "from .client import Client\n",
            "names.py": "import pytest_moclone.connection\n",
            "connection.py": "",
            "client.py": "from .connection import C\n",
            "stray.py": "",
            "plugin/__init__.py": "from .. import __version__\nfrom ..client import Client\n",
            "pool.py": "from pytest_moclone import Client\n",
            "errors.py": "from pytest_moclone import Client\n",
        },
    )
    assert layering_problems(import_graph(root)) == [
        "pytest_moclone.stray is in no layer: add it to LAYERS",
        "pytest_moclone.errors (layer base) imports pytest_moclone (layer client, above it)",
        "pytest_moclone.names (layer base) imports pytest_moclone.connection "
        "(layer connection, above it)",
    ]


def test_a_long_module_is_named(tmp_path: Path) -> None:
    root = _package(tmp_path, {"__init__.py": "", "big.py": "x = 1\n" * (MAX_LINES + 1)})
    assert long_modules(root) == [f"{PACKAGE}/big.py: {MAX_LINES + 1} lines"]


@pytest.mark.parametrize("loaded", ["pytest", "_pytest.python", "pluggy"])
def test_a_facade_that_loads_pytest_is_caught(tmp_path: Path, loaded: str) -> None:
    _package(tmp_path, {"__init__.py": f"import {loaded}\n"})
    assert loaded in pytest_modules_loaded_by_import(tmp_path)
