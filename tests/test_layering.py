"""The packages import downward only: utils < datasets, networks < training, metrics, generation < tools.

Every module of the library packages is parsed (no import runs), and every import statement in
it, at the top or inside a function, is checked: a package may import itself and the packages
on lower levels, never one on its own level or above, nor a tool script.
"""

import ast
import os

import pytest

from tests.conftest import REPO

# Package -> level; a package imports only packages of a lower level (and itself).
LEVELS = {
    "utils": 0,
    "datasets": 1,
    "networks": 1,
    "training": 2,
    "metrics": 2,
    "generation": 2,
}
# Top-level modules above every package: the command-line tools and their helpers.
TOOLS = {"train", "dataset_tool", "generate", "evaluate_metrics", "cli_types", "benchmarks", "tests"}


def _imported_roots(path):
    """(top-level name, line) of every absolute import in a module."""
    with open(path, encoding="utf-8") as file:
        tree = ast.parse(file.read(), filename=path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def _modules(package):
    for folder, _dirs, names in os.walk(os.path.join(REPO, package)):
        for name in sorted(names):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


@pytest.mark.parametrize("package", sorted(LEVELS))
def test_package_imports_only_lower_levels(package):
    violations = []
    for path in _modules(package):
        for root, line in _imported_roots(path):
            if root == package:
                continue
            upward = root in TOOLS or (root in LEVELS and LEVELS[root] >= LEVELS[package])
            if upward:
                violations.append(f"{os.path.relpath(path, REPO)}:{line} imports {root}")
    assert not violations, f"{package}/ (level {LEVELS[package]}) imports its level or above:\n" + "\n".join(violations)
