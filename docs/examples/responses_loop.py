"""A stateless tool loop over the Responses API: the output items go back as the next input."""

from __future__ import annotations

import json

import httpx
import trio

from trio_chatsse import FunctionCall, InputItemParam, open_responses_stream
from trio_chatsse.testing import Reply, ScriptedToolCall, open_chat_server

TOOLS = [
    {
        "type": "function",
        "name": "add",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        },
    }
]


def run_tool(call: FunctionCall) -> str:
    arguments = json.loads(call.arguments)
    return json.dumps({"sum": arguments["a"] + arguments["b"]})


async def main() -> None:
    replies = [
        Reply(
            reasoning="Use the add tool.", tool_calls=[ScriptedToolCall("add", '{"a": 2, "b": 40}')]
        ),
        Reply(text="2 + 40 = 42"),
    ]
    # The server refuses a call sent back without its reasoning item, as OpenAI does.
    async with open_chat_server(*replies, require_state_back=True) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            inputs: list[InputItemParam] = [{"role": "user", "content": "What is 2 + 40?"}]
            while True:
                async with open_responses_stream(
                    http,
                    model="any",
                    input=inputs,
                    tools=TOOLS,
                    store=False,  # nothing kept on the server: the history travels with us
                    include=["reasoning.encrypted_content"],
                ) as stream:
                    await stream.final()
                if not stream.tool_calls:
                    print(stream.text)
                    return
                inputs += stream.input_items()  # reasoning (encrypted), messages, calls
                for call in stream.tool_calls:
                    output = run_tool(call)
                    inputs.append(
                        {"type": "function_call_output", "call_id": call.call_id, "output": output}
                    )


if __name__ == "__main__":
    trio.run(main)
