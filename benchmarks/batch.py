"""``trio-chatsse batch`` against the cookbook-style asyncio + openai-python script, side by side.

10,000 short chat requests (an OpenAI Batch API input file) sent to the embedded server
(``trio-chatsse serve``, in a process of its own whose CPU is not counted) at a concurrency of
100 and 1,000. Each client runs in a process of its own and writes the same output lines; the
figures are its wall time, its CPU (user + system, from ``wait4``) and its peak memory.

- ``trio-chatsse batch``: each request streamed, its body rebuilt, written as it finishes.
- ``openai-python``: the OpenAI cookbook's parallel-processor pattern (asyncio, a semaphore
  for the concurrency, one task per request), with ``AsyncOpenAI``'s non-streamed
  ``chat.completions.create`` (the cookbook does not stream).

    python benchmarks/batch.py [--requests 10000] [--concurrency 100 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPENAI_SCRIPT = """
import asyncio, json, sys
from openai import AsyncOpenAI

async def main(source, target, base_url, concurrency):
    client = AsyncOpenAI(base_url=base_url, api_key="-", max_retries=2)
    gate = asyncio.Semaphore(concurrency)
    with open(target, "w") as out:
        async def one(number, line):
            async with gate:
                try:
                    answer = await client.chat.completions.create(**line["body"])
                    response = {"status_code": 200, "request_id": None, "body": answer.model_dump()}
                    record = {"id": f"batch_req_{number}", "custom_id": line["custom_id"],
                              "response": response, "error": None}
                except Exception as error:
                    record = {"id": f"batch_req_{number}", "custom_id": line["custom_id"],
                              "response": None, "error": {"message": str(error)}}
                out.write(json.dumps(record) + "\\n")
        lines = [json.loads(text) for text in open(source)]
        await asyncio.gather(*(one(n, line) for n, line in enumerate(lines)))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
"""


def write_input(path: Path, count: int) -> None:
    with path.open("w") as file:
        for number in range(count):
            body = {"model": "m", "messages": [{"role": "user", "content": f"Say {number}."}]}
            line = {"custom_id": f"r{number}", "method": "POST", "url": "/v1/chat/completions"}
            file.write(json.dumps({**line, "body": body}) + "\n")


def measure(command: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one client process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{command[:4]} exited with {status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "trio_chatsse", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().split(" at ")[1].strip()
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "input.jsonl"
            write_input(source, args.requests)
            script = Path(folder) / "openai_batch.py"
            script.write_text(OPENAI_SCRIPT)
            print(f"{args.requests:,} requests; client process: wall, CPU, peak memory")
            for concurrency in args.concurrency:
                for name, command in (
                    (
                        "trio-chatsse batch",
                        [sys.executable, "-m", "trio_chatsse", "batch", str(source), "-o",
                         str(Path(folder) / f"ours-{concurrency}.jsonl"), "--base-url", base_url,
                         "--concurrency", str(concurrency)],
                    ),
                    (
                        "openai-python (cookbook)",
                        [sys.executable, str(script), str(source),
                         str(Path(folder) / f"openai-{concurrency}.jsonl"), base_url,
                         str(concurrency)],
                    ),
                ):  # fmt: skip
                    wall, cpu, memory = measure(command)
                    print(
                        f"  concurrency {concurrency:5}  {name:25} {args.requests / wall:7.0f} "
                        f"req/s  {cpu / args.requests * 1e6:6.0f} µs CPU/req  {memory:6.0f} MiB"
                    )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
