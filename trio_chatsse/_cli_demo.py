"""``trio-chatsse demo``: scripted answers from the embedded server, the library's features
one after another, then the faults it survives. No network, no key."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import trio
from pydantic import BaseModel

from ._cli_output import Printer
from ._errors import HTTPStatusError, IdleTimeoutError, ProviderError
from ._http import open_chat_stream, open_messages_stream, open_responses_stream
from ._tool_loop import open_tool_loop
from .testing import Reply, ScriptedToolCall, open_chat_server

if TYPE_CHECKING:
    from ._clients import HTTPClient

__all__ = ["DemoForecast", "run_demo"]


DEMO_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


class DemoForecast(BaseModel):
    """The demo's structured answer."""

    city: str
    temp_c: int
    advice: str


async def run_demo(printer: Printer, new_client: Callable[..., HTTPClient]) -> None:
    """Stream scripted answers from the embedded server: what the library does, and faults."""
    replies = [
        Reply(
            reasoning="The user asks about the weather in Paris. I should call get_weather.",
            text="Let me look that up for you.",
            tool_calls=[
                ScriptedToolCall(
                    "get_weather",
                    '{"city": "Paris", "units": "celsius"}',
                    call_id="call_demo_1",
                    extra_content={"google": {"thought_signature": "EjQKMgEMOdbH..."}},
                )
            ],
            fragment_size=6,
        ),
        Reply(text="It is 18 °C and sunny in Paris: a fine day for a walk along the Seine.\n"),
        Reply(
            reasoning="The user wants an umbrella tip; sunny means no.",
            text="No umbrella needed today.\n",
        ),
        Reply(
            reasoning="Same question, Anthropic's wire form; still sunny.",
            text="Still no umbrella needed.\n",
        ),
        Reply(text=DemoForecast(city="Paris", temp_c=18, advice="No umbrella.").model_dump_json()),
        Reply(text="This answer will stall halfway", stall=5.0, stall_after=4),
        Reply(
            tool_calls=[
                ScriptedToolCall("weather", f'{{"city": "{city}"}}', call_id=f"call_{city}")
                for city in ("Paris", "Oslo", "Rome")
            ],
            pace=0.05,
        ),
        Reply(text="Sunny in Paris and Rome, rain in Oslo.\n", pace=0.02),
        Reply(
            text="Partial answer",
            error={"message": "The model is overloaded", "code": 529},
            error_after=3,
        ),
    ]
    # The server plays Gemini 3: it signs the tool call and refuses a next request without
    # the signature, as the real one does.
    async with open_chat_server(*replies, require_state_back=True) as server:
        async with new_client(base_url=server.base_url) as http:
            messages: list[dict[str, object]] = [
                {"role": "user", "content": "What's the weather in Paris?"}
            ]
            printer.note(
                f"# embedded server at {server.base_url}\n"
                "# 1. reasoning, text, and a tool call whose arguments stream"
            )
            async with open_chat_stream(
                http, model="demo", messages=messages, tools=DEMO_TOOLS, stream_tool_arguments=True
            ) as stream:
                async for event in stream:
                    printer.event(event)
            call = stream.tool_calls[0]
            messages += [
                stream.assistant_message(),  # with the call's thought signature
                {
                    "role": "tool",
                    "tool_call_id": call.call_id,
                    "content": '{"temp_c": 18, "sky": "sunny"}',
                },
            ]
            printer.note(
                "# 2. the tool result goes back with stream.assistant_message() "
                "(signature included); the answer streams"
            )
            async with open_chat_stream(http, model="demo", messages=messages) as stream:
                async for event in stream:
                    printer.event(event)
            printer.note(
                "# 3. the same events over the Responses API (open_responses_stream): "
                "a reasoning summary, then text"
            )
            question = "Do I need an umbrella?"
            async with open_responses_stream(http, model="demo", input=question) as stream:
                async for event in stream:
                    printer.event(event)
            printer.note(
                "# 4. the same events over the Anthropic Messages API (open_messages_stream): "
                "thinking, then text"
            )
            user = [{"role": "user", "content": question}]
            async with open_messages_stream(
                http, model="demo", messages=user, max_tokens=256
            ) as stream:
                async for event in stream:
                    printer.event(event)
            printer.note("# 5. typed structured output (output_type=): partials, then the model")
            async with open_chat_stream(
                http, model="demo", messages=user, output_type=DemoForecast
            ) as forecast:
                async for partial in forecast.partial_outputs():
                    printer.note(f"  partial: {partial!r}")
                result = await forecast.final_output()
            printer.output(result)
            printer.note(f"  validated: {result!r}")
            printer.note("# 6. a server that stalls mid-answer (idle_timeout=0.5 s)")
            await _demo_fault(http, printer, idle_timeout=0.5)
            printer.note(
                "# 7. a tool loop (open_tool_loop): three 0.3 s tools run together while the "
                "model streams, their results go back, the answer follows"
            )
            started = trio.current_time()
            messages = [{"role": "user", "content": "Weather in Paris, Oslo and Rome?"}]
            async with open_tool_loop(
                http, model="demo", messages=messages, tools=[weather]
            ) as loop:
                async for loop_event in loop:
                    printer.event(loop_event)
            took = trio.current_time() - started
            printer.note(f"  ({loop.turns} turns in {took:.1f} s; history: {len(loop.history)})")
            printer.note("# 8. a provider error inside the stream")
            await _demo_fault(http, printer, idle_timeout=10.0)


async def weather(city: str) -> str:
    """The weather in a city (the demo's tool: a slow API)."""
    await trio.sleep(0.3)
    return "rain" if city == "Oslo" else "sunny"


async def _demo_fault(http: HTTPClient, printer: Printer, *, idle_timeout: float) -> None:
    messages = [{"role": "user", "content": "Tell me something."}]
    events = 0
    try:
        async with open_chat_stream(
            http, model="demo", messages=messages, idle_timeout=idle_timeout
        ) as stream:
            async for event in stream:
                events += 1
                printer.event(event)
    except (IdleTimeoutError, ProviderError, HTTPStatusError) as exc:
        # The faults are what these scenarios show: caught, reported, and the demo goes on.
        printer.error(exc, f"  -> caught {type(exc).__name__} after {events} events: {exc.message}")
