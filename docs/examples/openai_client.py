"""Share one httpx2 client between the openai SDK and trio_chatsse.

Needs ``pip install openai "trio-chatsse[httpx2]"``.
"""

from __future__ import annotations

import httpx2
import trio
from openai import AsyncOpenAI

from trio_chatsse import open_chat_stream
from trio_chatsse.testing import Reply, open_chat_server


async def main() -> None:
    async with open_chat_server(
        Reply(text="Hello from one shared client."), api_key="sk-demo"
    ) as server:
        # One client: its pool, proxies, limits and event hooks serve both libraries.
        async with httpx2.AsyncClient(base_url=server.base_url, timeout=30) as http:
            oai = AsyncOpenAI(base_url=server.base_url, api_key="sk-demo", http_client=http)
            models = await oai.models.list()  # the SDK for everything else
            print("models:", [model.id for model in models.data])
            messages = [{"role": "user", "content": "hi"}]
            # trio_chatsse for the stream, with the SDK's auth header.
            async with open_chat_stream(
                http, model="any", messages=messages, headers=oai.auth_headers
            ) as stream:
                await stream.final()
            print(stream.text)


if __name__ == "__main__":
    trio.run(main)
