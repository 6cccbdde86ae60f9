"""open_event_stream: the same events from any source of bytes (here, a recorded body)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import trio

from trio_chatsse import open_event_stream

RECORDED = (
    b'data: {"id": "r1", "choices": [{"index": 0, "delta": {"content": "Hello"}}]}\n\n'
    b'data: {"id": "r1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


async def replay(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        await trio.lowlevel.checkpoint()
        yield body[start : start + size]


async def main() -> None:
    async with open_event_stream(replay(RECORDED, size=7), idle_timeout=5) as stream:
        async for event in stream:
            print(event.model_dump_json())


if __name__ == "__main__":
    trio.run(main)
