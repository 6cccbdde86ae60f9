"""Many processes behind one key: a limiter each, against one limiter shared in Redis.

One provider window of 10 requests per 2 s (the embedded server's ``RateLimitWindow``, OpenAI's
``x-ratelimit-*-requests`` headers counting down, a 429 with ``Retry-After`` beyond it), 60
streams with ``max_retries=6``:

- 1 process, one in-process ``Limiter``, 60 streams (the baseline);
- 4 processes, a ``Limiter`` each, 15 streams each;
- 4 processes, one ``Limiter(redis=..., key=...)`` each, sharing its state, 15 streams each;
- ``trio-chatsse batch`` split in 2 shards (``--shard 1/2``, ``2/2``), 30 lines each, without
  and with ``--redis``.

Each client is a process of its own, started together (the streams at one agreed moment); the
server and a throwaway ``redis-server`` (``trio_chatsse.testing.open_redis_server``) run in this
process. Printed: the 200s and 429s the server counted, and each process's wall time.

    python benchmarks/shared_limits.py
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
import trio

from trio_chatsse import Limiter, open_chat_stream
from trio_chatsse.testing import RateLimitWindow, Reply, open_chat_server, open_redis_server

WINDOW = (10, 2.0)
MESSAGES = [{"role": "user", "content": "hi"}]
#: Seconds the processes have to start before their streams begin together.
START_DELAY = 2.5


async def worker(base_url: str, redis: str, key: str, streams: int, start_at: float) -> None:
    """One client process: ``streams`` streams at once from ``start_at`` (wall clock)."""
    shared = {"redis": redis, "key": key} if redis else {}
    failed = 0
    async with Limiter(**shared) as limiter, httpx.AsyncClient(base_url=base_url) as http:  # type: ignore[arg-type]

        async def one() -> None:
            nonlocal failed
            try:
                async with open_chat_stream(
                    http, model="m", messages=MESSAGES, limiter=limiter, max_retries=6
                ) as stream:
                    await stream.final()
            except Exception:
                failed += 1

        await trio.sleep(max(0.0, start_at - time.time()))
        began = time.monotonic()
        async with trio.open_nursery() as nursery:
            for _ in range(streams):
                nursery.start_soon(one)
        elapsed = time.monotonic() - began
    print(json.dumps({"elapsed": elapsed, "failed": failed}))


async def run_clients(
    commands: list[list[str]], window: RateLimitWindow
) -> tuple[int, int, list[float]]:
    """Run the client processes at once; the server's 200s and 429s, each one's time."""
    times: list[float] = []

    async def one(command: list[str]) -> None:
        done = await trio.run_process(command, capture_stdout=True, capture_stderr=True)
        if command[2] == "--worker":
            times.append(json.loads(done.stdout.decode().splitlines()[-1])["elapsed"])
        else:  # batch's summary ends with its own wall time: "..., 10.6 s"
            summary = done.stderr.decode().strip().splitlines()[-1]
            times.append(float(summary.rsplit(", ", 1)[1].removesuffix(" s")))

    async with trio.open_nursery() as nursery:
        for command in commands:
            nursery.start_soon(one, command)
    return len(window.admitted_at), window.refused, sorted(times)


def stream_commands(base_url: str, processes: int, each: int, redis: str) -> list[list[str]]:
    start_at = str(time.time() + START_DELAY)
    key = f"bench-{start_at}"
    worker = [sys.executable, __file__, "--worker", base_url, redis, key, str(each), start_at]
    return [worker] * processes


async def main() -> None:
    rows: list[tuple[str, int, int, list[float]]] = []
    async with open_redis_server() as redis:
        configs = [
            ("1 process, one Limiter, 60 streams", 1, 60, ""),
            ("4 processes, a Limiter each, 15 streams each", 4, 15, ""),
            ("4 processes, one shared Limiter, 15 streams each", 4, 15, redis.url),
        ]
        for name, processes, each, url in configs:
            window = RateLimitWindow(*WINDOW)
            async with open_chat_server(default=Reply(text="ok"), rate_limit=window) as srv:
                commands = stream_commands(srv.base_url, processes, each, url)
                rows.append((name, *await run_clients(commands, window)))
        for shared in (False, True):
            window = RateLimitWindow(*WINDOW)
            async with open_chat_server(default=Reply(text="ok"), rate_limit=window) as srv:
                with tempfile.TemporaryDirectory() as folder:
                    commands = batch_commands(
                        Path(folder), srv.base_url, redis.url if shared else None
                    )
                    result = await run_clients(commands, window)
            how = "shared in Redis" if shared else "a Limiter each"
            rows.append((f"2 batch shards, 30 lines each, {how}", *result))
    print(f"window: {WINDOW[0]} requests per {WINDOW[1]:g} s; max_retries=6\n")
    print("| clients | 200s | 429s | slowest / fastest client |")
    print("|---|---|---|---|")
    for name, ok, refused, times in rows:
        spread = f"{times[-1]:.1f} s / {times[0]:.1f} s" if len(times) > 1 else f"{times[0]:.1f} s"
        print(f"| {name} | {ok} | {refused} | {spread} |")


def batch_commands(folder: Path, base_url: str, redis: str | None) -> list[list[str]]:
    source = folder / "in.jsonl"
    with source.open("w") as file:
        for number in range(60):
            body = {"model": "m", "messages": MESSAGES}
            line = {"custom_id": f"r{number}", "method": "POST", "url": "/v1/chat/completions"}
            file.write(json.dumps({**line, "body": body}) + "\n")
    shared = ["--redis", redis, "--key", "bench-batch"] if redis else []
    return [
        [
            *[sys.executable, "-m", "trio_chatsse", "batch", str(source)],
            *["-o", str(folder / f"out{k}.jsonl"), "--base-url", base_url, "--max-retries", "6"],
            *["--shard", f"{k}/2", *shared],
        ]
        for k in (1, 2)
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        base_url, redis, key, streams, start_at = sys.argv[2:7]
        trio.run(worker, base_url, redis, key, int(streams), float(start_at))
    else:
        argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
        trio.run(main)
