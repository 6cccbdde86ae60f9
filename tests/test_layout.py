"""The package's shape: imports point down the layers, no circle, one registry of wire APIs."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

from trio_chatsse._apis import WIRE_APIS, wire_api
from trio_chatsse.sansio import WireAPI

PACKAGE = Path(__file__).parent.parent / "trio_chatsse"
#: Layers 1 and 2, and the models and rules they use: never trio, never an HTTP library.
PURE = {
    "_sse",
    "_response_items",
    "_chunks",
    "_responses",
    "_parsers",
    "_wire",
    "_tool_calls",
    "_turns",
    "_models",
    "_errors",
    "_telemetry",
    "_whole",
    "_sequence",
    "_stream_state",
    "_recovery",
    "testing._script",
    "testing._chat",
    "testing._responses",
    "testing._state",
    "testing._tool_results",
    "testing._ollama",
    "_ndjson",
    "_ollama",
    "_tool_turns",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(modules of this package, top-level outside modules) that ``path`` imports."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    inside: set[str] = set()
    outside: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".") if package else []
            base = base[: len(base) - (node.level - 1)]
            if node.module:
                inside.add(".".join([*base, node.module]))
            else:
                inside.update(".".join([*base, alias.name]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            outside.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            outside.update(alias.name.split(".")[0] for alias in node.names)
    return {m.strip(".") for m in inside}, outside


GRAPH = {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def test_no_import_circle() -> None:
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dependency in GRAPH[module][0]:
            if dependency not in GRAPH or dependency == "":
                continue
            if state.get(dependency) == 1:
                pytest.fail(f"import circle: {' -> '.join([*path, dependency])}")
            if dependency not in state:
                visit(dependency, [*path, dependency])
        state[module] = 2

    for module in GRAPH:
        if module not in state:
            visit(module, [module])


@pytest.mark.parametrize("module", sorted(PURE))
def test_pure_layers_import_no_trio_and_no_http_library(module: str) -> None:
    outside = GRAPH[module][1]
    assert not outside & {"trio", "httpx", "httpx2", "h11"}, module


def test_no_module_is_long() -> None:
    lengths = {
        str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")
    }
    longest = sorted(lengths.items(), key=lambda kv: -kv[1])[:3]
    assert longest[0][1] <= 520, longest


def test_the_registry_holds_every_wire_api() -> None:
    from trio_chatsse._openers import OPENERS

    assert set(WIRE_APIS) == set(get_args(WireAPI)) == set(OPENERS)
    for name, spec in WIRE_APIS.items():
        assert spec.name == name
        assert wire_api(name) is spec


def test_an_unknown_wire_api_is_a_value_error_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'chat', 'responses'"):
        wire_api("grpc")


def test_the_top_level_is_narrow_and_the_rest_has_a_public_home() -> None:
    import importlib

    import trio_chatsse

    assert len(trio_chatsse.__all__) <= 40, len(trio_chatsse.__all__)
    homes = ("sansio", "parts", "structured", "background", "batch", "telemetry", "testing")
    seen: dict[str, str] = {name: "trio_chatsse" for name in trio_chatsse.__all__}
    for home in homes:
        module = importlib.import_module(f"trio_chatsse.{home}")
        for name in module.__all__:
            assert hasattr(module, name), (home, name)
            # One name per concept: nothing public is exported from two places.
            assert name not in seen, f"{name} is in {seen.get(name)} and in {home}"
            seen[name] = home


def _private_writes(tree: ast.AST) -> list[ast.Attribute]:
    """Every ``x._field = ...`` (or augmented, or annotated) under ``tree``."""
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            found += [
                sub
                for sub in ast.walk(target)
                if isinstance(sub, ast.Attribute)
                and sub.attr.startswith("_")
                and not sub.attr.startswith("__")
            ]
    return found


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def test_no_object_writes_another_class_private_fields() -> None:
    """``other._field = ...`` only where ``_field`` is the enclosing class's own (a parser of
    n > 1 choices writing the parser of another choice, its own class)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        classes = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
        allowed: set[int] = set()
        for cls in classes:
            writes = _private_writes(cls)
            own = {write.attr for write in writes if _is_self(write.value)}
            allowed |= {id(write) for write in writes if write.attr in own}
        for write in _private_writes(tree):
            if not _is_self(write.value) and id(write) not in allowed:
                offenders.append(f"{path.name}:{write.lineno} {ast.unparse(write)}")
    assert not offenders, offenders
