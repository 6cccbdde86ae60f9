"""Every example says what to install for what it imports beyond the default install."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "docs" / "examples").glob("*.py"))
#: What ``pip install trio-chatsse`` brings.
DEFAULT = {"trio", "httpx", "h11", "pydantic", "pydantic_core", "trio_chatsse"}
#: What an import needs installed, as an install line names it.
NEEDS = {
    "httpx2": 'trio-chatsse[httpx2]"',
    "openai": "openai",
    "anthropic": "anthropic",
    "opentelemetry": 'trio-chatsse[otel]"',
    "opentelemetry.sdk": "opentelemetry-sdk",
    "pytest": "pytest",
    "pytest_trio": "pytest-trio",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _needed(module: str) -> str | None:
    top = module.split(".")[0]
    if top in DEFAULT or top in sys.stdlib_module_names:
        return None
    for prefix in sorted(NEEDS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return NEEDS[prefix]
    return top


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_the_install_line_names_every_package_needed(example: Path) -> None:
    docstring = ast.get_docstring(ast.parse(example.read_text())) or ""
    line = next((line for line in docstring.splitlines() if "pip install" in line), "")
    for module in sorted(_imports(example)):
        needed = _needed(module)
        if needed is not None:
            assert needed in line, f"{example.name} imports {module}: say `pip install {needed}`"
