"""Retry until the first content: a failure before any content is hidden by a new request,
on every wire API; after content it is raised as before."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
import trio

from trio_chatsse import (
    ChatSSEError,
    ChatStream,
    Completed,
    ContextWindowExceeded,
    Event,
    FirstByteTimeoutError,
    HTTPStatusError,
    IdleTimeoutError,
    OutputItemAdded,
    OutputTextDelta,
    ProviderError,
    RateLimitError,
    StreamError,
)
from trio_chatsse._recovery import retryable_before_content
from trio_chatsse.sansio import EventTooLargeError
from trio_chatsse.telemetry import ReadOutcome
from trio_chatsse.testing import ChatServer, Reply

from .conftest import TaskTracker
from .helpers import HTTPClient, busy_connections, open_stream

TEXT = "The quick brown fox jumps over the lazy dog."
REPLY = Reply(text=TEXT, reasoning="Think first.", fragment_size=5)
#: Events of REPLY before its first content: the role chunk (chat); created, in_progress and
#: the reasoning item's added and summary part added (Responses); message_start, ping and the
#: thinking block's start (Messages).
BEFORE_CONTENT = {"chat": 1, "responses": 4, "messages": 3, "ollama": 0, "gemini": 0}
OVERLOADED = {"type": "overloaded_error", "message": "Overloaded"}


async def collect(
    http: HTTPClient, api: str, **options: object
) -> tuple[list[Event], ChatSSEError | None, ChatStream]:
    events: list[Event] = []
    error: ChatSSEError | None = None
    with trio.fail_after(20):
        async with open_stream(http, api, **options) as stream:
            try:
                async for event in stream:
                    events.append(event)
            except ChatSSEError as exc:
                error = exc
    return events, error, stream


def as_if(events: list[Event], response_id: str) -> list[str]:
    """The events as JSON lines, their response id (and the item ids made from it) renamed."""
    completed = events[-1]
    assert isinstance(completed, Completed)
    return [e.model_dump_json().replace(completed.response_id, response_id) for e in events]


FAULTS: dict[str, Callable[[str], dict[str, object]]] = {
    "drop": lambda api: {"disconnect_after": BEFORE_CONTENT[api]},
    "drop-mid-event": lambda api: {
        "disconnect_after": BEFORE_CONTENT[api],
        "disconnect_mid_event": True,
    },
    "idle": lambda api: {"stall": 30.0, "stall_after": BEFORE_CONTENT[api]},
    "first-byte": lambda api: {"stall": 30.0, "stall_after": 0},
    "overloaded": lambda api: {"error": OVERLOADED, "error_after": BEFORE_CONTENT[api]},
    "server_error": lambda api: {
        "error": {"code": "server_error", "message": "The server had an error"},
        "error_after": BEFORE_CONTENT[api],
    },
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_a_failure_before_content_is_retried_invisibly(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker, fault: str
) -> None:
    chat_server.push(REPLY)
    clean, error, _ = await collect(http, api)
    assert error is None
    faulty = dataclasses.replace(REPLY, **FAULTS[fault](api))  # type: ignore[arg-type]  # Reply's fields
    chat_server.push(faulty, REPLY)
    reads: list[ReadOutcome] = []

    class Telemetry:
        def on_read(self, outcome: ReadOutcome, size: int, waited: float) -> None:
            reads.append(outcome)

    events, error, stream = await collect(
        http, api, idle_timeout=0.3, first_byte_timeout=0.3, telemetry=Telemetry()
    )
    assert error is None
    # No duplicate added event, nothing lost: the clean answer's events, ids apart.
    assert as_if(events, "id") == as_if(clean, "id")
    assert sum(isinstance(e, OutputItemAdded) for e in events) == sum(
        isinstance(e, OutputItemAdded) for e in clean
    )
    assert stream.stats.retries == 1
    assert reads.count(ReadOutcome.RETRY) == 1
    assert len(chat_server.requests) == 3
    assert busy_connections(http) == []


async def test_an_error_after_content_is_raised_as_before(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker
) -> None:
    after_two_fragments = BEFORE_CONTENT[api] + 4
    chat_server.push(dataclasses.replace(REPLY, error=OVERLOADED, error_after=after_two_fragments))
    events, error, stream = await collect(http, api)
    assert isinstance(error, ProviderError)
    assert any(isinstance(e, OutputItemAdded | OutputTextDelta) for e in events)
    assert stream.stats.retries == 0
    assert len(chat_server.requests) == 1


async def test_when_the_retries_are_spent_the_last_error_is_raised_after_the_held_events(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker
) -> None:
    faulty = dataclasses.replace(REPLY, error=OVERLOADED, error_after=BEFORE_CONTENT[api])
    chat_server.push(faulty, faulty)
    events, error, stream = await collect(http, api, max_retries=1)
    assert isinstance(error, ProviderError)
    assert stream.stats.retries == 1
    assert len(chat_server.requests) == 2
    # What came before the error is not lost: on the APIs that announce an item before its
    # content, its added event.
    assert all(isinstance(e, OutputItemAdded) for e in events)
    # The APIs whose stream opens with events before any content: those are held, then given.
    assert bool(events) == (api not in ("chat", "ollama", "gemini"))


async def test_a_request_error_is_not_retried(
    chat_server: ChatServer, http: HTTPClient, api: str
) -> None:
    invalid = {"type": "invalid_request_error", "message": "bad tool schema"}
    chat_server.push(dataclasses.replace(REPLY, error=invalid, error_after=BEFORE_CONTENT[api]))
    _, error, stream = await collect(http, api)
    assert isinstance(error, ProviderError)
    assert stream.stats.retries == 0
    assert len(chat_server.requests) == 1


async def test_a_new_attempt_that_fails_by_status_raises_that_status(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker
) -> None:
    faulty = dataclasses.replace(REPLY, disconnect_after=BEFORE_CONTENT[api])
    chat_server.push(faulty, Reply(status=400))
    _, error, _ = await collect(http, api)
    assert isinstance(error, HTTPStatusError)
    assert error.status_code == 400
    assert busy_connections(http) == []


async def test_cancelled_during_the_backoff_leaves_nothing_behind(
    chat_server: ChatServer, http: HTTPClient, api: str, tasks: TaskTracker
) -> None:
    chat_server.push(dataclasses.replace(REPLY, disconnect_after=BEFORE_CONTENT[api]))
    with trio.move_on_after(0.2) as scope:  # the first backoff is 0.375-0.5 s
        async with open_stream(http, api) as stream:
            async for _ in stream:
                pass  # pragma: no cover
    assert scope.cancelled_caught
    assert tasks.alive == set()
    assert busy_connections(http) == []


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (StreamError("the connection broke"), True),
        (EventTooLargeError("too big", limit=10), False),
        (IdleTimeoutError("silence", idle_timeout=1), True),
        (FirstByteTimeoutError("no first byte", idle_timeout=1), True),
        (RateLimitError("slow down"), True),
        (ContextWindowExceeded("too long"), False),
        (ProviderError("x", error_type="overloaded_error"), True),
        (ProviderError("x", code="server_error"), True),
        (ProviderError("x", code=503), True),
        (ProviderError("x", code="529"), True),
        (ProviderError("x", error_type="api_error"), True),
        (ProviderError("Please try again later."), True),
        (ProviderError("x", error_type="invalid_request_error"), False),
        (ProviderError("x", code=400), False),
        (ValueError("a bug"), False),
    ],
)
def test_which_failures_are_retried(error: BaseException, retried: bool) -> None:
    assert retryable_before_content(error) is retried
