"""Imports point one way: the layering docs/architecture.md draws is the one the code has.

Read from the source text (``ast``), not by importing, so a lazy import inside a function counts
as much as one at the top of a module: both are arrows a reader has to follow.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import airflow_provider_tidb_lightning as root

PACKAGE = root.__name__
BASE = Path(root.__file__).parent

# What each part of the package may import from the package (besides itself). The engine's stages
# sit on common/, which sits on config/, which sits on errors; the Airflow layer sits on the engine.
ENGINE_BELOW = {
    "lightning.errors": set(),
    "lightning.config": {"lightning.errors"},
    "lightning.common": {"lightning.config", "lightning.errors"},
    "lightning.mydump": {"lightning.common", "lightning.config", "lightning.errors"},
    "lightning.errormanager": {"lightning.common", "lightning.config", "lightning.errors"},
}
ENGINE_BELOW |= {
    # Both read the mydump stage's values (RowBatch, ReadPosition); neither knows the other.
    "lightning.backend": {"lightning.mydump", *ENGINE_BELOW["lightning.mydump"]},
    "lightning.checkpoints": {"lightning.mydump", *ENGINE_BELOW["lightning.mydump"]},
}
ENGINE_BELOW["lightning.importer"] = {*ENGINE_BELOW, "lightning.backend", "lightning.checkpoints"}
ENGINE_BELOW["lightning.cli"] = {"lightning.importer", *ENGINE_BELOW["lightning.importer"]}
# tidb-lightning-ctl takes tidb-lightning's global flags: the ctl command reads them with the cli's code.
ENGINE_BELOW["lightning.ctl"] = {"lightning.cli", *ENGINE_BELOW["lightning.cli"]}
ALLOWED = dict(ENGINE_BELOW)
ENGINE = {"lightning", *ENGINE_BELOW}
ALLOWED["hooks"] = ENGINE
ALLOWED["triggers"] = {"hooks", *ENGINE}
ALLOWED["sensors"] = {"hooks", "triggers", *ENGINE}
ALLOWED["operators"] = {"hooks", *ENGINE}


def _module_name(path: Path) -> str:
    parts = path.relative_to(BASE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> frozenset[str]:
    return frozenset(_module_name(p) for p in BASE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports, relative to the package (``lightning.config.model``)."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
                found.update(f"{target}.{alias.name}".strip(".") for alias in node.names)
                found.add(target)
            elif node.module and node.module.startswith(PACKAGE + "."):
                target = node.module[len(PACKAGE) + 1:]
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name[len(PACKAGE) + 1:] for a in node.names if a.name.startswith(PACKAGE + "."))
    return {m for m in found if m in _modules() and m}


def _part(module: str) -> str:
    """The layer a module belongs to: ``lightning.<stage>`` for the engine, the top folder otherwise."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "lightning" and len(parts) > 1 else parts[0]


@cache
def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in BASE.rglob("*.py")}


def test_every_layer_has_a_rule() -> None:
    """A new engine package or Airflow folder must be placed in the layering, not slip past it."""
    parts = {_part(m) for m in _graph()} - {"", "lightning"}
    assert parts <= set(ALLOWED), sorted(parts - set(ALLOWED))


def test_imports_point_down() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items() if module and module != "lightning"
        for target in targets
        if _part(target) != _part(module) and _part(target) not in ALLOWED.get(_part(module), set())
    )
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_between_modules() -> None:
    graph = _graph()
    # A package's __init__ re-exporting its modules is not a cycle a reader must untangle.
    edges = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target):], target])
            elif target not in state:
                visit(target, [*stack, target])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)
