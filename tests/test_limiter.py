"""The shared limiter: the providers' rate-limit headers, the server's countdown obeyed, one
429 pausing every stream once, first come first served, and nothing held after a cancel."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime

import httpx
import pytest
import trio
import trio.testing

from trio_chatsse import Limiter, open_chat_stream
from trio_chatsse._limiter import estimate_tokens
from trio_chatsse._ratelimits import RateLimits, Window, parse_duration, read_rate_limits
from trio_chatsse.testing import RateLimitWindow, Reply, open_chat_server

NOW = 1_760_000_000.0  # a wall-clock time, for the dialects that give a moment
ANTHROPIC_NOW = datetime.fromisoformat("2025-10-09T08:53:20+00:00").timestamp()

#: From each provider's documentation of its headers.
HEADERS: list[tuple[str, dict[str, str], RateLimits]] = [
    (
        "openai",
        {
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-limit-tokens": "150000",
            "x-ratelimit-remaining-requests": "59",
            "x-ratelimit-remaining-tokens": "149984",
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-reset-tokens": "6m0s",
        },
        RateLimits(Window(60, 59, 1.0), Window(150000, 149984, 360.0)),
    ),
    (
        "groq",
        {
            "x-ratelimit-limit-requests": "14400",
            "x-ratelimit-limit-tokens": "18000",
            "x-ratelimit-remaining-requests": "14370",
            "x-ratelimit-remaining-tokens": "17997",
            "x-ratelimit-reset-requests": "2m59.56s",
            "x-ratelimit-reset-tokens": "7.66s",
        },
        RateLimits(Window(14400, 14370, 179.56), Window(18000, 17997, 7.66)),
    ),
    (
        "together",
        {
            "x-ratelimit-limit-requests": "10",
            "x-ratelimit-remaining-requests": "9",
            "x-ratelimit-reset-requests": "20ms",
        },
        RateLimits(Window(10, 9, 0.02), None),
    ),
    (
        "anthropic",
        {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "49",
            "anthropic-ratelimit-requests-reset": "2025-10-09T08:53:21Z",
            "anthropic-ratelimit-tokens-limit": "90000",
            "anthropic-ratelimit-tokens-remaining": "88000",
            "anthropic-ratelimit-tokens-reset": "2025-10-09T08:53:25Z",
            "anthropic-ratelimit-input-tokens-limit": "40000",
            "anthropic-ratelimit-input-tokens-remaining": "30000",
            "anthropic-ratelimit-input-tokens-reset": "2025-10-09T08:53:22Z",
            "anthropic-ratelimit-output-tokens-limit": "8000",
            "anthropic-ratelimit-output-tokens-remaining": "8000",
            "anthropic-ratelimit-output-tokens-reset": "2025-10-09T08:53:20Z",
        },
        # The tokens window is the tightest of tokens and input tokens.
        RateLimits(Window(50, 49, 1.0), Window(40000, 30000, 2.0)),
    ),
    (
        "openrouter",
        {
            "X-RateLimit-Limit": "20",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "1760000005000",
        },
        RateLimits(Window(20, 0, 5.0), None),
    ),
    (
        "azure",
        {"x-ratelimit-remaining-requests": "17", "x-ratelimit-remaining-tokens": "1200"},
        RateLimits(Window(None, 17, None), Window(None, 1200, None)),
    ),
    ("none", {"content-type": "text/event-stream"}, RateLimits(None, None)),
]


@pytest.mark.parametrize(("provider", "headers", "expected"), HEADERS, ids=[h[0] for h in HEADERS])
def test_each_providers_headers_are_read(
    provider: str, headers: dict[str, str], expected: RateLimits
) -> None:
    # Anthropic's example moments are read against a clock set at 2025-10-09T08:53:20Z.
    now = ANTHROPIC_NOW if provider == "anthropic" else NOW
    assert read_rate_limits(httpx.Headers(headers), now=now) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("7.66s", 7.66),
        ("2m59.56s", 179.56),
        ("20ms", 0.02),
        ("1h2m3s", 3723.0),
        ("12", 12.0),
        ("soon", None),
        ("", None),
    ],
)
def test_durations(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_the_estimate_counts_the_prompt_and_the_output_limit() -> None:
    body: Mapping[str, object] = {"messages": [], "max_tokens": 100, "n": 2}
    assert estimate_tokens(body, 400) == 100 + 200
    assert estimate_tokens({"max_output_tokens": 7}, 3) == 1 + 7


async def run_streams(base_url: str, limiter: Limiter, count: int) -> list[float]:
    """Start ``count`` streams at once; return each one's limiter wait."""
    waits: list[float] = []

    async def one(http: httpx.AsyncClient) -> None:
        messages = [{"role": "user", "content": "hi"}]
        async with open_chat_stream(
            http, model="m", messages=messages, limiter=limiter, max_retries=3
        ) as stream:
            await stream.final()
        waits.append(stream.stats.limiter_wait)

    async with httpx.AsyncClient(base_url=base_url) as http, trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(one, http)
    return waits


async def test_the_servers_countdown_is_obeyed_and_resumed_at_the_reset(
    autojump_clock: trio.testing.MockClock,
) -> None:
    window = RateLimitWindow(requests=3, seconds=10.0)
    limiter = Limiter(max_concurrent=50)
    async with open_chat_server(rate_limit=window) as server:
        start = trio.current_time()
        waits = await run_streams(server.base_url, limiter, 9)
    assert window.refused == 0  # never more starts than the server had left
    times = [t - start for t in window.admitted_at]
    assert len(times) == 9
    # Three per window: the next three exactly when the window resets.
    assert [int(t // 10) for t in times] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert max(waits) >= 20.0
    assert (limiter.in_flight, limiter.queued) == (0, 0)


async def test_one_429_pauses_every_stream_once(autojump_clock: trio.testing.MockClock) -> None:
    arrivals: list[float] = []

    def reply(request: Mapping[str, object]) -> Reply:
        arrivals.append(trio.current_time())
        if len(arrivals) == 1:
            return Reply(status=429, retry_after=2)
        return Reply(text="ok")

    limiter = Limiter(max_concurrent=10)
    async with open_chat_server(default=reply) as server:
        start = trio.current_time()
        await run_streams(server.base_url, limiter, 5)
    assert len(arrivals) == 6  # one 429, then the five streams
    assert all(t - start >= 2.0 for t in arrivals[1:])


async def test_turns_are_first_come_first_served(autojump_clock: trio.testing.MockClock) -> None:
    limiter = Limiter(max_concurrent=1, learn=False)
    order: list[int] = []

    async def one(number: int) -> None:
        permit = await limiter.acquire(0)
        order.append(number)
        await trio.sleep(1)
        limiter.release(permit, None)

    async with trio.open_nursery() as nursery:
        for number in range(6):
            nursery.start_soon(one, number)
            await trio.sleep(0.01)
    assert order == list(range(6))


async def test_requests_and_tokens_per_minute(autojump_clock: trio.testing.MockClock) -> None:
    limiter = Limiter(requests_per_minute=60, tokens_per_minute=600, learn=False)
    start = trio.current_time()
    starts = []
    for _ in range(3):
        permit = await limiter.acquire(300)  # two fit in a minute's tokens
        starts.append(trio.current_time() - start)
        limiter.release(permit, None)
    assert starts[:2] == [0.0, 0.0]
    assert starts[2] == pytest.approx(30.0)  # 300 tokens at 10 a second
    # The usage corrects the estimate: 300 estimated, 0 used gives them back.
    permit = await limiter.acquire(300)
    limiter.release(permit, 0)
    before = trio.current_time()
    permit = await limiter.acquire(300)
    assert trio.current_time() == before
    limiter.release(permit, None)


async def test_a_cancelled_waiter_holds_nothing(autojump_clock: trio.testing.MockClock) -> None:
    limiter = Limiter(max_concurrent=2, requests_per_minute=120, learn=False)
    rng = random.Random(7)
    peak = 0

    async def one() -> None:
        nonlocal peak
        with trio.move_on_after(rng.uniform(0, 3)):
            permit = await limiter.acquire(1)
            try:
                peak = max(peak, limiter.in_flight)
                await trio.sleep(rng.uniform(0, 2))
            finally:
                limiter.release(permit, None)

    async with trio.open_nursery() as nursery:
        for _ in range(60):
            nursery.start_soon(one)
    assert peak == 2
    assert (limiter.in_flight, limiter.queued) == (0, 0)
    # And it still works: nothing was left holding a turn.
    with trio.fail_after(1):
        limiter.release(await limiter.acquire(1), None)


def test_bad_limits_fail_before_any_request() -> None:
    with pytest.raises(ValueError, match="max_concurrent"):
        Limiter(max_concurrent=0)
    with pytest.raises(ValueError, match="per-minute"):
        Limiter(tokens_per_minute=-5)
