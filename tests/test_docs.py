"""The documentation's examples run, and print what the docs say they print."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType

import pytest
import trio

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "docs" / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXPECTED = {
    "quickstart": [
        'Let me check.\ncall get_weather {"city": "Paris"}\n',
        "usage: input_tokens=12",
    ],
    "tool_loop": ["2 + 40 = 42\n"],
    "agent_loop": [
        "[running: 3] get_weather called\n[running: 4] delete_file called\napprove delete_file",
        "[running: 0] get_weather: sunny, 21 °C in ",
        "Sunny everywhere; I left /etc/hosts alone.\n-- turn 2 done\n",
        "history: 7 messages, the last from the assistant\n",
    ],
    "responses_loop": ["2 + 40 = 42\n"],
    "otel": [
        "chat any ('stop',) 5\n",
        "['gen_ai.client.operation.duration', 'gen_ai.client.operation.time_per_output_chunk', "
        "'gen_ai.client.operation.time_to_first_chunk', 'gen_ai.client.token.usage']\n",
    ],
    "live_tool_calls": [
        "[0] write_file(...)\n[0] Roses are red,\n[0] channels are bounded,\n",
        "[0] done: write_file, 122 characters\n",
    ],
    "errors": [
        "rate limited; retry after 20.0 s\n",
        "I was sa ... silent for 0.2 s\n",
        "Part ... provider error 529: overloaded\n",
    ],
    "own_transport": ['"delta":"Hello"', '"finish_reason":"stop"'],
    "cancel": ["cancelled: True", "connections open: 0\n"],
    "confidence": ["'pos': p=0.99\n", "'positive' with p=0.46 (3 tokens)\n"],
    "structured_ui": ["draw: ", "final: Onion soup: Slice the onions, Simmer [10, 40]\n"],
    "openai_client": ["models: ['trio-chatsse-test']\n", "Hello from one shared client.\n"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_example_runs(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    main: Callable[[], Awaitable[None]] = load(name).main
    await main()
    out = capsys.readouterr().out
    for expected in EXPECTED[name]:
        assert expected in out


def test_every_example_is_tested() -> None:
    names = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("test_")}
    assert names == set(EXPECTED)


def test_readme_example_is_the_quickstart_file() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    source = (EXAMPLES / "quickstart.py").read_text()
    body = source[source.index("import httpx") :]
    assert any(body.strip() in block for block in blocks)


async def test_the_test_example_runs_in_a_fresh_project(tmp_path: Path) -> None:
    """Copied alone into a project with no pytest configuration, it passes as documented."""
    (tmp_path / "test_my_app.py").write_text((EXAMPLES / "test_my_app.py").read_text())
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # no trio_mode, no settings of ours
    result = await trio.run_process(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_stdout=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout.decode()
    assert "2 passed" in result.stdout.decode()
