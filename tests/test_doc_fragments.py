"""Every Python fragment of the docs and the README parses and names nothing it does not
define or import: a reader who copies one gets code that runs once its placeholders (a base
URL, a key) are filled in."""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
FILES = [*sorted((ROOT / "docs").glob("*.rst")), ROOT / "README.md"]
_RST_BLOCK = re.compile(
    r"^( *)\.\. code-block:: python\n(?:\1   :.*\n)*\n((?:\1   .*\n|[ \t]*\n)+)", re.M
)
_MD_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def fragments() -> Iterator[tuple[str, str]]:
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            for match in _MD_BLOCK.finditer(text):
                yield f"{path.name}:{text[: match.start()].count(chr(10)) + 2}", match[1]
            continue
        for match in _RST_BLOCK.finditer(text):
            indent = len(match[1]) + 3
            code = "\n".join(line[indent:] for line in match[2].splitlines())
            yield f"{path.name}:{text[: match.start(2)].count(chr(10)) + 1}", code


def defined_names(tree: ast.AST) -> set[str]:
    """Every name a fragment binds, anywhere in it (a loose check: order is not looked at)."""
    names = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif (isinstance(node, ast.ExceptHandler) and node.name) or (
            isinstance(node, ast.MatchAs | ast.MatchStar) and node.name
        ):
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


FRAGMENTS = list(fragments())


def test_the_docs_have_fragments() -> None:
    assert len(FRAGMENTS) > 15


@pytest.mark.parametrize(("where", "code"), FRAGMENTS, ids=[where for where, _ in FRAGMENTS])
def test_a_fragment_defines_what_it_uses(where: str, code: str) -> None:
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree = compile(code, where, "exec", flags)  # a SyntaxError fails the test
    known = defined_names(tree)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    assert sorted(used - known) == [], f"{where} uses names it never defines"
