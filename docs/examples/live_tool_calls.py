"""Show a tool call's arguments while the model writes them (stream_tool_arguments=True)."""

from __future__ import annotations

import json

import httpx
import trio

from trio_chatsse import (
    FunctionCall,
    FunctionCallArgumentsDelta,
    OutputItemAdded,
    OutputItemDone,
    open_chat_stream,
)
from trio_chatsse.sansio import parse_partial_json
from trio_chatsse.testing import Reply, ScriptedToolCall, open_chat_server

POEM = "Roses are red,\nchannels are bounded,\nthe reader is cancelled,\nno task is stranded.\n"
REPLY = Reply(
    tool_calls=[ScriptedToolCall("write_file", json.dumps({"path": "poem.txt", "content": POEM}))],
    fragment_size=12,
)


async def main() -> None:
    async with open_chat_server(REPLY) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            messages = [{"role": "user", "content": "Write a poem to poem.txt"}]
            arguments: dict[int, str] = {}  # each call's text so far, by output_index
            shown: dict[int, int] = {}  # lines shown so far
            async with open_chat_stream(
                http, model="any", messages=messages, stream_tool_arguments=True
            ) as stream:
                async for event in stream:
                    match event:
                        case OutputItemAdded(item=FunctionCall(name=name), output_index=int(i)):
                            print(f"[{i}] {name}(...)")
                            arguments[i], shown[i] = "", 0
                        case FunctionCallArgumentsDelta(delta=delta, output_index=i):
                            arguments[i] += delta
                            so_far = parse_partial_json(arguments[i])  # the JSON prefix, parsed
                            content = so_far.get("content") if isinstance(so_far, dict) else None
                            if isinstance(content, str) and content.count("\n") > shown[i]:
                                shown[i] = content.count("\n")
                                print(f"[{i}] {content.splitlines()[shown[i] - 1]}")
                        case OutputItemDone(item=FunctionCall() as call, output_index=i):
                            print(f"[{i}] done: {call.name}, {len(call.arguments)} characters")


if __name__ == "__main__":
    trio.run(main)
