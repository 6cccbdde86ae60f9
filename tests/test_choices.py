"""n > 1: each choice of a Chat Completions stream is an answer of its own, equal to the
stream of that answer alone, with nothing of one leaking into another."""

from __future__ import annotations

from typing import Any

import pytest

from trio_chatsse import Completed, Event, OutputItemDone
from trio_chatsse.testing import ChatServer, Reply, ScriptedToolCall

from .helpers import HTTPClient, open_stream, parse_every_way

CHOICE_0 = Reply(text="Paris is sunny.", reasoning="Look it up.", fragment_size=4)
CHOICE_1 = Reply(
    text="Let me check.",
    tool_calls=[ScriptedToolCall("get_weather", '{"city": "Paris"}', call_id="call_b")],
    fragment_size=3,
)
CHOICE_2 = Reply(
    reasoning="Two cities.",
    tool_calls=[
        ScriptedToolCall("get_weather", '{"city": "Oslo"}', call_id="call_c1"),
        ScriptedToolCall("get_time", '{"zone": "CET"}', call_id="call_c2"),
    ],
    fragment_size=5,
)
CHOICES = [CHOICE_0, CHOICE_1, CHOICE_2]
N3 = Reply(**{**CHOICE_0.__dict__, "choices": [CHOICE_1, CHOICE_2]})


def without_choice(events: list[Event]) -> list[dict[str, Any]]:
    return [e.model_dump(exclude={"choice"}) for e in events if not isinstance(e, Completed)]


async def collect(http: HTTPClient, **options: object) -> tuple[list[Any], Any]:
    async with open_stream(http, "chat", **options) as stream:
        events = [event async for event in stream]
    return events, stream


@pytest.mark.parametrize("live", [False, True], ids=["done-calls", "live-calls"])
async def test_three_choices_are_three_independent_answers(
    chat_server: ChatServer, http: HTTPClient, live: bool
) -> None:
    singles = []
    for reply in CHOICES:
        chat_server.push(reply)
        singles.append(await collect(http, stream_tool_arguments=live))
    chat_server.push(N3)
    events, stream = await collect(http, n=3, stream_tool_arguments=live)

    completed = events[-1]
    assert isinstance(completed, Completed)
    assert [e for e in events if isinstance(e, Completed)] == [completed]
    single_finishes = [single_events[-1].finish_reason for single_events, _ in singles]
    assert completed.finish_reasons == single_finishes == ["stop", "tool_calls", "tool_calls"]
    assert completed.finish_reason == "stop"
    usages = [single_events[-1].token_usage for single_events, _ in singles]
    assert completed.token_usage is not None
    assert completed.token_usage.input_tokens == usages[0].input_tokens  # the prompt, once
    assert completed.token_usage.output_tokens == sum(u.output_tokens for u in usages)
    for k, (single_events, single_stream) in enumerate(singles):
        mine = [e for e in events if getattr(e, "choice", None) == k]
        assert without_choice(mine) == without_choice(single_events)
        assert stream.output_of(k) == single_stream.output
        assert stream.assistant_message(choice=k) == single_stream.assistant_message()
    assert all(getattr(e, "choice", 0) is not None for e in events[:-1])
    assert stream.text == singles[0][1].text
    assert stream.tool_calls == []


def test_the_choices_read_the_same_however_the_body_is_split() -> None:
    from trio_chatsse.testing import sse_body
    from trio_chatsse.testing._chat import _interleaved, chunks

    body = sse_body(_interleaved([chunks(r, "chatcmpl-n") for r in CHOICES]))
    events, error = parse_every_way(body, choices=3)  # each split compared with the whole
    assert error is None
    done = [e for e in events if isinstance(e, OutputItemDone)]
    assert {e.choice for e in done} == {0, 1, 2}


def test_without_n_only_choice_0_is_read() -> None:
    from trio_chatsse.testing import sse_body
    from trio_chatsse.testing._chat import _interleaved, chunks

    body = sse_body(_interleaved([chunks(r, "chatcmpl-n") for r in CHOICES]))
    events, _ = parse_every_way(body)
    single, _ = parse_every_way(sse_body(chunks(CHOICE_0, "chatcmpl-n")))
    assert without_choice(events) == without_choice(single)
    assert all(getattr(e, "choice", None) is None for e in events)
