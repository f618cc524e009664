"""The house itself: the import graph's direction, no cycles between stages, small modules."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("matcher", "api")
MAX_LINES = 320  # "under ~300 lines": a module past this is asking to be split by concept


def modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_import_contracts_hold():
    """`lint-imports` (import-linter) checks the contracts of pyproject.toml: matcher never imports
    api, and each stage imports only the stages below it (so no cycle between them)."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is part of the test extra"
    done = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_small_and_says_what_it_is(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_LINES, f"{path.name} has {len(text.splitlines())} lines"
    if text.strip() and path.name != "__main__.py":
        assert ast.get_docstring(ast.parse(text)), f"{path} has no module docstring"


def test_matcher_never_imports_api_even_lazily():
    """Also imports inside functions, which the import graph may miss."""
    for path in (ROOT / "matcher").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "api" or n.startswith("api.") for n in names), f"{path} imports {names}"
