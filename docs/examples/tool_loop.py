"""Run the model's tool calls and send the results back until it answers in text."""

from __future__ import annotations

import json

import httpx
import trio

from trio_chatsse import FunctionCall, MessageParam, open_chat_stream
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
    # The server plays Gemini 3: a thought signature on the call, which must come back.
    signed = {"google": {"thought_signature": "EjQKMgEM..."}}
    replies = [
        Reply(tool_calls=[ScriptedToolCall("add", '{"a": 2, "b": 40}', extra_content=signed)]),
        Reply(text="2 + 40 = 42"),
    ]
    async with open_chat_server(*replies, require_state_back=True) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            messages: list[MessageParam] = [{"role": "user", "content": "What is 2 + 40?"}]
            while True:
                async with open_chat_stream(
                    http, model="any", messages=messages, tools=TOOLS
                ) as stream:
                    await stream.final()  # read the whole answer; stream.text etc. hold it
                if not stream.tool_calls:
                    print(stream.text)
                    return
                # Text, tool calls and the provider's state (here the signature), as it wants.
                messages.append(stream.assistant_message())
                for call in stream.tool_calls:
                    result = run_tool(call)
                    messages.append(
                        {"role": "tool", "tool_call_id": call.call_id, "content": result}
                    )


if __name__ == "__main__":
    trio.run(main)
