"""The house rules that keep the code readable, checked on the source itself: imports in one
direction (docs/architecture.md), the policy pack standalone, one quantity parser, and the size
limits (no Python file over 400 lines outside tests, no function over 80 lines)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("rdagent_infra", "components", "rdagent_policies")
# Where each top-level package lives: the policy pack is a package of its own under policies/.
PACKAGE_ROOTS = {"rdagent_policies": ROOT / "policies"}
SKIPPED_DIRS = {".venv", ".tools", "build", ".git", "tests", "node_modules", "__pycache__"}
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80


def _source_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not SKIPPED_DIRS & set(p.relative_to(ROOT).parts))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[:2] == ["policies", "rdagent_policies"]:
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(tree: ast.AST) -> set[str]:
    """Every module an import statement names, at any depth (function-level imports included),
    except under `if TYPE_CHECKING:`."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from rdagent_infra.logic import eck` imports the module rdagent_infra.logic.eck.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    """Our modules -> the modules of ours they import."""
    sources = {_module_name(p): p for p in _source_files()}
    sources = {name: path for name, path in sources.items() if name.split(".")[0] in PACKAGES}
    return {name: {m for m in _runtime_imports(ast.parse(path.read_text())) if m in sources} for name, path in sources.items()}


def _layer(module: str) -> int:
    """0 the policy pack; 1 defaults, config and logic; 2 components; 3 the program; 4 the commands.

    The package `rdagent_infra` itself is in layer 1: importing any of its modules runs its
    `__init__`, so that must import nothing above config and logic."""
    if module.split(".")[0] == "rdagent_policies":
        return 0
    if module in ("rdagent_infra", "rdagent_infra.defaults") or module.startswith(("rdagent_infra.config", "rdagent_infra.logic")):
        return 1
    if module.split(".")[0] == "components":
        return 2
    if module == "rdagent_infra.program":
        return 3
    return 4


def test_the_import_graph_is_read():
    graph = _graph()
    # A scan that finds nothing would pass every rule below.
    assert "components.logging" in graph["rdagent_infra.program"]
    assert "rdagent_infra.logic.eck" in graph["components.logging"]
    assert "rdagent_infra.logic.steps" in graph["rdagent_infra.config.stack"]
    assert "rdagent_policies.quantities" in graph["rdagent_infra.config.base"]
    assert "rdagent_policies.rules" in graph["rdagent_policies.pack"]
    assert "rdagent_infra.config.rollout" not in graph["rdagent_infra.logic.steps"], "TYPE_CHECKING imports are not runtime imports"


def test_imports_go_one_way():
    upward = [
        f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"
        for module, targets in _graph().items()
        for target in sorted(targets)
        if _layer(target) > _layer(module)
    ]
    assert upward == [], "\n".join(upward)


def test_config_and_logic_never_import_components():
    offenders = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        if _layer(module) == 1
        for target in sorted(targets)
        if target.split(".")[0] == "components" or target == "rdagent_infra.program"
    ]
    assert offenders == [], "\n".join(offenders)


def test_no_import_cycles():
    """No cycle between modules, lazy imports included: none may dodge a cycle inside a function."""
    graph = _graph()
    state: dict[str, str] = {}
    cycles: list[str] = []

    def walk(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                walk(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert cycles == [], "\n".join(cycles)


def test_importing_the_policy_pack_imports_nothing_else_of_ours():
    pack = PACKAGE_ROOTS["rdagent_policies"] / "rdagent_policies"
    modules = [_module_name(p) for p in sorted(pack.rglob("*.py")) if p.name != "__main__.py"]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rdagent_infra', 'components')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "rdagent_policies.rules" in modules and "rdagent_policies.pack" in modules
    assert result.stdout.strip() == "[]", f"importing the policy pack loaded {result.stdout.strip()}"


def test_one_quantity_parser():
    """Kubernetes quantities are parsed in the policy pack's quantities module only; the config imports it."""
    definers = []
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and "quantity" in node.name.lower() and node.name != "_quantity":
                definers.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert [d.split(":")[0] for d in definers] == ["policies/rdagent_policies/quantities.py"], definers
    from rdagent_policies import quantities

    from rdagent_infra.config import base

    assert base.parse_quantity is quantities.parse_quantity


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_size_limits():
    files = _source_files()
    assert len(files) > 40, "the scan found too few files"
    long_files = [f"{p.relative_to(ROOT)}: {n} lines" for p in files if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES]
    long_functions = [
        f"{p.relative_to(ROOT)}:{f.lineno} {f.name}: {f.end_lineno - f.lineno + 1} lines"
        for p in files
        for f in _functions(ast.parse(p.read_text()))
        if f.end_lineno - f.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long_files == [], f"files over {MAX_FILE_LINES} lines:\n" + "\n".join(long_files)
    assert long_functions == [], f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long_functions)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import components.redis\n", {"components.redis"}),
        ("def f():\n    from rdagent_infra.program import build_stack\n", {"rdagent_infra.program", "rdagent_infra.program.build_stack"}),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import components.redis\n", {"typing", "typing.TYPE_CHECKING"}),
    ],
)
def test_the_scan_sees_lazy_imports_and_skips_type_checking(source, expected):
    assert _runtime_imports(ast.parse(source)) == expected
