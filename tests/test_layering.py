"""Dependencies point one way (DESIGN.md): crawlers -> takedown -> reports; the faces sit on top; the emulator
is the outside world and imports nothing of the product."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PRODUCT = {"takedown", "crawlers", "reports", "scheduler"}
FACES = {"takedown/cli.py", "takedown/demo.py", "takedown/__main__.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("takedown"), ids=lambda p: str(p.relative_to(REPO)))
def test_core_imports_neither_crawlers_nor_reports(path: Path):
    rel = str(path.relative_to(REPO))
    if rel in FACES or rel.startswith("takedown/web/"):
        return
    assert not _imports(path) & {"crawlers", "reports", "emulator", "scheduler"}, rel


@pytest.mark.parametrize("path", _modules("emulator"), ids=lambda p: str(p.relative_to(REPO)))
def test_emulator_imports_nothing_of_the_product(path: Path):
    assert not _imports(path) & PRODUCT


@pytest.mark.parametrize("path", _modules("crawlers"), ids=lambda p: str(p.relative_to(REPO)))
def test_crawlers_do_not_import_reports_or_faces(path: Path):
    imports = _imports(path)
    assert not imports & {"reports", "emulator", "scheduler"}
    source = path.read_text(encoding="utf-8")
    assert "takedown.cli" not in source and "takedown.web" not in source


def test_the_check_reads_imports():
    assert {"crawlers", "takedown"} <= _imports(REPO / "crawlers" / "pipelines.py")
