"""Soak (``nox -s stress``): many streams on one client of each library, and nothing grows.

10,000 streams one after another, and twice 1,000 at once with half of them cancelled at
random points. Open file descriptors and live tasks come back to where they started, and the
resident memory does not grow past a fixed bound: after 10,000 sequential streams against
after 1,000, and after the second burst of 1,000 against after the first (the first burst
leaves the allocator's arenas grown to its peak, which is no leak). The figures are printed
for the record.
"""

from __future__ import annotations

import gc
import os
import random
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trio
import trio.testing

from trio_chatsse import open_chat_stream
from trio_chatsse.testing import ChatServer, Reply, ScriptedToolCall, open_chat_server

from .conftest import TaskTracker
from .helpers import (
    HTTPClient,
    busy_connections,
    library_module,
    new_client,
    orphaned_connections,
)

pytestmark = pytest.mark.stress

MESSAGES = [{"role": "user", "content": "hi"}]
SEQUENTIAL = 10_000
CONCURRENT = 1_000
#: RSS may grow this much between the 1,000th and the 10,000th sequential stream
#: (measured: well under 1 MiB; allocator noise and interned strings stay below this).
RSS_BOUND = 4 * 1024 * 1024
#: RSS may grow this much from the first burst of 1,000 concurrent streams to the second
#: (measured: 0-2 MiB).
CONCURRENT_RSS_BOUND = 8 * 1024 * 1024


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss() -> int:
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")  # pragma: no cover


class AllTasks(trio.abc.Instrument):
    """Counts every live task of the run."""

    def __init__(self) -> None:
        self.alive = 0

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        self.alive += 1

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        self.alive -= 1


@contextmanager
def counting_tasks() -> Iterator[AllTasks]:
    counter = AllTasks()
    trio.lowlevel.add_instrument(counter)
    try:
        yield counter
    finally:
        trio.lowlevel.remove_instrument(counter)


def reply_for(request: object) -> Reply:
    return Reply(
        text="soak " * 20, tool_calls=[ScriptedToolCall("f", '{"n": 1}')], fragment_size=10
    )


async def one_stream(http: HTTPClient) -> None:
    async with open_chat_stream(http, model="m", messages=MESSAGES) as stream:
        await stream.final()
    assert stream.tool_calls[0].arguments == '{"n": 1}'


def report(capsys: pytest.CaptureFixture[str], text: str) -> None:
    with capsys.disabled():
        print(text)


async def settle(http: HTTPClient) -> None:
    assert busy_connections(http) == []
    await trio.testing.wait_all_tasks_blocked()  # let exited tasks be counted


async def test_10k_streams_in_sequence(
    http_library: str, tasks: TaskTracker, capsys: pytest.CaptureFixture[str]
) -> None:
    async with open_chat_server(default=reply_for) as server:
        async with new_client(http_library, base_url=server.base_url, timeout=30) as http:
            await one_stream(http)  # warm up: the pool holds its one connection now
            fds, live = open_fds(), None
            with counting_tasks() as counter:
                for done in range(1, SEQUENTIAL + 1):
                    await one_stream(http)
                    server.requests.clear()  # the server's own record would grow otherwise
                    if done == 1_000:
                        await settle(http)
                        live, rss_1k = counter.alive, rss()
                await settle(http)
                rss_10k, fds_after, live_after = rss(), open_fds(), counter.alive
        await server.wait_connections_closed()
    report(
        capsys,
        f"\nsoak {http_library}: {SEQUENTIAL} streams in sequence: fds {fds} -> {fds_after}, "
        f"tasks alive at 1k {live} / 10k {live_after}, "
        f"RSS at 1k {rss_1k / 2**20:.1f} MiB, at 10k {rss_10k / 2**20:.1f} MiB "
        f"(+{(rss_10k - rss_1k) / 2**10:.0f} KiB)",
    )
    assert fds_after == fds
    assert live_after == live
    assert rss_10k - rss_1k < RSS_BOUND
    assert server.connections_accepted == 1


async def burst(http_library: str, server: ChatServer, seed: int) -> tuple[int, int, int]:
    """1,000 streams at once on a new client, every other one cancelled at a random point;
    returns how many completed, how many were cancelled, and how many connections httpcore
    orphaned (see ``orphaned_connections``)."""
    rng = random.Random(seed)
    completed = cancelled = 0
    lib = library_module(http_library)
    limits = lib.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    async with new_client(
        http_library, base_url=server.base_url, timeout=60, limits=limits
    ) as http:

        async def one(cancel: bool) -> None:
            nonlocal completed, cancelled
            with trio.move_on_after(rng.uniform(0.0, 5.0) if cancel else 120) as scope:
                await one_stream(http)
                completed += 1
            cancelled += scope.cancelled_caught

        with trio.fail_after(300):
            async with trio.open_nursery() as nursery:
                for i in range(CONCURRENT):
                    nursery.start_soon(one, i % 2 == 0)
        orphans = orphaned_connections(http)
        assert busy_connections(http) == orphans
    await server.wait_connections_closed()
    server.requests.clear()
    return completed, cancelled, len(orphans)


async def test_1k_concurrent_streams_half_cancelled(
    http_library: str, tasks: TaskTracker, capsys: pytest.CaptureFixture[str]
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * CONCURRENT:  # client and server sockets live in this one process
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * CONCURRENT), hard))
    async with open_chat_server(default=reply_for) as server:
        fds_before, rss_before = open_fds(), rss()
        with counting_tasks() as counter:
            completed, cancelled, orphans = await burst(http_library, server, seed=1)
            rss_first = rss()
            *again, orphans_again = await burst(http_library, server, seed=2)
            await trio.testing.wait_all_tasks_blocked()  # let exited tasks be counted
            live_after = counter.alive
        fds_after, rss_second = open_fds(), rss()
    report(
        capsys,
        f"\nsoak {http_library}: {CONCURRENT} concurrent streams ({cancelled} cancelled, "
        f"{completed} completed), twice: httpcore orphaned {orphans} + {orphans_again} "
        f"connections; fds {fds_before} -> {fds_after}, tasks left "
        f"{live_after}, RSS before {rss_before / 2**20:.1f} MiB, after the first burst "
        f"{rss_first / 2**20:.1f} MiB, after the second {rss_second / 2**20:.1f} MiB",
    )
    assert completed + cancelled == CONCURRENT == sum(again)
    assert completed >= CONCURRENT // 2
    assert fds_after == fds_before
    assert live_after == 0
    assert rss_second - rss_first < CONCURRENT_RSS_BOUND
