"""Background Responses streams: resumed after a cut, resumed from a saved cursor, cancelled
when left early."""

from __future__ import annotations

import dataclasses
import json

import pytest
import trio

from trio_chatsse import (
    Completed,
    Event,
    OutputItemDone,
    OutputTextDelta,
    StreamError,
    open_responses_stream,
)
from trio_chatsse.background import ResumeError, resume_responses_stream
from trio_chatsse.sansio import ResponsesEventParser
from trio_chatsse.testing import ChatServer, Reply, ScriptedToolCall

from .conftest import TaskTracker
from .helpers import HTTPClient, busy_connections

REPLY = Reply(
    text="Sunny and mild, take a light coat.",
    reasoning="Check the weather, then the calendar.",
    tool_calls=[
        ScriptedToolCall("get_weather", '{"city": "Paris"}', call_id="call_w"),
        ScriptedToolCall("get_time", call_id="call_t"),
    ],
    fragment_size=5,
)
SSE_EVENTS = len(REPLY.response_events())


def normalized(events: list[Event]) -> list[str]:
    completed = events[-1]
    assert isinstance(completed, Completed)
    return [e.model_dump_json().replace(completed.response_id, "ID") for e in events]


async def read_all(http: HTTPClient, **options: object) -> tuple[list[Event], object]:
    with trio.fail_after(20):
        async with open_responses_stream(
            http,
            model="m",
            input="hi",
            background=True,
            **options,  # type: ignore[arg-type]  # test options
        ) as stream:
            events = [e async for e in stream]
    return events, stream


async def test_the_request_asks_for_background_and_store(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(REPLY)
    await read_all(http)
    assert chat_server.requests[-1]["background"] is True
    assert chat_server.requests[-1]["store"] is True


@pytest.mark.parametrize("live", [False, True])
@pytest.mark.parametrize("mid_event", [False, True])
async def test_a_cut_after_any_event_is_resumed_into_the_uninterrupted_stream(
    chat_server: ChatServer, http: HTTPClient, tasks: TaskTracker, live: bool, mid_event: bool
) -> None:
    chat_server.push(REPLY)
    clean, _ = await read_all(http, stream_tool_arguments=live)
    for cut in range(1, SSE_EVENTS):
        faulty = dataclasses.replace(REPLY, disconnect_after=cut, disconnect_mid_event=mid_event)
        chat_server.push(faulty)
        events, stream = await read_all(http, stream_tool_arguments=live)
        assert normalized(events) == normalized(clean), f"cut after event {cut}"
        # A cut before the response id is known (before response.created) is retried instead.
        assert stream.stats.resumes + stream.stats.retries == 1  # type: ignore[attr-defined]  # a ChatStream
    assert chat_server.background.cancelled == []  # every stream completed
    assert busy_connections(http) == []


async def test_resume_from_every_cursor(chat_server: ChatServer, http: HTTPClient) -> None:
    chat_server.push(REPLY)
    cursors = []
    seen: list[Event] = []
    async with open_responses_stream(http, model="m", input="hi", background=True) as stream:
        async for event in stream:
            seen.append(event)
            cursors.append((len(seen), stream.cursor))
    clean_done = [e.item for e in seen if isinstance(e, OutputItemDone)]
    clean_text = "".join(e.delta for e in seen if isinstance(e, OutputTextDelta))
    for read, cursor in cursors[:-1]:
        assert cursor is not None
        with trio.fail_after(10):
            async with resume_responses_stream(
                http, cursor.response_id, starting_after=cursor.sequence_number
            ) as resumed:
                rest = [e async for e in resumed]
        whole = seen[:read] + rest
        # No done item twice, none missing; the text whole; Completed once, last.
        assert [e.item for e in whole if isinstance(e, OutputItemDone)] == clean_done
        assert "".join(e.delta for e in whole if isinstance(e, OutputTextDelta)) == clean_text
        assert rest[-1] == seen[-1]
        assert sum(isinstance(e, Completed) for e in whole) == 1
    assert chat_server.background.cancelled == []


async def test_a_resume_of_an_unknown_response_is_a_resume_error(http: HTTPClient) -> None:
    with pytest.raises(ResumeError) as info:
        async with resume_responses_stream(http, "resp_gone", starting_after=7):
            pass  # pragma: no cover
    assert info.value.response_id == "resp_gone"
    assert info.value.starting_after == 7
    assert "can no longer be streamed" in str(info.value)


async def test_max_resumes_spent_is_a_resume_error_after_the_events_before_it(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(dataclasses.replace(REPLY, disconnect_after=12))
    seen: list[Event] = []
    with pytest.raises(ResumeError) as info:
        async with open_responses_stream(
            http, model="m", input="hi", background=True, max_resumes=0
        ) as stream:
            async for event in stream:
                seen.append(event)
    assert seen
    assert info.value.response_id.startswith("resp-")


@pytest.mark.parametrize("how", ["break", "exception", "cancelled"])
async def test_leaving_early_cancels_the_response(
    chat_server: ChatServer, http: HTTPClient, tasks: TaskTracker, how: str
) -> None:
    chat_server.push(dataclasses.replace(REPLY, stall=30.0, stall_after=10))

    async def consume() -> None:
        async with open_responses_stream(http, model="m", input="hi", background=True) as stream:
            async for _ in stream:
                if how == "break":
                    break
                if how == "exception":
                    raise KeyError("the consumer's own")
                outer.cancel()

    with trio.move_on_after(5) as outer:
        if how == "exception":
            with pytest.raises(KeyError, match="the consumer's own"):  # not masked by the cancel
                await consume()
        else:
            await consume()
    assert len(chat_server.background.cancelled) == 1
    assert chat_server.background.cancelled[0].startswith("resp-")
    assert tasks.alive == set()


async def test_no_cancel_on_completion_or_when_asked_not_to(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(REPLY, REPLY)
    await read_all(http)
    async with open_responses_stream(
        http, model="m", input="hi", background=True, cancel_on_exit=False
    ) as stream:
        async for _ in stream:
            break
    assert chat_server.background.cancelled == []


async def test_a_plain_stream_is_never_cancelled_or_resumed(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(dataclasses.replace(REPLY, disconnect_after=12))
    with pytest.raises(StreamError):
        async with open_responses_stream(http, model="m", input="hi") as stream:
            await stream.final()
    assert stream.cursor is None
    assert chat_server.background.resumes == []
    assert chat_server.background.cancelled == []


def _numbered(*numbers: int) -> list[str]:
    return [
        json.dumps({"type": "response.output_text.delta", "delta": f"{n} ", "sequence_number": n})
        for n in numbers
    ]


def test_a_resumable_parser_skips_repeats_and_fails_on_a_gap() -> None:
    parser = ResponsesEventParser(resumable=True, starting_after=1, response_id="resp_1")
    out = [e for data in _numbered(1, 2, 2, 3) for e in parser.feed(data)]
    assert [e.delta for e in out if isinstance(e, OutputTextDelta)] == ["2 ", "3 "]
    assert parser.sequence_number == 3
    parser.feed(_numbered(5)[0])
    assert isinstance(parser.error, StreamError)
    assert "skipped events 4 to 4" in str(parser.error)
