"""The layout reads as the pipeline, and no lower layer imports a higher one: plans are read
and checked, the model is what the public sees of them, formats write it, the build engine
puts the site together, delivery announces it, the service runs it all, the command line
starts it. docs/internals.md draws the same picture."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "publisher"

# Lowest first. A module may import its own layer and those below it, never one above.
LAYERS = (
    ("settings", "workers"),  # the ground: settings and the worker-process rule
    ("plans",),  # reading and checking plan files
    ("text",),  # one way to say a date, a sum and a count; the one template environment
    ("changes",),  # what changed between versions of the plans, from git
    ("model",),  # the published model: what the public sees of a plans folder
    ("formats",),  # one module per output kind
    ("builder",),  # the build engine: tasks, cache, splicing, swapping
    ("delivery",),  # channels, the outbox, email and webhooks
    ("service",),  # the web app, the scheduler, health
    ("cli", "__main__"),  # the commands
)
LAYER = {name: level for level, names in enumerate(LAYERS) for name in names}


def _top(module: str) -> str | None:
    """'publisher.formats.pages' -> 'formats'; None for anything outside the package."""
    parts = module.split(".")
    if parts[0] != "publisher":
        return None
    return parts[1] if len(parts) > 1 else ""


def imports(path: Path) -> list[tuple[int, str]]:
    """Every publisher module `path` imports, with its line: at the top of the file or
    inside a function (a late import still ties the layers together)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "publisher":
                found += [(node.lineno, f"publisher.{alias.name}") for alias in node.names]
    return found


def upward_imports(package: Path) -> list[str]:
    """Each import from a lower layer to a higher one, as 'file:line: a (layer) imports b'."""
    wrong = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        own = relative.parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        if own not in LAYER:
            wrong.append(f"{relative}: not in a layer; add '{own}' to LAYERS in {__name__}")
            continue
        for line, module in imports(path):
            top = _top(module)
            if top is None or top == "":
                continue
            if top not in LAYER:
                wrong.append(f"{relative}:{line}: imports {module}, which is in no layer")
            elif LAYER[top] > LAYER[own]:
                wrong.append(f"{relative}:{line}: {own} imports {module}, a layer above it")
    return wrong


def test_no_lower_layer_imports_a_higher_one() -> None:
    assert upward_imports(PACKAGE) == []


def test_the_check_finds_an_upward_import(tmp_path: Path) -> None:
    """The rule can fail: a plans module that imports the build engine is named, with its
    line, and so is a folder in no layer."""
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "load.py").write_text(
        "import os\n\ndef late():\n    from publisher.builder import site\n", encoding="utf-8"
    )
    (tmp_path / "extras").mkdir()
    (tmp_path / "extras" / "thing.py").write_text("import publisher.plans\n", encoding="utf-8")
    assert upward_imports(tmp_path) == [
        "extras/thing.py: not in a layer; add 'extras' to LAYERS in tests.test_layers",
        "plans/load.py:4: plans imports publisher.builder, a layer above it",
    ]


@pytest.mark.parametrize("name", sorted(LAYER))
def test_every_layer_is_a_folder_or_module_of_the_package(name: str) -> None:
    assert (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()
