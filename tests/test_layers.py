"""The arrows that must never exist between the package's parts (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import voicecoach

ROOT = Path(voicecoach.__file__).parent

#: part -> packages its modules must not import (a part is a subpackage or a top-level module).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "engine": (
        "voicecoach.store",
        "voicecoach.session",
        "voicecoach.audio",
        "voicecoach.speech",
        "voicecoach.service",
        "voicecoach.cli",
    ),
    "audio": (
        "voicecoach.engine",
        "voicecoach.session",
        "voicecoach.service",
        "voicecoach.speech",
        "voicecoach.cli",
    ),
    "session": ("voicecoach.service", "voicecoach.cli"),
    "routines": ("voicecoach.session", "voicecoach.service", "voicecoach.cli"),
    "store": ("voicecoach.session", "voicecoach.service", "voicecoach.cli"),
    "speech": ("voicecoach.session", "voicecoach.service", "voicecoach.cli"),
    "enrollment": ("voicecoach.session", "voicecoach.service", "voicecoach.cli"),
}
NOWHERE = ("training", "bench", "tests")


def _runtime_imports(path: Path) -> set[str]:
    """Absolute names of what a module imports, leaving out ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(("voicecoach", *path.parent.relative_to(ROOT).parts))
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _modules(part: str) -> list[Path]:
    folder = ROOT / part
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [ROOT / f"{part}.py"]


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_a_part_never_imports_what_it_must_not_know(part: str):
    modules = _modules(part)
    assert modules and all(m.exists() for m in modules)
    leaks = sorted(
        f"{m.relative_to(ROOT)} imports {name}"
        for m in modules
        for name in _runtime_imports(m)
        if any(_within(name, banned) for banned in FORBIDDEN[part])
    )
    assert not leaks, leaks


def test_the_package_never_imports_training_bench_or_tests():
    leaks = sorted(
        f"{m.relative_to(ROOT)} imports {name}"
        for m in ROOT.rglob("*.py")
        for name in _runtime_imports(m)
        if any(_within(name, top) for top in NOWHERE)
    )
    assert not leaks, leaks


def test_only_the_cli_parses_arguments():
    users = sorted(
        str(m.relative_to(ROOT))
        for m in ROOT.rglob("*.py")
        for name in _runtime_imports(m)
        if _within(name, "click") or _within(name, "argparse")
    )
    assert set(users) == {"cli.py"}, users


def test_the_checker_sees_a_forbidden_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The rule is not vacuous: a leak written into a module is found, a TYPE_CHECKING one not."""
    fake = tmp_path / "voicecoach"
    (fake / "engine").mkdir(parents=True)
    leak = fake / "engine" / "leak.py"
    leak.write_text(
        "from typing import TYPE_CHECKING\n"
        "from ..store.db import Store\n"
        "if TYPE_CHECKING:\n"
        "    from voicecoach.session.inbox import Inbox\n"
    )
    monkeypatch.setattr(f"{__name__}.ROOT", fake)
    names = _runtime_imports(leak)
    assert "voicecoach.store.db" in names
    assert not any(_within(n, "voicecoach.session") for n in names)
