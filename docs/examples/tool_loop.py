"""Run the model's tool calls and send the results back until it answers in text."""

from __future__ import annotations

import json

import httpx
import trio

from trio_chatsse import FunctionCall, open_chat_stream
from trio_chatsse.testing import Reply, ScriptedToolCall, open_chat_server

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "add",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            },
        },
    }
]


def run_tool(call: FunctionCall) -> str:
    arguments = json.loads(call.arguments)
    return json.dumps({"sum": arguments["a"] + arguments["b"]})


async def main() -> None:
    replies = [
        Reply(tool_calls=[ScriptedToolCall("add", '{"a": 2, "b": 40}', call_id="call_1")]),
        Reply(text="2 + 40 = 42"),
    ]
    async with open_chat_server(*replies) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            messages: list[dict[str, object]] = [{"role": "user", "content": "What is 2 + 40?"}]
            while True:
                async with open_chat_stream(
                    http, model="any", messages=messages, tools=TOOLS
                ) as stream:
                    await stream.final()  # read the whole answer; stream.text etc. hold it
                if not stream.tool_calls:
                    print(stream.text)
                    return
                messages.append(
                    {
                        "role": "assistant",
                        "content": stream.text or None,
                        "tool_calls": [
                            {
                                "id": c.call_id,
                                "type": "function",
                                "function": {"name": c.name, "arguments": c.arguments},
                            }
                            for c in stream.tool_calls
                        ],
                    }
                )
                for call in stream.tool_calls:
                    messages.append(
                        {"role": "tool", "tool_call_id": call.call_id, "content": run_tool(call)}
                    )


if __name__ == "__main__":
    trio.run(main)
