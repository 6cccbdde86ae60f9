"""A classifier's confidence from token logprobs: ask for them, read them off the deltas.

``logprobs=True`` (and ``top_logprobs``) on Chat Completions, ``include=["message.output_text.
logprobs"]`` on the Responses API: each ``OutputTextDelta`` then carries the tokens that came
with it, and the done message's text part all of them, in order.
"""

from __future__ import annotations

import math

import httpx
import trio

from trio_chatsse import Message, OutputTextDelta, open_chat_stream
from trio_chatsse.testing import Reply, open_chat_server


async def main() -> None:
    async with open_chat_server(Reply(text="positive", fragment_size=3)) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            messages = [{"role": "user", "content": "Sentiment of 'I love it'? One word."}]
            async with open_chat_stream(
                http, model="any", messages=messages, logprobs=True, top_logprobs=2
            ) as stream:
                async for event in stream:
                    if isinstance(event, OutputTextDelta) and event.logprobs:
                        for token in event.logprobs:
                            p = math.exp(token.logprob)
                            print(f"{token.token!r}: p={p:.2f}")
    message = next(item for item in stream.output if isinstance(item, Message))
    part = message.content[0]  # the done text part holds every token, in order
    joint = math.exp(sum(t.logprob for t in part.logprobs))
    print(f"{stream.text!r} with p={joint:.2f} ({len(part.logprobs)} tokens)")


if __name__ == "__main__":
    trio.run(main)
