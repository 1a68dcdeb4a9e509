"""The folder tree is the architecture: each product package imports only from the packages to its left in
LAYERS (the README's data flow), never from one to its right, so that a package can be read, tested and replaced
knowing only what it builds on."""

from __future__ import annotations

import ast
from pathlib import Path

from core.settings import PROJECT_ROOT

LAYERS = ("core", "privacy", "ingestion", "collector", "serving", "activation", "orchestration", "cli")
"""Left to right: core <- privacy <- ingestion <- collector <- (dbt_project) <- serving <- activation <-
orchestration <- cli. The collector writes landing files to the contract the ingestion package defines
(ingestion.spec, the events table), so it builds on ingestion although its files flow into it. dbt_project is
SQL: Python reaches it only through core.dbt_cli and the manifest."""
TOOLS = ("demo_data", "bench", "scripts")
"""Beside the product: they may use any product package; the product never imports them, except the CLI's
`warehouse generate`, which runs the generator."""


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & {*LAYERS, *TOOLS}


def violations() -> list[str]:
    found = []
    for rank, package in enumerate(LAYERS):
        allowed = set(LAYERS[: rank + 1])
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            for imported in sorted(imported_packages(path) & set(LAYERS) - allowed):
                found.append(f"{path.relative_to(PROJECT_ROOT)} imports {imported}")
    return found


def test_product_packages_import_only_from_their_left() -> None:
    assert violations() == []


def test_the_product_never_imports_the_benchmarks_or_scripts_and_only_the_cli_the_generator() -> None:
    found = []
    for package in LAYERS:
        tools = set(TOOLS) - ({"demo_data"} if package == "cli" else set())
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            names = sorted(imported_packages(path) & tools)
            found += [f"{path.relative_to(PROJECT_ROOT)} imports {name}" for name in names]
    assert found == []
