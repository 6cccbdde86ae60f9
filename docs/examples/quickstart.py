"""Stream text and a tool call from the embedded OpenAI-compatible server."""

from __future__ import annotations

import httpx
import trio

from trio_chatsse import FunctionCall, OutputItemDone, OutputTextDelta, open_chat_stream
from trio_chatsse.testing import Reply, ScriptedToolCall, open_chat_server

REPLY = Reply(
    text="Let me check.", tool_calls=[ScriptedToolCall("get_weather", '{"city": "Paris"}')]
)


async def main() -> None:
    async with open_chat_server(REPLY) as server:  # or any OpenAI-compatible base URL
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            messages = [{"role": "user", "content": "What's the weather in Paris?"}]
            async with open_chat_stream(http, model="any", messages=messages) as stream:
                async for event in stream:
                    match event:
                        case OutputTextDelta(delta=text):
                            print(text, end="", flush=True)
                        case OutputItemDone(item=FunctionCall(name=name, arguments=args)):
                            print(f"\ncall {name} {args}")
            print("usage:", stream.usage)


if __name__ == "__main__":
    trio.run(main)
