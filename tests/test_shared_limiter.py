"""A Limiter shared in Redis, against a real redis-server: limits held across limiters (each
one standing in for a process; tests/test_shared_processes.py runs real ones), one 429 pausing
all, the shared line, leases that end, a cancelled waiter leaving the line, and a Redis that
stops and comes back. Real time: Redis keeps it, so the windows here are short."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import coredis
import httpx
import pytest
import trio
import trio.testing

from trio_chatsse import Limiter, open_chat_stream
from trio_chatsse.batch import open_batch
from trio_chatsse.limits import LimiterUnavailableError
from trio_chatsse.testing import (
    RateLimitWindow,
    RedisServer,
    Reply,
    open_chat_server,
    open_redis_server,
)

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
async def redis() -> AsyncIterator[RedisServer]:
    async with open_redis_server() as server:
        yield server


async def stream_once(http: httpx.AsyncClient, limiter: Limiter, inside: list[int]) -> None:
    """One stream; ``inside`` counts the streams in their block now, and the most at once."""
    async with open_chat_stream(
        http, model="m", messages=MESSAGES, limiter=limiter, max_retries=6
    ) as stream:
        inside[0] += 1
        inside[1] = max(inside[1], inside[0])
        async for _ in stream:
            pass
        inside[0] -= 1


async def run_many(base_url: str, limiters: list[Limiter], each: int) -> list[int]:
    inside = [0, 0]
    async with httpx.AsyncClient(base_url=base_url) as http, trio.open_nursery() as nursery:
        for limiter in limiters:
            for _ in range(each):
                nursery.start_soon(stream_once, http, limiter, inside)
    return inside


async def test_streams_in_flight_are_capped_across_limiters(redis: RedisServer) -> None:
    reply = Reply(text="one two three four", pace=0.01)
    first = Limiter(redis=redis.url, key="cap", max_concurrent=2, learn=False)
    second = Limiter(redis=redis.url, key="cap", max_concurrent=2, learn=False)
    async with open_chat_server(default=reply) as server, first, second:
        inside = await run_many(server.base_url, [first, second], 6)
    assert inside == [0, 2]
    assert first.started == second.started == 6
    assert first.in_flight == second.in_flight == 0


async def test_what_one_limiter_hears_holds_for_all(redis: RedisServer) -> None:
    # Three "processes" against one window of 4 requests a second: each alone would learn the
    # countdown itself and send into the limit; shared, one window is kept for all.
    window = RateLimitWindow(4, 1.0)
    limiters = [Limiter(redis=redis.url, key="window") for _ in range(3)]
    async with open_chat_server(default=Reply(text="ok"), rate_limit=window) as server:
        async with limiters[0], limiters[1], limiters[2]:
            await run_many(server.base_url, limiters, 4)
    assert len(window.admitted_at) == 12
    assert window.refused <= 1


async def test_one_429_pauses_every_limiter(redis: RedisServer) -> None:
    replies = [Reply(status=429, retry_after=1), Reply(text="ok"), Reply(text="ok")]
    first = Limiter(redis=redis.url, key="pause", max_concurrent=1)
    second = Limiter(redis=redis.url, key="pause")
    async with open_chat_server(*replies) as server, first, second:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            inside = [0, 0]
            await stream_once(http, first, inside)  # refused once, then through after 1 s
            start = trio.current_time()
            await stream_once(http, second, inside)  # the pause is over: no wait
    assert trio.current_time() - start < 0.5
    assert len(server.requests) == 3


async def test_the_pause_holds_a_limiter_that_never_saw_the_429(redis: RedisServer) -> None:
    first = Limiter(redis=redis.url, key="heard", max_concurrent=4)
    second = Limiter(redis=redis.url, key="heard", max_concurrent=4)
    async with first, second:
        permit = await first.acquire(1)
        await first.hear(permit, {}, 1.0)
        await first.settle(permit, None)
        start = trio.current_time()
        await second.settle(await second.acquire(1), None)
    assert 0.9 <= trio.current_time() - start < 2


async def test_a_stopped_process_frees_its_slots_when_the_lease_ends(
    redis: RedisServer,
) -> None:
    dead = Limiter(redis=redis.url, key="lease", max_concurrent=1, learn=False, lease=0.6)
    alive = Limiter(redis=redis.url, key="lease", max_concurrent=1, learn=False, lease=0.6)
    async with alive:
        async with dead:
            await dead.acquire(1)  # never settled: the block ends as a killed process would
            held = trio.current_time()
            # While its keeper renews the lease, the slot stays taken.
            with trio.move_on_after(1.0) as waiting:
                await alive.acquire(1)
            assert waiting.cancelled_caught
        permit = await alive.acquire(1)
        assert trio.current_time() - held < 1.0 + 0.6 + 1.0  # the lease, and slack
        await alive.settle(permit, None)


async def test_a_cancelled_waiter_leaves_the_shared_line(redis: RedisServer) -> None:
    first = Limiter(redis=redis.url, key="line", max_concurrent=1, learn=False)
    second = Limiter(redis=redis.url, key="line", max_concurrent=1, learn=False)
    async with first, second:
        holding = await first.acquire(1)
        with trio.move_on_after(0.2):
            await second.acquire(1)
        assert second.queued == 0
        async with coredis.Redis.from_url(redis.url) as client:
            assert await client.zcard("trio_chatsse:limiter:{line}:line") == 0
        await first.settle(holding, None)
        with trio.fail_after(1):
            await second.settle(await second.acquire(1), None)


async def test_processes_take_turns_in_the_shared_line(redis: RedisServer) -> None:
    # One limiter with many waiters does not hold another's single waiter back behind all
    # of them: each process's first waiter has a ticket in one line, and the next one of the
    # same process queues behind the others' tickets.
    busy = Limiter(redis=redis.url, key="fair", max_concurrent=1, learn=False)
    quiet = Limiter(redis=redis.url, key="fair", max_concurrent=1, learn=False)
    order: list[str] = []

    async def take(limiter: Limiter, name: str) -> None:
        permit = await limiter.acquire(1)
        order.append(name)
        await limiter.settle(permit, None)

    async with (
        coredis.Redis.from_url(redis.url) as client,
        busy,
        quiet,
        trio.open_nursery() as nursery,
    ):

        async def line_holds(count: int) -> None:
            with trio.fail_after(5):
                while await client.zcard("trio_chatsse:limiter:{fair}:line") < count:
                    await trio.testing.wait_all_tasks_blocked()

        holding = await busy.acquire(1)
        for _ in range(4):
            nursery.start_soon(take, busy, "busy")
        await line_holds(1)  # busy's first waiter is in line
        nursery.start_soon(take, quiet, "quiet")
        await line_holds(2)
        await busy.settle(holding, None)
    assert order[:2] == ["busy", "quiet"], order


async def test_the_tokens_used_correct_the_shared_estimate(redis: RedisServer) -> None:
    first = Limiter(redis=redis.url, key="tokens", tokens_per_minute=1000, learn=False)
    second = Limiter(redis=redis.url, key="tokens", tokens_per_minute=1000, learn=False)
    async with first, second:
        permit = await first.acquire(900)
        await first.settle(permit, 100)  # used far less than estimated: 900 left
        with trio.fail_after(0.5):
            await second.settle(await second.acquire(800), None)
        with trio.move_on_after(0.5) as waiting:
            await second.acquire(800)  # 100 left: waits for the refill
        assert waiting.cancelled_caught


async def test_an_unreachable_redis_fails_closed_before_sending(redis: RedisServer) -> None:
    limiter = Limiter(redis=redis.url, key="closed", redis_timeout=0.5)
    async with open_chat_server(default=Reply(text="ok")) as server, limiter:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            await stream_once(http, limiter, [0, 0])
            await redis.stop()
            with trio.fail_after(5), pytest.raises(LimiterUnavailableError) as caught:
                await stream_once(http, limiter, [0, 0])
            assert "nothing was sent" in str(caught.value)
            assert len(server.requests) == 1
            await redis.start()  # back, empty: used again within a second or two
            with trio.fail_after(5):
                while True:
                    try:
                        await stream_once(http, limiter, [0, 0])
                    except LimiterUnavailableError:
                        await trio.sleep(0.2)
                    else:
                        break
    async with coredis.Redis.from_url(redis.url) as client:
        assert await client.exists(["trio_chatsse:limiter:{closed}:state"]) == 1


async def test_an_unreachable_redis_can_fall_back_to_the_local_limiter(
    redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = Limiter(
        redis=redis.url, key="local", max_concurrent=1, redis_timeout=0.5, when_unreachable="local"
    )
    async with open_chat_server(default=Reply(text="ok")) as server, limiter:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            await redis.stop()
            with caplog.at_level(logging.WARNING, "trio_chatsse"), trio.fail_after(5):
                inside = await run_many(server.base_url, [limiter], 3)
            assert inside == [0, 1]  # the local limiter's cap holds meanwhile
            assert "unreachable" in caplog.text
            await redis.start()
            with trio.fail_after(5):
                while True:
                    permit = await limiter.acquire(1)
                    await limiter.settle(permit, None)
                    if permit.grant is not None:
                        break
                    await trio.sleep(0.2)
            await stream_once(http, limiter, [0, 0])
    assert len(server.requests) == 4


async def test_a_redis_that_never_answers_does_not_hang_a_stream() -> None:
    # A listener that accepts and says nothing: each step is bounded by redis_timeout.
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    limiter = Limiter(redis=f"redis://127.0.0.1:{port}", key="silent", redis_timeout=0.3)
    async with open_chat_server(default=Reply(text="ok")) as server, limiter:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            with trio.fail_after(5), pytest.raises(LimiterUnavailableError):
                await stream_once(http, limiter, [0, 0])
    assert server.requests == []
    for listener in listeners:
        await listener.aclose()


async def test_a_shared_limiter_is_used_inside_its_block(redis: RedisServer) -> None:
    limiter = Limiter(redis=redis.url, key="block")
    with pytest.raises(RuntimeError, match="inside its block"):
        await limiter.acquire(1)
    async with limiter:
        permit = await limiter.acquire(1)
        with pytest.raises(TypeError, match="settle"):
            limiter.release(permit, None)
        with pytest.raises(TypeError, match="hear"):
            limiter.observe(permit, {}, None)
        await limiter.settle(permit, None)
        with pytest.raises(RuntimeError, match="already open"):
            async with limiter:
                pass


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"key": "k"}, ValueError, "give redis= too"),
        ({"redis": "redis://x"}, ValueError, "needs key="),
        ({"redis": "redis://x", "key": ""}, ValueError, "needs key="),
        ({"redis": 6379, "key": "k"}, TypeError, "takes a URL"),
        ({"redis": "redis://x", "key": "k", "lease": 0}, ValueError, "lease"),
        ({"redis": "redis://x", "key": "k", "redis_timeout": -1}, ValueError, "redis_timeout"),
        ({"when_unreachable": "ignore"}, ValueError, "when_unreachable"),
    ],
)
def test_bad_shared_settings_fail_when_made(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Limiter(**kwargs)  # type: ignore[arg-type]


async def test_a_local_limiter_opens_as_a_no_op() -> None:
    async with Limiter(max_concurrent=1) as limiter:
        assert not limiter.shared
        await limiter.settle(await limiter.acquire(1), None)


async def test_a_batch_stops_when_its_limiter_cannot_reach_redis(redis: RedisServer) -> None:
    lines = [
        {
            "custom_id": f"r{n}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "m", "messages": MESSAGES},
        }
        for n in range(6)
    ]
    limiter = Limiter(redis=redis.url, key="batch", redis_timeout=0.5)
    results = []
    async with open_chat_server(default=Reply(text="ok")) as server, limiter:
        await redis.stop()
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            with trio.fail_after(10), pytest.raises(LimiterUnavailableError):
                async with open_batch(http, lines, concurrency=2, limiter=limiter) as channel:
                    async for result in channel:
                        results.append(result)  # pragma: no cover - nothing was sent
    assert results == []  # no line is marked failed: a rerun sends every one
    assert server.requests == []
