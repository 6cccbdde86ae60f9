"""The tool loop against the loop most apps write: the same turn, side by side, on each API.

One turn calls three tools that each take 0.5 s (``trio.sleep``), streamed by the embedded
server at a model's pace (``pace`` seconds between events), then a text turn.

- ``open_tool_loop``: each call starts when its done item arrives, the three run together.
- ``end-of-turn, sequential``: read the whole turn, then run the calls one after another, then
  send the results (the loop of the SDKs' cookbooks and most hand-written agents).

The figure is the wall time from the first request to the last answer, the best of
``--rounds`` rounds, and the time saved.

    python benchmarks/tools.py [--pace 0.05] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import httpx
import trio

from trio_chatsse import FunctionCall, open_tool_loop
from trio_chatsse._apis import wire_api
from trio_chatsse._openers import OPENERS
from trio_chatsse._tool_turns import AnsweredCall
from trio_chatsse.sansio import WireAPI
from trio_chatsse.testing import Reply, ScriptedToolCall, open_chat_server

CITIES = ("Paris", "Oslo", "Rome")


async def get_weather(city: str) -> str:
    """The weather in a city."""
    await trio.sleep(0.5)
    return f"sunny in {city}"


def replies(pace: float) -> list[Reply]:
    calls = [
        ScriptedToolCall("get_weather", json.dumps({"city": city}), call_id=f"c{index}")
        for index, city in enumerate(CITIES)
    ]
    return [Reply(tool_calls=calls, pace=pace), Reply(text="Sunny everywhere.", pace=pace)]


def conversation(api: WireAPI) -> dict[str, Any]:
    if api == "responses":
        return {"input": "Weather?"}
    extra = {"max_tokens": 100} if api == "messages" else {}
    return {"messages": [{"role": "user", "content": "Weather?"}], **extra}


async def with_the_loop(http: httpx.AsyncClient, api: WireAPI) -> None:
    async with open_tool_loop(
        http, api=api, model="m", tools=[get_weather], **conversation(api)
    ) as loop:
        async for _ in loop:
            pass


async def end_of_turn_sequential(http: httpx.AsyncClient, api: WireAPI) -> None:
    spec = wire_api(api)
    fields = conversation(api)
    history = list(fields.pop(spec.conversation))
    if isinstance(history[0], str):  # the responses input as a string
        history = [{"role": "user", "content": fields.get("input", "Weather?")}]
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    while True:
        request = {spec.conversation: history, "tools": tools, **fields}
        async with OPENERS[api](http, model="m", **request) as stream:
            await stream.final()
        history += spec.turn_of(stream.output)
        calls = [item for item in stream.output if isinstance(item, FunctionCall)]
        if not calls:
            return
        answered = []
        for call in calls:
            output = await get_weather(**json.loads(call.arguments))
            answered.append(AnsweredCall(call.call_id, call.name, output, False))
        history += spec.tool_results(answered)


async def measure(api: WireAPI, pace: float, rounds: int) -> dict[str, float]:
    best: dict[str, float] = {}
    for name, run in (
        ("open_tool_loop", with_the_loop),
        ("end-of-turn, sequential", end_of_turn_sequential),
    ):
        for _ in range(rounds):
            async with open_chat_server(*replies(pace), require_tool_results=True) as server:
                async with httpx.AsyncClient(base_url=server.base_url) as http:
                    start = time.perf_counter()
                    await run(http, api)
                    took = time.perf_counter() - start
            best[name] = min(best.get(name, took), took)
    return best


async def main(pace: float, rounds: int) -> None:
    print(f"A turn of three 0.5 s tools, events {pace} s apart (best of {rounds}):")
    for api in ("chat", "responses", "messages"):
        best = await measure(api, pace, rounds)
        ours, theirs = best["open_tool_loop"], best["end-of-turn, sequential"]
        print(
            f"  {api:9}  open_tool_loop {ours:5.2f} s   end-of-turn sequential {theirs:5.2f} s"
            f"   saved {theirs - ours:4.2f} s ({1 - ours / theirs:.0%})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pace", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trio.run(main, args.pace, args.rounds)
