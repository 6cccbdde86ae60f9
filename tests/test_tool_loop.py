"""open_tool_loop: tools started while the model streams, bounded, every call answered on every
exit, each API's own result form; against the embedded server, on the autojump clock."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any

import pydantic
import pytest
import trio
import trio.testing

from trio_chatsse import (
    Completed,
    FunctionCall,
    OutputItemDone,
    ProviderError,
    ToolApprovalRequest,
    ToolResult,
    open_tool_loop,
    tool,
)
from trio_chatsse.sansio import WireAPI
from trio_chatsse.testing import ChatServer, Reply, ScriptedToolCall, open_chat_server

from .conftest import TaskTracker
from .helpers import HTTPClient, new_client

APIS = ("chat", "responses", "messages", "ollama", "gemini")
CITY = [{"role": "user", "content": "Weather in Paris, Oslo and Rome?"}]


def conversation(api: str) -> dict[str, Any]:
    """The conversation argument and the options each API needs."""
    if api == "responses":
        return {"input": "Weather in Paris, Oslo and Rome?"}
    if api == "messages":
        return {"messages": CITY, "max_tokens": 256}
    if api == "gemini":
        return {"messages": [{"role": "user", "parts": [{"text": CITY[0]["content"]}]}]}
    return {"messages": CITY}


def calls(*names_and_args: tuple[str, dict[str, Any]], pace: float = 0.1) -> Reply:
    """A turn that calls tools, in order, each with an id of its own."""
    return Reply(
        tool_calls=[
            ScriptedToolCall(name, json.dumps(arguments), call_id=f"call_{index}")
            for index, (name, arguments) in enumerate(names_and_args)
        ],
        pace=pace,
    )


@pytest.fixture
async def client(http_library: str) -> AsyncIterator[tuple[ChatServer, HTTPClient]]:
    # The server refuses, as the providers do, a history with a call left without its result.
    async with open_chat_server(require_tool_results=True) as server:
        http = new_client(http_library, base_url=server.base_url, timeout=10)
        async with http:
            yield server, http


class Log:
    """When each tool started and finished, by the autojump clock."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self.cancelled: list[str] = []

    def tool(self, seconds: float = 0.5) -> Any:
        async def weather(city: str) -> str:
            """The weather in a city."""
            self.started[city] = trio.current_time()
            try:
                await trio.sleep(seconds)
            except trio.Cancelled:
                self.cancelled.append(city)
                raise
            self.finished[city] = trio.current_time()
            return f"sunny in {city}"

        return weather


THREE = (
    ("weather", {"city": "Paris"}),
    ("weather", {"city": "Oslo"}),
    ("weather", {"city": "Rome"}),
)


@pytest.mark.parametrize("api", APIS)
async def test_three_tools_run_together_and_start_before_the_turn_ends(
    api: WireAPI,
    client: tuple[ChatServer, HTTPClient],
    autojump_clock: trio.testing.MockClock,
    tasks: TaskTracker,
) -> None:
    server, http = client
    server.push(calls(*THREE), Reply(text="All sunny.", pace=0.1))
    log = Log()
    arrived: dict[str, float] = {}
    completed_at: list[float] = []
    results: list[ToolResult] = []
    async with open_tool_loop(
        http,
        api=api,
        model="m",
        tools=[log.tool()],
        **conversation(api),
    ) as loop:
        async for event in loop:
            if isinstance(event, OutputItemDone) and isinstance(event.item, FunctionCall):
                arrived[event.item.call_id] = trio.current_time()
            elif isinstance(event, Completed):
                completed_at.append(trio.current_time())
            elif isinstance(event, ToolResult):
                results.append(event)
    assert sorted(log.started) == ["Oslo", "Paris", "Rome"]
    last_arrival = max(arrived.values())
    # Together: all done about 0.5 s after the last call arrived, not 1.5 s.
    assert max(log.finished.values()) - last_arrival == pytest.approx(0.5, abs=0.05)
    # Eager: the first call started before the turn's Completed.
    assert min(log.started.values()) < completed_at[0]
    assert len(completed_at) == 2
    assert loop.turns == 2
    by_call = sorted(results, key=lambda r: r.call_id)
    assert [r.output for r in by_call] == ["sunny in Paris", "sunny in Oslo", "sunny in Rome"]
    assert all(r.error is None and r.duration == pytest.approx(0.5) for r in results)
    # The second request carried every result, in the API's own form.
    second = server.requests[1]
    assert_results_sent(api, second, ["call_0", "call_1", "call_2"], ["sunny in Paris"] * 1)
    assert loop.history[-1] == expected_last_turn(api, "All sunny.")


def assert_results_sent(
    api: WireAPI, request: dict[str, Any], call_ids: list[str], first_outputs: list[str]
) -> None:
    if api == "chat":
        messages = request["messages"]
        assistant = messages[-1 - len(call_ids)]
        assert assistant["role"] == "assistant"
        assert [c["id"] for c in assistant["tool_calls"]] == call_ids
        tools = messages[-len(call_ids) :]
        assert [m["role"] for m in tools] == ["tool"] * len(call_ids)
        assert [m["tool_call_id"] for m in tools] == call_ids
        assert [m["content"] for m in tools][: len(first_outputs)] == first_outputs
    elif api == "responses":
        items = request["input"]
        outputs = [i for i in items if i.get("type") == "function_call_output"]
        called = [i["call_id"] for i in items if i.get("type") == "function_call"]
        assert called == call_ids
        assert [o["call_id"] for o in outputs] == call_ids
        assert [o["output"] for o in outputs][: len(first_outputs)] == first_outputs
    elif api == "gemini":
        model, results = request["contents"][-2], request["contents"][-1]
        assert model["role"] == "model"
        calls = [p["functionCall"] for p in model["parts"] if "functionCall" in p]
        assert [c["id"] for c in calls] == call_ids
        assert results["role"] == "user"
        responses = [p["functionResponse"] for p in results["parts"]]
        assert [r["id"] for r in responses] == call_ids
        outputs = [next(iter(r["response"].values())) for r in responses]
        assert outputs[: len(first_outputs)] == first_outputs
    elif api == "ollama":
        messages = request["messages"]
        assistant = messages[-1 - len(call_ids)]
        assert len(assistant["tool_calls"]) == len(call_ids)  # Ollama's calls have no ids
        tools = messages[-len(call_ids) :]
        assert [m["role"] for m in tools] == ["tool"] * len(call_ids)
        assert all("tool_name" in m for m in tools)
        assert [m["content"] for m in tools][: len(first_outputs)] == first_outputs
    else:
        messages = request["messages"]
        assistant, results = messages[-2], messages[-1]
        assert assistant["role"] == "assistant"
        uses = [b["id"] for b in assistant["content"] if b["type"] == "tool_use"]
        assert uses == call_ids
        assert results["role"] == "user"
        assert [b["type"] for b in results["content"]] == ["tool_result"] * len(call_ids)
        assert [b["tool_use_id"] for b in results["content"]] == call_ids
        outputs = [b["content"] for b in results["content"]]
        assert outputs[: len(first_outputs)] == first_outputs


def expected_last_turn(api: WireAPI, text: str) -> dict[str, object]:
    if api == "responses":
        return {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text}],
        }
    if api == "messages":
        return {"role": "assistant", "content": [{"type": "text", "text": text}]}
    if api == "gemini":  # the closing part carries the reply's thought signature
        signature = Reply(text=text).signature()
        return {"role": "model", "parts": [{"text": text, "thoughtSignature": signature}]}
    return {"role": "assistant", "content": text}  # chat and ollama


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("how", ["tool_concurrency", "sequential_tools"])
async def test_one_at_a_time_in_the_models_order(
    api: WireAPI,
    how: str,
    client: tuple[ChatServer, HTTPClient],
    autojump_clock: trio.testing.MockClock,
) -> None:
    server, http = client
    server.push(calls(*THREE, pace=0), Reply(text="ok"))
    log = Log()
    option: dict[str, Any] = (
        {"tool_concurrency": 1} if how == "tool_concurrency" else {"sequential_tools": True}
    )
    async with open_tool_loop(
        http,
        api=api,
        model="m",
        tools=[log.tool()],
        **option,
        **conversation(api),
    ) as loop:
        async for _ in loop:
            pass
    order = sorted(log.started, key=log.started.__getitem__)
    assert order == ["Paris", "Oslo", "Rome"]
    starts = sorted(log.started.values())
    assert [b - a for a, b in itertools.pairwise(starts)] == pytest.approx([0.5, 0.5])


def failing(city: str) -> str:
    """Always fails."""
    raise RuntimeError(f"no station in {city}")


class Forecast(pydantic.BaseModel):
    city: str
    days: int


@pytest.mark.parametrize("api", APIS)
async def test_a_tools_failure_is_the_models_information(
    api: WireAPI, client: tuple[ChatServer, HTTPClient], autojump_clock: trio.testing.MockClock
) -> None:
    server, http = client

    async def forecast(city: str, days: Annotated[int, pydantic.Field(ge=1)]) -> Forecast:
        """A forecast."""
        return Forecast(city=city, days=days)

    @tool(timeout=1.0)
    async def slow(city: str) -> str:
        """Too slow."""
        await trio.sleep(5)
        return "late"

    # The Messages and Ollama APIs send arguments as JSON objects: no broken JSON there.
    broken = "{not json" if api not in ("messages", "ollama", "gemini") else '{"city": 5}'
    turn = Reply(
        tool_calls=[
            ScriptedToolCall("failing", '{"city": "Oslo"}', call_id="a"),
            ScriptedToolCall("forecast", '{"city": "Oslo", "days": 0}', call_id="b"),
            ScriptedToolCall("forecast", broken, call_id="c"),
            ScriptedToolCall("teleport", "{}", call_id="d"),
            ScriptedToolCall("slow", '{"city": "Oslo"}', call_id="e"),
            ScriptedToolCall("forecast", '{"city": "Oslo", "days": 2}', call_id="f"),
        ]
    )
    server.push(turn, Reply(text="Sorry."))
    results: dict[str, ToolResult] = {}
    async with open_tool_loop(
        http,
        api=api,
        model="m",
        tools=[failing, forecast, slow],
        **conversation(api),
    ) as loop:
        async for event in loop:
            if isinstance(event, ToolResult):
                results[event.call_id] = event
    assert "RuntimeError: no station in Oslo" in (results["a"].error or "")
    assert "days" in (results["b"].error or "")
    assert "invalid arguments" in results["b"].output
    expected = "not JSON" if api not in ("messages", "ollama", "gemini") else "city"
    assert expected in (results["c"].error or "")
    assert "unknown tool 'teleport'" in (results["d"].error or "")
    assert "failing, forecast, slow" in results["d"].output
    assert "timed out after 1 s" in (results["e"].error or "")
    assert results["f"].error is None
    assert json.loads(results["f"].output) == {"city": "Oslo", "days": 2}
    assert all(results[k].output.startswith("Error: ") for k in "abcde")
    assert loop.history[-1] == expected_last_turn(api, "Sorry.")
    if api == "messages":
        blocks: Any = server.requests[1]["messages"][-1]["content"]  # type: ignore[index]
        assert [b.get("is_error", False) for b in blocks] == [True] * 5 + [False]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("exit_by", ["break", "cancel"])
async def test_leaving_cancels_the_tools_and_answers_every_call(
    api: WireAPI,
    exit_by: str,
    client: tuple[ChatServer, HTTPClient],
    autojump_clock: trio.testing.MockClock,
    tasks: TaskTracker,
) -> None:
    server, http = client
    server.push(calls(*THREE), Reply(text="never"))
    log = Log()
    results = 0
    with trio.CancelScope() as scope:
        async with open_tool_loop(
            http,
            api=api,
            model="m",
            tools=[log.tool(seconds=60)],
            **conversation(api),
        ) as loop:
            async for event in loop:
                if isinstance(event, ToolResult):
                    results += 1
                if isinstance(event, Completed):
                    await trio.sleep(1)  # the tools are running
                    if exit_by == "break":
                        break
                    scope.cancel()
    assert sorted(log.cancelled) == ["Oslo", "Paris", "Rome"]
    assert log.finished == {}
    assert results == 0
    assert len(server.requests) == 1
    # The history ends with the turn and a "cancelled" result for each of its calls.
    history = loop.history
    if api == "chat":
        assert [m["content"] for m in history[-3:]] == ["cancelled"] * 3
        assert [m["tool_call_id"] for m in history[-3:]] == ["call_0", "call_1", "call_2"]
    elif api == "ollama":
        assert [(m["role"], m["content"]) for m in history[-3:]] == [("tool", "cancelled")] * 3
    elif api == "gemini":
        parts: Any = history[-1]["parts"]
        answers = [(p["functionResponse"]["id"], p["functionResponse"]["response"]) for p in parts]
        assert answers == [(f"call_{i}", {"error": "cancelled"}) for i in range(3)]
    elif api == "responses":
        outputs = [i for i in history if i.get("type") == "function_call_output"]
        assert [(o["call_id"], o["output"]) for o in outputs] == [
            (f"call_{i}", "cancelled") for i in range(3)
        ]
    else:
        blocks: Any = history[-1]["content"]
        assert [(b["tool_use_id"], b["content"], b["is_error"]) for b in blocks] == [
            (f"call_{i}", "cancelled", True) for i in range(3)
        ]


async def test_a_sync_tool_runs_in_a_thread_and_is_abandoned_on_cancel(
    client: tuple[ChatServer, HTTPClient],
) -> None:
    server, http = client
    server.push(calls(("block", {"seconds": 30})), Reply(text="never"))
    release = threading.Event()
    token = trio.lowlevel.current_trio_token()
    started = trio.Event()
    returned: list[str] = []

    def block(seconds: float) -> str:
        """Blocks its thread until released."""
        trio.from_thread.run_sync(started.set, trio_token=token)
        release.wait(seconds)
        returned.append("done")
        return "done"

    with trio.fail_after(10):
        async with open_tool_loop(http, model="m", messages=CITY, tools=[block]) as loop:
            async for event in loop:
                if isinstance(event, Completed):
                    await started.wait()
                    break
    # The loop did not wait for the thread, which is still blocked.
    assert returned == []
    release.set()
    assert loop.history[-1] == {"role": "tool", "tool_call_id": "call_0", "content": "cancelled"}


@pytest.mark.parametrize("api", APIS)
async def test_max_turns_answers_then_asks_for_text(
    api: WireAPI, client: tuple[ChatServer, HTTPClient], autojump_clock: trio.testing.MockClock
) -> None:
    server, http = client
    log = Log()
    server.push(
        calls(("weather", {"city": "Paris"})),
        calls(("weather", {"city": "Oslo"})),
        Reply(text="Enough."),
    )
    async with open_tool_loop(
        http,
        api=api,
        model="m",
        tools=[log.tool()],
        max_turns=2,
        **conversation(api),
    ) as loop:
        async for _ in loop:
            pass
    assert len(server.requests) == 3
    if api == "ollama":  # no tool_choice in its API: the last request has no tools
        assert ["tools" in r for r in server.requests] == [True, True, False]
    else:
        choice = "toolConfig" if api == "gemini" else "tool_choice"
        assert [choice in r for r in server.requests] == [False, False, True]
        none = {
            "chat": "none",
            "responses": "none",
            "messages": {"type": "none"},
            "gemini": {"functionCallingConfig": {"mode": "NONE"}},
        }[api]
        if api == "gemini":
            assert server.requests[2]["toolConfig"] == none
            return
        assert server.requests[2]["tool_choice"] == none
    assert loop.history[-1] == expected_last_turn(api, "Enough.")


async def test_a_last_turn_that_still_calls_is_answered_not_run(
    client: tuple[ChatServer, HTTPClient], autojump_clock: trio.testing.MockClock
) -> None:
    server, http = client
    log = Log()
    server.push(calls(("weather", {"city": "Paris"})))
    async with open_tool_loop(
        http, model="m", messages=CITY, tools=[log.tool()], max_turns=0
    ) as loop:
        events = [e async for e in loop]
    assert log.started == {}
    (result,) = [e for e in events if isinstance(e, ToolResult)]
    assert "max_turns" in (result.error or "")
    assert loop.history[-1]["role"] == "tool"


@pytest.mark.parametrize("api", APIS)
async def test_approval_granted_denied_and_left_pending(
    api: WireAPI, client: tuple[ChatServer, HTTPClient], autojump_clock: trio.testing.MockClock
) -> None:
    server, http = client
    ran: list[str] = []

    @tool(needs_approval=True)
    async def delete(path: str) -> str:
        """Deletes a file."""
        ran.append(path)
        return f"deleted {path}"

    server.push(
        calls(("delete", {"path": "a"}), ("delete", {"path": "b"})),
        calls(("delete", {"path": "c"})),
        Reply(text="never"),
    )
    requests: list[ToolApprovalRequest] = []
    turns = 0
    async with open_tool_loop(
        http,
        api=api,
        model="m",
        tools=[delete],
        **conversation(api),
    ) as loop:
        async for event in loop:
            if isinstance(event, ToolApprovalRequest):
                requests.append(event)
                if event.arguments == '{"path": "a"}':
                    loop.approve(event.call_id)
                elif event.arguments == '{"path": "b"}':
                    loop.deny(event.call_id, "b is precious")
            elif isinstance(event, Completed):
                turns += 1
                if turns == 2:
                    break  # the request of the second turn left pending
    assert [r.name for r in requests] == ["delete"] * 3
    assert ran == ["a"]
    with pytest.raises(KeyError, match="waits for approval"):
        loop.approve("call_0")
    assert_results_sent(
        api, server.requests[1], ["call_0", "call_1"], ["deleted a", "b is precious"]
    )
    last = json.dumps(loop.history[-1])
    assert "not approved" in last


async def test_a_turns_error_ends_the_loop_after_the_events_before_it(
    client: tuple[ChatServer, HTTPClient], autojump_clock: trio.testing.MockClock
) -> None:
    server, http = client
    error = {"message": "the model crashed", "type": "invalid_request_error"}
    server.push(
        calls(("weather", {"city": "Paris"})), Reply(text="half", error=error, error_after=3)
    )
    log = Log()
    seen: list[object] = []
    with pytest.raises(ProviderError, match="the model crashed") as info:
        async with open_tool_loop(
            http, model="m", messages=CITY, tools=[log.tool()], max_retries=0
        ) as loop:
            async for event in loop:
                seen.append(event)
    assert any(isinstance(e, ToolResult) for e in seen)
    assert info.value.__context__ is None  # no trio internals in the chain
    assert loop.history[-1]["role"] == "tool"


def test_a_tool_is_described_by_its_signature() -> None:
    def lookup(city: str, days: Annotated[int, pydantic.Field(description="how many")] = 1) -> str:
        """Looks the weather up."""
        return city

    made = tool(lookup)
    assert made.definition() == {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Looks the weather up.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "days": {"type": "integer", "description": "how many", "default": 1},
                },
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    }
    assert tool(name="other", description="d")(lookup).name == "other"


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (lambda city: city, "needs a name"),
        (lambda *args: None, "needs a name"),
    ],
)
def test_a_tool_that_cannot_be_described_is_a_type_error(function: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        tool(function)


def test_unannotated_or_variadic_parameters_are_type_errors() -> None:
    def bare(city):  # type: ignore[no-untyped-def]
        return city

    def variadic(*cities: str) -> str:
        return ""

    with pytest.raises(TypeError, match="needs a type annotation"):
        tool(bare)
    with pytest.raises(TypeError, match="cannot come from the model"):
        tool(variadic)


async def test_arguments_are_checked_before_any_request(http: HTTPClient) -> None:
    def weather(city: str) -> str:
        return city

    with pytest.raises(TypeError, match="input="):
        async with open_tool_loop(http, api="responses", model="m", messages=CITY, tools=[weather]):
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="tool_concurrency"):
        async with open_tool_loop(
            http, model="m", messages=CITY, tools=[weather], tool_concurrency=0
        ):
            pass  # pragma: no cover
    with pytest.raises(TypeError, match="two tools are named"):
        async with open_tool_loop(http, model="m", messages=CITY, tools=[weather, weather]):
            pass  # pragma: no cover


UNANSWERED: dict[str, tuple[dict[str, Any], str]] = {
    "chat": (
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "a",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        },
                        {
                            "id": "b",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "a", "content": "ok"},
            ]
        },
        "did not have response messages: b",
    ),
    "responses": (
        {
            "input": [
                {"role": "user", "content": "hi"},
                {"type": "function_call", "call_id": "b", "name": "f", "arguments": "{}"},
            ]
        },
        "No tool output found for function call b",
    ),
    "messages": (
        {
            "max_tokens": 10,
            "messages": [
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "b", "name": "f", "input": {}}],
                },
                {"role": "user", "content": "and?"},
            ],
        },
        "`tool_use` ids were found without `tool_result` blocks immediately after: b",
    ),
    "gemini": (
        {
            "contents": [
                {"role": "user", "parts": [{"text": "hi"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
                {"role": "user", "parts": [{"text": "and?"}]},
            ]
        },
        "number of function response parts is equal to the number of function call parts",
    ),
    "ollama": (
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f"}}]},
                {"role": "user", "content": "and?"},
            ]
        },
        "tool calls without a tool message of their tool_name: f",
    ),
}


@pytest.mark.parametrize("api", APIS)
async def test_the_server_refuses_a_call_left_without_its_result(
    api: WireAPI, client: tuple[ChatServer, HTTPClient]
) -> None:
    from trio_chatsse import HTTPStatusError
    from trio_chatsse._openers import OPENERS

    _, http = client
    fields, message = UNANSWERED[api]
    with pytest.raises(HTTPStatusError, match=message) as info:
        async with OPENERS[api](http, model="m", **fields):
            pass  # pragma: no cover
    assert info.value.status_code == 400
