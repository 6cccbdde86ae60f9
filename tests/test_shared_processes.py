"""A Limiter shared in Redis by real processes: one killed with SIGKILL while holding the only
slot frees it when its lease ends, and ``trio-chatsse batch --shard K/N --redis --key`` splits
one input file between processes that share one limit."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from trio_chatsse import Limiter
from trio_chatsse.testing import RedisServer, Reply, open_chat_server, open_redis_server

HOLDER = """
import sys, trio
from trio_chatsse import Limiter

async def main(url):
    limiter = Limiter(redis=url, key="killed", max_concurrent=1, learn=False, lease=1.0)
    async with limiter:
        await limiter.acquire(1)
        print("holding", flush=True)
        await trio.sleep_forever()

trio.run(main, sys.argv[1])
"""


@pytest.fixture
async def redis() -> AsyncIterator[RedisServer]:
    async with open_redis_server() as server:
        yield server


async def test_a_process_killed_while_holding_a_slot_frees_it_within_the_lease(
    redis: RedisServer,
) -> None:
    holder = await trio.lowlevel.open_process(
        [sys.executable, "-c", HOLDER, redis.url], stdout=subprocess.PIPE
    )
    assert holder.stdout is not None
    try:
        with trio.fail_after(30):
            printed = b""
            while b"holding" not in printed:
                chunk = await holder.stdout.receive_some()
                assert chunk, "the holder ended before it took the slot"
                printed += chunk
        limiter = Limiter(redis=redis.url, key="killed", max_concurrent=1, learn=False)
        async with limiter:
            with trio.move_on_after(1.5) as waiting:  # renewed: held past its first lease
                await limiter.acquire(1)
            assert waiting.cancelled_caught
            holder.kill()  # SIGKILL: nothing is given back
            killed = trio.current_time()
            permit = await limiter.acquire(1)
            assert trio.current_time() - killed < 1.0 + 1.0  # the lease, and slack
            await limiter.settle(permit, None)
    finally:
        holder.kill()
        with trio.move_on_after(10, shield=True):
            await holder.stdout.aclose()
            await holder.wait()


def batch_input(path: Path, count: int) -> set[str]:
    with path.open("w") as file:
        for number in range(count):
            body = {"model": "m", "messages": [{"role": "user", "content": str(number)}]}
            line = {"custom_id": f"r{number}", "method": "POST", "url": "/v1/chat/completions"}
            file.write(json.dumps({**line, "body": body}) + "\n")
        file.write("not json\n")
    return {f"r{number}" for number in range(count)}


def written(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_batch_shards_split_the_input_and_share_one_limit(
    redis: RedisServer, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    ids = batch_input(source, 40)
    async with open_chat_server(default=Reply(text="ok")) as server:

        async def shard(k: int) -> None:
            command = [sys.executable, "-m", "trio_chatsse", "batch", str(source)]
            command += ["-o", str(tmp_path / f"out{k}.jsonl"), "--base-url", server.base_url]
            command += ["--shard", f"{k}/3", "--redis", redis.url, "--key", "batch"]
            await trio.run_process(command, capture_stderr=True, check=False)

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for k in (1, 2, 3):
                    nursery.start_soon(shard, k)
        sent = len(server.requests)
        outputs = [written(tmp_path / f"out{k}.jsonl") for k in (1, 2, 3)]
        # A rerun of a shard sends nothing: its output holds all of its part.
        with trio.fail_after(60):
            await shard(2)
        assert len(server.requests) == sent
    custom_ids = [line.get("custom_id") for lines in outputs for line in lines]
    done = [c for c in custom_ids if isinstance(c, str)]
    assert sorted(done) == sorted(ids)  # each once, in exactly one shard
    assert custom_ids.count(None) == 1  # the bad line's error, written by one shard
    assert all(len(lines) >= 5 for lines in outputs)
    assert sent == 40
    assert written(tmp_path / "out2.jsonl") == outputs[1]


async def test_batch_shares_a_limit_only_with_redis_and_key(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    batch_input(source, 1)
    command = [sys.executable, "-m", "trio_chatsse", "batch", str(source), "-o"]
    command += [str(tmp_path / "out.jsonl"), "--base-url", "http://127.0.0.1:9/v1"]
    for extra, message in [
        (["--redis", "redis://127.0.0.1:9"], b"--redis and --key go together"),
        (["--shard", "3/2"], b"is not K/N"),
    ]:
        done = await trio.run_process(command + extra, capture_stderr=True, check=False)
        assert done.returncode == 2
        assert message in done.stderr


async def test_a_batch_stops_when_its_shared_limits_are_unreachable(tmp_path: Path) -> None:
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    batch_input(source, 5)
    async with open_chat_server(default=Reply(text="ok")) as server:
        command = [sys.executable, "-m", "trio_chatsse", "batch", str(source), "-o", str(output)]
        command += ["--base-url", server.base_url, "--key", "batch"]
        command += ["--redis", f"unix://{tmp_path / 'no-redis.sock'}"]
        with trio.fail_after(60):
            done = await trio.run_process(command, capture_stderr=True, check=False)
    assert done.returncode == 1
    assert b"unreachable" in done.stderr
    assert server.requests == []
    # No line was written for the requests that were not sent: a rerun sends them.
    assert [line.get("custom_id") for line in written(output)] in ([], [None])
