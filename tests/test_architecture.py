"""The package's imports run one way: command line → application → domain → inputs/outputs.

Every import counts, including those inside functions (kept there only to keep start-up fast).
"""

from __future__ import annotations

import ast
import graphlib
from functools import cache
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "riskengine"

# Lowest layer first; a module may import its own layer or a lower one. Everything not named
# here is domain.
INPUTS_OUTPUTS = ("riskengine.errors", "riskengine.io", "riskengine.config")
APPLICATION = ("riskengine.app",)
COMMAND_LINE = ("riskengine.cli", "riskengine.render", "riskengine.__main__", "riskengine.web")
LAYER_NAMES = ("inputs/outputs", "domain", "application", "command line")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    def within(prefixes: tuple[str, ...]) -> bool:
        return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)

    if within(INPUTS_OUTPUTS):
        return 0
    if within(APPLICATION):
        return 2
    if within(COMMAND_LINE):
        return 3
    return 1


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_ROOT.rglob("*.py"))}


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The package modules ``path`` imports anywhere in its body (``from x import y`` counts
    ``x.y`` when that is a module, else ``x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in known
                else node.module
                for alias in node.names
            ]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


@cache
def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    known = set(modules)
    return {
        name: imported_modules(path, known) - {name, "riskengine"} for name, path in modules.items()
    }


def test_the_layer_rule_sees_a_violation() -> None:
    assert layer("riskengine.io.chunks") < layer("riskengine.features.policy")
    assert layer("riskengine.features.policy") < layer("riskengine.app.scoring")
    assert layer("riskengine.app.scoring") < layer("riskengine.cli")


# The module names only: the graph is parsed when a test first asks for it, not while every
# xdist worker collects the suite.
@pytest.mark.parametrize("module", sorted(package_modules()))
def test_no_import_runs_back_up_the_layers(module: str) -> None:
    upward = sorted(
        f"{imported} ({LAYER_NAMES[layer(imported)]})"
        for imported in import_graph()[module]
        if layer(imported) > layer(module)
    )
    assert not upward, f"{module} ({LAYER_NAMES[layer(module)]}) imports {', '.join(upward)}"


def test_no_import_cycles() -> None:
    try:
        tuple(graphlib.TopologicalSorter(import_graph()).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")


def test_the_report_and_the_history_do_not_reach_into_scoring() -> None:
    graph = import_graph()
    report_modules = [name for name in graph if name.startswith("riskengine.report")]
    for name in [*report_modules, "riskengine.models.history"]:
        assert not graph[name] & {"riskengine.prediction", "riskengine.app.scoring"}, name


def test_each_command_calls_the_application_not_the_domain() -> None:
    graph = import_graph()
    cli = set().union(
        *(imports for name, imports in graph.items() if name.startswith("riskengine.cli"))
    )
    domain = sorted(name for name in cli if layer(name) == 1)
    assert not domain, f"cli imports domain modules {domain}"


#: Past this a module holds more than one idea; split it along its seams (issue 10).
MAX_MODULE_LINES = 700


def test_no_module_is_over_the_line_limit() -> None:
    long = {
        name: length
        for name, path in package_modules().items()
        if (length := len(path.read_text(encoding="utf-8").splitlines())) >= MAX_MODULE_LINES
    }
    assert not long, f"modules of {MAX_MODULE_LINES} lines or more: {long}"


def test_the_buyers_page_calls_the_application_and_inputs_outputs_only() -> None:
    graph = import_graph()
    allowed = (*APPLICATION, *INPUTS_OUTPUTS, "riskengine.web")
    web = set().union(
        *(imports for name, imports in graph.items() if name.startswith("riskengine.web"))
    )
    assert web, "riskengine.web imports nothing of the package"
    other = sorted(
        name
        for name in web
        if not any(name == prefix or name.startswith(prefix + ".") for prefix in allowed)
    )
    assert not other, f"riskengine.web imports {other}"


def _top_level_imports(path: Path) -> set[str]:
    """The top-level package of every import in ``path``, inside functions too."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_tracking_module_talks_to_mlflow() -> None:
    talking = {
        name for name, path in package_modules().items() if "mlflow" in _top_level_imports(path)
    }
    assert talking == {"riskengine.models.tracking"}
