"""Which exception when: every documented error derives from ChatSSEError."""

from __future__ import annotations

import httpx
import trio

from trio_chatsse import (
    ChatSSEError,
    IdleTimeoutError,
    OutputTextDelta,
    ProviderError,
    RateLimitError,
    open_chat_stream,
)
from trio_chatsse.testing import Reply, open_chat_server


async def ask(http: httpx.AsyncClient, *, idle_timeout: float = 300.0) -> None:
    messages = [{"role": "user", "content": "hi"}]
    try:
        async with open_chat_stream(
            http, model="any", messages=messages, idle_timeout=idle_timeout, max_retries=0
        ) as stream:
            async for event in stream:
                if isinstance(event, OutputTextDelta):
                    print(event.delta, end="")
    except RateLimitError as exc:  # raised from the `async with` line, before any event
        print(f"rate limited; retry after {exc.retry_after} s")
    except IdleTimeoutError as exc:  # raised from the loop, after the events before it
        print(f" ... silent for {exc.idle_timeout} s")
    except ProviderError as exc:
        print(f" ... provider error {exc.code}: {exc.message}")
    except ChatSSEError as exc:  # everything else the server or the network can do
        print(f"failed: {exc.message}")


async def main() -> None:
    replies = [
        Reply(status=429, retry_after=20),
        Reply(text="I was saying", stall=30, stall_after=3),
        Reply(text="Partial", error={"message": "overloaded", "code": 529}, error_after=2),
    ]
    async with open_chat_server(*replies) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            await ask(http)
            await ask(http, idle_timeout=0.2)
            await ask(http)


if __name__ == "__main__":
    trio.run(main)
