"""The ``trio-chatsse`` command, run as a subprocess against the embedded server."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
import trio

import trio_chatsse
from trio_chatsse import Completed, ToolResult
from trio_chatsse.sansio import EVENT_ADAPTER
from trio_chatsse.testing import ChatServer, Reply, ScriptedToolCall, open_chat_server

TIMEOUT = 30
KEY = "sk-cli-SECRET-abcdef123456"


async def run_cli(
    *args: str, env: Mapping[str, str] | None = None, stdin: bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    with trio.fail_after(TIMEOUT):
        return await trio.run_process(
            [sys.executable, "-m", "trio_chatsse", *args],
            stdin=stdin,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            env={**clean, **(env or {})},
            cwd=cwd,
        )


async def test_demo_runs_offline() -> None:
    result = await run_cli("demo")
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    assert "Let me look that up for you." in out
    assert "tool call get_weather (call_demo_1)" in out
    assert '"city": "Paris"' in out
    assert "sunny in Paris" in out
    assert "Still no umbrella needed." in out  # the Messages API scenario
    assert "[reasoning] The user asks" in err
    assert "[usage]" in err
    assert "caught IdleTimeoutError" in err
    assert "caught ProviderError" in err
    assert "No umbrella needed today." in out  # the Responses API scenario
    assert "partial: PartialDemoForecast(city='Paris', temp_c=None" in err  # structured output
    assert "validated: DemoForecast(city='Paris', temp_c=18" in err
    assert "tool result weather (call_Oslo, 0.30 s): rain" in out  # the tool loop
    assert "Sunny in Paris and Rome, rain in Oslo." in out
    assert "[reasoning] The user wants an umbrella tip" in err


async def test_chat_prints_text(chat_server: ChatServer) -> None:
    chat_server.push(Reply(text="Hello from the server.", reasoning="hmm"))
    result = await run_cli("chat", "hi", "--base-url", chat_server.base_url, "--model", "m1")
    assert result.returncode == 0
    assert result.stdout.decode() == "Hello from the server.\n"
    assert "[reasoning] hmm" in result.stderr.decode()
    assert chat_server.requests[0]["model"] == "m1"


async def test_chat_no_reasoning(chat_server: ChatServer) -> None:
    chat_server.push(Reply(text="x", reasoning="hidden"))
    result = await run_cli("chat", "hi", "--base-url", chat_server.base_url, "--no-reasoning")
    assert "hidden" not in result.stderr.decode()


async def test_chat_jsonl_prompt_from_stdin_and_env(chat_server: ChatServer) -> None:
    chat_server.push(Reply(text="ok", tool_calls=[ScriptedToolCall("f", '{"a": 1}')]))
    result = await run_cli(
        "chat",
        "--jsonl",
        "--system",
        "be brief",
        env={"OPENAI_BASE_URL": chat_server.base_url},
        stdin=b"from stdin",
    )
    assert result.returncode == 0
    events = [EVENT_ADAPTER.validate_json(line) for line in result.stdout.decode().splitlines()]
    assert isinstance(events[-1], Completed)
    assert events[-1].finish_reason == "tool_calls"
    assert chat_server.requests[0]["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "from stdin"},
    ]


async def test_chat_tools_file(chat_server: ChatServer, tmp_path: Path) -> None:
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([{"name": "get_weather", "parameters": {"type": "object"}}]))
    chat_server.push(Reply(tool_calls=[ScriptedToolCall("get_weather", '{"city": "Paris"}')]))
    result = await run_cli(
        "chat", "weather?", "--base-url", chat_server.base_url, "--tools", str(tools)
    )
    assert result.returncode == 0
    assert 'tool call get_weather (call_0):\n{\n  "city": "Paris"\n}\n' in result.stdout.decode()
    assert chat_server.requests[0]["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ]


async def test_http_error_exits_1_with_one_line_and_no_key() -> None:
    async with open_chat_server(api_key="the-right-key") as server:
        result = await run_cli("chat", "hi", "--base-url", server.base_url, "--api-key", KEY, "-v")
    err = result.stderr.decode()
    assert result.returncode == 1
    assert "HTTPStatusError: HTTP 401: Incorrect API key provided." in err
    assert "Traceback" not in err
    assert KEY not in err + result.stdout.decode()


async def test_stream_error_exits_1(chat_server: ChatServer) -> None:
    chat_server.push(Reply(text="partial", error={"message": "boom"}, error_after=2))
    result = await run_cli("chat", "hi", "--base-url", chat_server.base_url)
    assert result.returncode == 1
    assert result.stderr.decode().strip().endswith("ProviderError: boom")


async def test_usage_errors_exit_2(tmp_path: Path) -> None:
    no_url = await run_cli("chat", "hi")
    assert no_url.returncode == 2
    assert "OPENAI_BASE_URL" in no_url.stderr.decode()
    assert "demo" in no_url.stderr.decode()
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    bad_tools = await run_cli(
        "chat", "hi", "--base-url", "http://127.0.0.1:9/v1", "--tools", str(bad)
    )
    assert bad_tools.returncode == 2
    no_command = await run_cli()
    assert no_command.returncode == 2


async def test_ctrl_c_exits_130_cleanly() -> None:
    request_arrived = trio.Event()

    def stall(request: Mapping[str, object]) -> Reply:
        request_arrived.set()
        return Reply(text="slow answer that never ends", stall=60, stall_after=3)

    async with open_chat_server(default=stall) as server:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "trio_chatsse", "chat", "hi", "--base-url", server.base_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        with trio.fail_after(TIMEOUT):
            await request_arrived.wait()
            first = await process.stdout.receive_some()  # text is flowing
            process.send_signal(signal.SIGINT)
            code = await process.wait()
            err = b""
            while chunk := await process.stderr.receive_some():
                err += chunk
            await server.wait_connections_closed()
        await process.stdout.aclose()
        await process.stderr.aclose()
    assert first.startswith(b"slow")
    assert code == 130
    assert b"interrupted" in err
    assert b"Traceback" not in err


async def test_chat_with_either_http_library(chat_server: ChatServer, http_library: str) -> None:
    chat_server.push(Reply(text=f"via {http_library}"))
    result = await run_cli(
        "chat", "hi", "--base-url", chat_server.base_url, "--http-client", http_library
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == f"via {http_library}\n"


async def test_chat_streams_tool_arguments_when_asked(chat_server: ChatServer) -> None:
    call = ScriptedToolCall("get_weather", '{"city": "Paris"}')
    chat_server.push(Reply(tool_calls=[call]), Reply(tool_calls=[call]))
    base = ("chat", "weather?", "--base-url", chat_server.base_url, "--stream-tool-arguments")
    result = await run_cli(*base)
    assert result.returncode == 0
    assert result.stdout.decode() == 'tool call get_weather (call_0): {"city": "Paris"}\n'
    result = await run_cli(*base, "--jsonl")
    types = [json.loads(line)["type"] for line in result.stdout.decode().splitlines()]
    assert types.count("response.function_call_arguments.delta") == 5  # 4-character pieces
    assert "stream_tool_arguments" not in chat_server.requests[1]


async def test_chat_over_the_responses_api(chat_server: ChatServer, tmp_path: Path) -> None:
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([{"name": "get_weather", "parameters": {"type": "object"}}]))
    chat_server.push(Reply(text="Sunny.", reasoning="Look outside."))
    result = await run_cli(
        "chat", "weather?", "--base-url", chat_server.base_url, "--api", "responses",
        "--system", "be brief", "--tools", str(tools), "--max-tokens", "50",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == "Sunny.\n"
    assert "[reasoning] Look outside." in result.stderr.decode()
    assert chat_server.requests[0] == {
        "model": "gpt-4o-mini",
        "input": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "weather?"},
        ],
        "stream": True,
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
        "max_output_tokens": 50,
    }


async def test_chat_over_the_messages_api(chat_server: ChatServer, tmp_path: Path) -> None:
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([{"name": "get_weather", "parameters": {"type": "object"}}]))
    chat_server.push(Reply(text="Sunny.", reasoning="Look outside."))
    result = await run_cli(
        "chat", "weather?", "--base-url", chat_server.base_url, "--api", "messages",
        "--system", "be brief", "--tools", str(tools), "--max-tokens", "50",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == "Sunny.\n"
    assert "[reasoning] Look outside." in result.stderr.decode()
    assert chat_server.requests[0] == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "weather?"}],
        "max_tokens": 50,
        "stream": True,
        "system": "be brief",
        "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}],
    }


async def test_chat_background_resumes_across_a_cut(chat_server: ChatServer) -> None:
    chat_server.push(Reply(text="Resumed in one piece.", disconnect_after=6))
    result = await run_cli(
        "chat", "hi", "--base-url", chat_server.base_url, "--api", "responses", "--background"
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == "Resumed in one piece.\n"
    assert chat_server.requests[0]["background"] is True
    assert chat_server.background.resumes == [5]


async def test_background_needs_the_responses_api(chat_server: ChatServer) -> None:
    result = await run_cli("chat", "hi", "--base-url", chat_server.base_url, "--background")
    assert result.returncode == 2
    assert "--background needs --api responses" in result.stderr.decode()
    assert chat_server.requests == []


async def test_version() -> None:
    result = await run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.decode() == f"trio-chatsse {trio_chatsse.__version__}\n"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--max-retries", "-1"), b"", "--max-retries: must be 0 or more, not -1"),
        (("--idle-timeout", "0"), b"", "--idle-timeout: must be a positive number of seconds"),
        (("--idle-timeout", "soon"), b"", "--idle-timeout: not a number of seconds: 'soon'"),
        (("--first-byte-timeout", "-5"), b"", "--first-byte-timeout: must be a positive"),
        (("--max-tokens", "0"), b"", "--max-tokens: must be 1 or more"),
        (("--base-url", "localhost:8080/v1"), b"", "needs a scheme: http:// or https://"),
        ((), b"  \n", "the prompt is empty"),
    ],
    ids=["retries", "idle", "idle-text", "first-byte", "max-tokens", "scheme", "empty-prompt"],
)
async def test_bad_arguments_are_usage_errors_not_tracebacks(
    args: tuple[str, ...], stdin: bytes, message: str
) -> None:
    prompt = () if stdin else ("hi",)
    base = () if "--base-url" in args else ("--base-url", "http://127.0.0.1:9/v1")
    result = await run_cli("chat", *prompt, *base, *args, stdin=stdin)
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert message in err
    assert "Traceback" not in err


async def test_subcommands_describe_themselves() -> None:
    for command, words in (("demo", "No network, no API key"), ("chat", "Send one prompt")):
        result = await run_cli(command, "--help")
        assert result.returncode == 0
        assert words in result.stdout.decode()
    chat_help = (await run_cli("chat", "--help")).stdout.decode()
    assert "(default: on)" in chat_help


async def test_demo_jsonl_reports_the_errors_it_shows() -> None:
    result = await run_cli("demo", "--jsonl")
    assert result.returncode == 0  # the faults are what the demo shows; it handles them
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    errors = [r for r in records if r["type"] == "error"]
    assert [e["error"] for e in errors] == ["IdleTimeoutError", "ProviderError"]
    assert errors[1]["message"] == "The model is overloaded"
    outputs = [r for r in records if r["type"] == "output"]  # the structured answer's
    assert outputs == [
        {"type": "output", "output": {"city": "Paris", "temp_c": 18, "advice": "No umbrella."}}
    ]
    results = [ToolResult.model_validate(r) for r in records if r["type"] == TOOL_RESULT]
    assert sorted(r.output for r in results) == ["rain", "sunny", "sunny"]  # the tool loop's
    for record in records:
        if record["type"] not in ("error", "output", TOOL_RESULT):
            EVENT_ADAPTER.validate_python(record)


TOOL_RESULT = "tool_loop.tool_result"


async def test_chat_jsonl_ends_with_the_error_record(chat_server: ChatServer) -> None:
    chat_server.push(Reply(text="partial", error={"message": "boom"}, error_after=2))
    result = await run_cli("chat", "hi", "--base-url", chat_server.base_url, "--jsonl")
    assert result.returncode == 1
    raw = result.stdout.decode().splitlines()[-1]
    assert json.loads(raw) == {"type": "error", "error": "ProviderError", "message": "boom"}
    assert raw == '{"type":"error","error":"ProviderError","message":"boom"}'  # as events are


async def test_an_error_after_partial_text_gets_a_line_of_its_own(chat_server: ChatServer) -> None:
    chat_server.push(Reply(text="Hello sl", fragment_size=8, stall=30, stall_after=2))
    result = await run_cli("chat", "hi", "--base-url", chat_server.base_url, "--idle-timeout", "1")
    assert result.returncode == 1
    assert result.stdout.decode() == "Hello sl\n"  # the line is ended before the error
    assert result.stderr.decode().endswith(
        "trio-chatsse: IdleTimeoutError: no data from the server for 1 second\n"
    )


async def test_a_closed_stdout_is_the_readers_choice_and_exits_0() -> None:
    # `trio-chatsse demo | head -1`: the pipe closes after the first line.
    with trio.fail_after(TIMEOUT):
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "trio_chatsse", "demo"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        first = await process.stdout.receive_some()
        await process.stdout.aclose()
        code = await process.wait()
    assert first
    assert code == 0


async def test_serve_answers_chat_with_the_scripted_replies(tmp_path: Path) -> None:
    replies = tmp_path / "replies.json"
    scripted = [{"text": "Scripted hello!"}, {"text": "Second reply.", "fragment_size": 2}]
    replies.write_text(json.dumps(scripted))
    command = [sys.executable, "-m", "trio_chatsse", "serve", "--port", "0", "--replies"]
    async with trio.open_nursery() as nursery:
        process = await nursery.start(
            functools.partial(
                trio.run_process, [*command, str(replies)], stdout=subprocess.PIPE, check=False
            )
        )
        try:
            assert process.stdout is not None
            with trio.fail_after(TIMEOUT):
                first = b""
                while b"\n" not in first:
                    first += await process.stdout.receive_some(4096)
            base_url = first.split(b"\n")[0].split()[-1].decode()
            assert base_url.startswith("http://127.0.0.1:")
            one = await run_cli("chat", "hi", "--base-url", base_url)
            two = await run_cli("chat", "hi", "--base-url", base_url, "--api", "messages")
            three = await run_cli("chat", "echo me", "--base-url", base_url, "--api", "responses")
        finally:
            process.terminate()
    assert one.stdout.decode() == "Scripted hello!\n"
    assert two.stdout.decode() == "Second reply.\n"
    assert three.stdout.decode() == "You said: echo me\n"


async def test_serve_refuses_replies_it_cannot_read(tmp_path: Path) -> None:
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([{"txt": "typo"}]))
    result = await run_cli("serve", "--replies", str(replies))
    assert result.returncode == 2
    assert "reply 1" in result.stderr.decode()
    assert "txt" in result.stderr.decode()


MODELS = """
from pydantic import BaseModel

class Step(BaseModel):
    title: str
    minutes: int

class Recipe(BaseModel):
    name: str
    steps: list[Step]

class Scores(BaseModel):
    scores: dict[str, int]
"""


async def test_chat_output_type_prints_the_validated_output_last(
    chat_server: ChatServer, tmp_path: Path
) -> None:
    (tmp_path / "cli_models.py").write_text(MODELS)
    answer = {"name": "Soup", "steps": [{"title": "Boil", "minutes": 20}]}
    chat_server.push(Reply(text=json.dumps(answer), fragment_size=3))
    url = chat_server.base_url
    args = ("chat", "soup", "--base-url", url, "--jsonl", "--output-type", "cli_models:Recipe")
    result = await run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert lines[-2]["type"] == "response.completed"
    assert lines[-1] == {"type": "output", "output": answer}
    sent = chat_server.requests[0]["response_format"]
    assert sent["json_schema"]["name"] == "Recipe"  # type: ignore[index]  # JSON


async def test_chat_output_type_reports_invalid_output_as_a_stream_error(
    chat_server: ChatServer, tmp_path: Path
) -> None:
    (tmp_path / "cli_models.py").write_text(MODELS)
    chat_server.push(Reply(text='{"name": "Soup"}'))
    args = ("chat", "x", "--base-url", chat_server.base_url, "--output-type", "cli_models:Recipe")
    result = await run_cli(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.decode() == '{"name": "Soup"}\n'
    assert "OutputValidationError" in result.stderr.decode()
    assert "steps" in result.stderr.decode()


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("cli_models", "MODULE:CLASS"),
        ("no_such_module:Recipe", "cannot import"),
        ("cli_models:Nothing", "pydantic model class"),
        ("cli_models:Scores", "arbitrary keys"),
    ],
)
async def test_chat_output_type_mistakes_are_usage_errors(
    chat_server: ChatServer, tmp_path: Path, spec: str, says: str
) -> None:
    (tmp_path / "cli_models.py").write_text(MODELS)
    args = ("chat", "x", "--base-url", chat_server.base_url, "--output-type", spec)
    result = await run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert says in result.stderr.decode()
    assert chat_server.requests == []


@pytest.mark.parametrize("api", ["chat", "responses"])
async def test_chat_logprobs_shows_each_deltas_tokens(chat_server: ChatServer, api: str) -> None:
    chat_server.push(Reply(text="Hello there.", fragment_size=5))
    url = chat_server.base_url
    result = await run_cli(
        "chat", "hi", "--base-url", url, "--api", api, "--jsonl", "--logprobs", "2"
    )
    assert result.returncode == 0, result.stderr.decode()
    deltas = [
        json.loads(line)
        for line in result.stdout.decode().splitlines()
        if '"response.output_text.delta"' in line
    ]
    tokens = [token for delta in deltas for token in delta["logprobs"]]
    assert "".join(t["token"] for t in tokens) == "Hello there."
    assert all(len(t["top_logprobs"]) == 2 for t in tokens)
    request = chat_server.requests[0]
    if api == "chat":
        assert (request["logprobs"], request["top_logprobs"]) == (True, 2)
    else:
        assert request["include"] == ["message.output_text.logprobs"]


TOOLS_MODULE = '''
import trio


async def get_weather(city: str) -> str:
    """The current weather in a city."""
    await trio.sleep(0)
    return f"sunny in {city}"
'''


@pytest.mark.parametrize("api", ["chat", "responses", "messages", "ollama", "gemini"])
async def test_chat_tool_runs_the_loop_with_the_users_function(
    chat_server: ChatServer, tmp_path: Path, api: str
) -> None:
    (tmp_path / "cli_tools.py").write_text(TOOLS_MODULE)
    call = ScriptedToolCall("get_weather", '{"city": "Oslo"}', call_id="call_1")
    chat_server.push(Reply(tool_calls=[call]), Reply(text="It is sunny."))
    url = chat_server.base_url
    args = ("chat", "weather?", "--base-url", url, "--api", api, "--tool", "cli_tools:get_weather")
    result = await run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "tool result get_weather (call_1" in out
    assert "sunny in Oslo" in out
    assert out.rstrip().endswith("It is sunny.")
    assert len(chat_server.requests) == 2
    sent = json.dumps(chat_server.requests[1])
    assert "sunny in Oslo" in sent


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (("--tool", "cli_tools"), "MODULE:FUNCTION"),
        (("--tool", "no_such_module:f"), "cannot import"),
        (("--tool", "cli_tools:nothing"), "has no function"),
        (("--tool", "cli_tools:get_weather", "--background"), "no --background"),
    ],
)
async def test_chat_tool_mistakes_are_usage_errors(
    chat_server: ChatServer, tmp_path: Path, extra: tuple[str, ...], says: str
) -> None:
    (tmp_path / "cli_tools.py").write_text(TOOLS_MODULE)
    result = await run_cli("chat", "x", "--base-url", chat_server.base_url, *extra, cwd=tmp_path)
    assert result.returncode == 2
    assert says in result.stderr.decode()
    assert chat_server.requests == []


async def test_serve_replays_a_cassette(tmp_path: Path, chat_server: ChatServer) -> None:
    import httpx

    from trio_chatsse import open_chat_stream
    from trio_chatsse.testing import record

    hello = [{"role": "user", "content": "hi"}]
    cassette = tmp_path / "hello.json"
    chat_server.push(Reply(text="Recorded hello!"))
    async with httpx.AsyncClient(base_url=chat_server.base_url) as real:
        async with record(real, cassette) as http:
            async with open_chat_stream(http, model="trio-chatsse-test", messages=hello) as stream:
                await stream.final()
    command = [sys.executable, "-m", "trio_chatsse", "serve", "--port", "0", "--cassette"]
    async with trio.open_nursery() as nursery:
        process = await nursery.start(
            functools.partial(
                trio.run_process, [*command, str(cassette)], stdout=subprocess.PIPE, check=False
            )
        )
        try:
            assert process.stdout is not None
            with trio.fail_after(TIMEOUT):
                first = b""
                while b"\n" not in first:
                    first += await process.stdout.receive_some(4096)
            base_url = first.split(b"\n")[0].split()[-1].decode()
            result = await run_cli(
                "chat", "hi", "--base-url", base_url, "--model", "trio-chatsse-test"
            )
        finally:
            process.terminate()
    assert result.stdout.decode() == "Recorded hello!\n"
    missing = await run_cli("serve", "--cassette", str(tmp_path / "none.json"))
    assert missing.returncode == 2
