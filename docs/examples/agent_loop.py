"""A tool loop: three tools run while the model still streams, a dangerous one asks first,
and a status line shows what runs."""

from __future__ import annotations

import httpx
import trio

from trio_chatsse import (
    Completed,
    FunctionCall,
    OutputItemDone,
    OutputTextDelta,
    ToolApprovalRequest,
    ToolResult,
    open_tool_loop,
    tool,
)
from trio_chatsse.testing import Reply, ScriptedToolCall, open_chat_server


async def get_weather(city: str) -> str:
    """The current weather in a city."""
    await trio.sleep(0.5)  # a slow API
    return f"sunny, 21 °C in {city}"


@tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Deletes a file (sync: runs in a worker thread)."""
    return f"deleted {path}"


def call(name: str, arguments: str, call_id: str) -> ScriptedToolCall:
    return ScriptedToolCall(name, arguments, call_id=call_id)


async def main() -> None:
    replies = [
        Reply(
            tool_calls=[
                call("get_weather", '{"city": "Paris"}', "c1"),
                call("get_weather", '{"city": "Oslo"}', "c2"),
                call("get_weather", '{"city": "Rome"}', "c3"),
                call("delete_file", '{"path": "/etc/hosts"}', "c4"),
            ],
            pace=0.05,
        ),
        Reply(text="Sunny everywhere; I left /etc/hosts alone."),
    ]
    async with open_chat_server(*replies, require_tool_results=True) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            messages = [{"role": "user", "content": "Weather in Paris, Oslo, Rome?"}]
            running: set[str] = set()
            async with open_tool_loop(
                http, model="any", messages=messages, tools=[get_weather, delete_file]
            ) as loop:
                async for event in loop:
                    match event:
                        case OutputItemDone(item=FunctionCall(name=name, call_id=call_id)):
                            running.add(call_id)
                            print(f"[running: {len(running)}] {name} called")
                        case ToolApprovalRequest(call_id=call_id, name=name, arguments=args):
                            running.discard(call_id)
                            print(f"approve {name}({args})? no")
                            loop.deny(call_id, "the user said no")
                        case ToolResult(call_id=call_id, name=name, output=output):
                            running.discard(call_id)
                            print(f"[running: {len(running)}] {name}: {output}")
                        case OutputTextDelta(delta=delta):
                            print(delta, end="")
                        case Completed():
                            print(f"\n-- turn {loop.turns} done")
            last = loop.history[-1]["role"]
            print(f"history: {len(loop.history)} messages, the last from the {last}")


if __name__ == "__main__":
    trio.run(main)
