"""The writer and the checkpoint stores stay on their side of the import direction.

importer -> backend / mydump / checkpoints / errormanager -> common -> config -> errors: the writer
gets what it needs from the checkpoint store through the protocols it defines, and the stores
need nothing of the writer. A loop between the two is how the code was once tangled.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.paths import REPO

ENGINE = REPO / "airflow_provider_tidb_lightning" / "lightning"


def _engine_imports(path: Path) -> set[str]:
    """First-level engine packages a module imports (relative imports resolved against the engine)."""
    package = path.relative_to(ENGINE).parent.parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            parts = [p for p in (*base, *(node.module or "").split(".")) if p]
            found.add(parts[0] if parts else node.names[0].name)  # "from .. import x" at the engine's top
    return found


@pytest.mark.parametrize("package,forbidden", [
    ("backend", {"checkpoints", "importer", "errormanager"}),
    ("checkpoints", {"backend", "importer", "errormanager"}),
    ("errormanager", {"backend", "importer", "checkpoints"}),
])
def test_package_does_not_import_its_siblings_or_the_importer(package, forbidden):
    modules = sorted((ENGINE / package).rglob("*.py"))
    assert modules
    wrong = {str(m.relative_to(ENGINE)): sorted(_engine_imports(m) & forbidden) for m in modules}
    assert {m: w for m, w in wrong.items() if w} == {}
