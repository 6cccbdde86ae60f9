"""Cancel a stream from an enclosing scope: the reader task and the connection close with it."""

from __future__ import annotations

import httpx
import trio

from trio_chatsse import open_chat_stream
from trio_chatsse.testing import Reply, open_chat_server


async def main() -> None:
    endless = Reply(text="word " * 10_000, fragment_size=5)
    async with open_chat_server(endless) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            words = 0
            with trio.move_on_after(0.5) as scope:  # or any cancel scope, from any task
                messages = [{"role": "user", "content": "Talk forever."}]
                async with open_chat_stream(http, model="any", messages=messages) as stream:
                    async for _ in stream:
                        words += 1
                        await trio.sleep(0.001)  # a slow consumer: back-pressure holds the reader
            print(f"cancelled: {scope.cancelled_caught}, after {words} events")
        await server.wait_connections_closed()
        print("connections open:", server.open_connections)


if __name__ == "__main__":
    trio.run(main)
