"""What users copy type-checks under ``mypy --strict``: the README's example, the quickstart,
and an agent loop that appends the assistant message to its annotated ``messages``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).parent.parent

LOOP = """
from trio_chatsse import ChatStream, InputItemParam, MessageParam


async def next_turn(stream: ChatStream, responses: ChatStream) -> None:
    messages: list[MessageParam] = [{"role": "user", "content": "What is 2 + 40?"}]
    messages.append(stream.assistant_message())
    messages.append({"role": "tool", "tool_call_id": "call_1", "content": "42"})
    inputs: list[InputItemParam] = [{"role": "user", "content": "What is 2 + 40?"}]
    inputs += responses.input_items()
"""

WRONG = """
from trio_chatsse import ChatStream


async def next_turn(stream: ChatStream) -> None:
    messages = [{"role": "user", "content": "What is 2 + 40?"}]
    messages.append(stream.assistant_message())
"""


def check(tmp_path: Path, **sources: str) -> tuple[str, int]:
    for name, source in sources.items():
        (tmp_path / f"{name}.py").write_text(source)
    out, err, status = mypy_api.run(
        [
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            *(str(tmp_path / f"{name}.py") for name in sources),
        ]
    )
    return out + err, status


def test_the_readme_quickstart_and_a_loop_type_check(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    quickstart = (ROOT / "docs" / "examples" / "quickstart.py").read_text()
    out, status = check(tmp_path, readme=block.group(1), quickstart=quickstart, loop=LOOP)
    assert status == 0, out


def test_an_unannotated_list_is_the_trap_the_alias_avoids(tmp_path: Path) -> None:
    """Without the annotation mypy infers ``list[dict[str, str]]`` and refuses the append: the
    reason ``MessageParam`` exists (and what the docs tell users to write)."""
    out, status = check(tmp_path, wrong=WRONG)
    assert status == 1
    assert "append" in out


CLIENTS = """
import httpx
import trio_chatsse


async def main(sync: httpx.Client, good: httpx.AsyncClient) -> None:
    async with trio_chatsse.open_chat_stream(good, model="m", messages=[]):
        pass
    async with trio_chatsse.open_chat_stream("http://x", model="m", messages=[]):
        pass
    async with trio_chatsse.open_chat_stream(sync, model="m", messages=[]):
        pass
"""


@pytest.mark.parametrize("httpx2_installed", [True, False])
def test_a_str_or_a_sync_client_fails_type_checking(tmp_path: Path, httpx2_installed: bool) -> None:
    """Also where httpx2 is not installed (its classes are then ``Any`` to mypy: simulated by
    not following its imports), which a union of the two classes would let through."""
    if not httpx2_installed:
        (tmp_path / "mypy.ini").write_text("[mypy]\n\n[mypy-httpx2.*]\nfollow_imports = skip\n")
    (tmp_path / "clients.py").write_text(CLIENTS)
    config = ["--config-file", str(tmp_path / "mypy.ini")] if not httpx2_installed else []
    out, err, status = mypy_api.run(
        [
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            *config,
            str(tmp_path / "clients.py"),
        ]
    )
    assert status == 1, out + err
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 2, out
    assert 'Argument 1 to "open_chat_stream" has incompatible type "str"' in out
    assert '"Client"' in out
