"""trio_chatsse against raw httpx, httpx-sse and openai-python, side by side in one run.

A loopback server in a separate process replays pre-generated, deterministic OpenAI-shaped
bodies, one HTTP chunk (one write) per SSE event. The consumers run in this process,
interleaved round by round with the order rotated, and each run is checked to produce the
right text, tool calls and usage. CPU time is this process's own (the server's is not in it).

    python benchmarks/bench.py            # the full comparison (a few minutes on 2 cores)
    python benchmarks/bench.py --quick    # a short smoke run
    python benchmarks/bench.py --write    # also write benchmarks/RESULTS.rst and results/*.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import socketserver
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import httpx
import trio

HERE = Path(__file__).parent
SCENARIOS = ("text", "reasoning", "tools", "mixed")
Result = tuple[str, str, list[tuple[str, str, str]], int]
"""What a consumer hands back: text, reasoning, tool calls (id, name, arguments), total tokens."""


# -- bodies -------------------------------------------------------------------------------------


def make_chunks(scenario: str, n: int) -> tuple[list[dict[str, object]], Result]:
    """``n`` SSE events' worth of chunks for a scenario, and the result they must give."""

    def chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
        return {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": "bench",
            "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    body = n - 3  # a role chunk, a finish chunk and a usage chunk besides
    shares = {
        "text": (0, body, 0),
        "reasoning": (body // 2, body - body // 2, 0),
        "tools": (0, 0, body),
        "mixed": (body // 4, body // 4, body - 2 * (body // 4)),
    }[scenario]
    reasoning_n, text_n, tool_n = shares
    chunks = [chunk({"role": "assistant", "content": ""})]
    reasoning = [f"r{i} " for i in range(reasoning_n)]
    text = [f"w{i} " for i in range(text_n)]
    chunks += [chunk({"reasoning_content": piece}) for piece in reasoning]
    chunks += [chunk({"content": piece}) for piece in text]
    calls = 4 if scenario == "tools" else 2
    per_call = [tool_n // calls + (1 if i < tool_n % calls else 0) for i in range(calls)]
    expected_calls = []
    for index, count in enumerate(per_call):
        if not count:
            continue
        call_id, name = f"call_{index}", f"tool_{index}"
        pieces = ['{"values": ['] + [f"{i}, " for i in range(count - 2)] + ["0]}"]
        pieces = pieces[:count] if count >= 2 else ["{}"]
        first = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": pieces[0]},
        }
        chunks.append(chunk({"tool_calls": [first]}))
        chunks += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]})
            for p in pieces[1:]
        ]
        expected_calls.append((call_id, name, "".join(pieces)))
    chunks.append(chunk({}, "tool_calls" if expected_calls else "stop"))
    usage = {"prompt_tokens": 100, "completion_tokens": body, "total_tokens": 100 + body}
    chunks.append({**chunk({}), "choices": [], "usage": usage})
    return chunks, ("".join(text), "".join(reasoning), expected_calls, 100 + body)


def framed_events(scenario: str, n: int) -> list[bytes]:
    """The body as HTTP/1.1 chunked-encoding frames, one per SSE event."""
    chunks, _ = make_chunks(scenario, n)
    events = [b"data: " + json.dumps(c, separators=(",", ":")).encode() + b"\n\n" for c in chunks]
    events.append(b"data: [DONE]\n\n")
    return [f"{len(e):x}\r\n".encode() + e + b"\r\n" for e in events] + [b"0\r\n\r\n"]


# -- the server (a separate process) ------------------------------------------------------------


_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


class _Handler(socketserver.StreamRequestHandler):
    cache: ClassVar[dict[str, list[bytes]]] = {}

    def handle(self) -> None:
        while True:
            request_line = self.rfile.readline()
            if not request_line:
                return
            length = 0
            while (line := self.rfile.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            request = json.loads(self.rfile.read(length))
            key = request["model"]  # "scenario:n"
            if key not in self.cache:
                scenario, n = key.split(":")
                self.cache[key] = framed_events(scenario, int(n))
            self.connection.sendall(_HEAD)
            for frame in self.cache[key]:
                self.connection.sendall(frame)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve() -> None:
    """Run the replay server on 127.0.0.1, print its port, stop when stdin closes."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


# -- the consumers ------------------------------------------------------------------------------


class Accumulator:
    """What a hand-rolled consumer of raw chunks does: join text, assemble calls by index."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, list[str]] = {}
        self.total = 0

    def add(self, obj: dict[str, object]) -> None:
        usage = obj.get("usage")
        if isinstance(usage, dict):
            self.total = usage["total_tokens"]
        for choice in obj.get("choices") or []:  # type: ignore[attr-defined]  # raw JSON
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self.text.append(delta["content"])
            if delta.get("reasoning_content"):
                self.reasoning.append(delta["reasoning_content"])
            for call in delta.get("tool_calls") or []:
                state = self.calls.setdefault(call["index"], ["", "", ""])
                state[0] = state[0] or call.get("id") or ""
                function = call.get("function") or {}
                state[1] = state[1] or function.get("name") or ""
                state[2] += function.get("arguments") or ""

    def result(self) -> Result:
        calls = [(c[0], c[1], c[2]) for _, c in sorted(self.calls.items())]
        return "".join(self.text), "".join(self.reasoning), calls, self.total


def request_body(scenario: str, n: int) -> dict[str, object]:
    return {
        "model": f"{scenario}:{n}",
        "messages": [{"role": "user", "content": "go"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


@dataclass
class Clients:
    base_url: str
    http: httpx.AsyncClient
    openai: object = None


async def raw_bytes(c: Clients, scenario: str, n: int) -> Result | int:
    size = 0
    async with c.http.stream(
        "POST", "chat/completions", json=request_body(scenario, n)
    ) as response:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
    return size


async def lines_json(c: Clients, scenario: str, n: int) -> Result:
    acc = Accumulator()
    async with c.http.stream(
        "POST", "chat/completions", json=request_body(scenario, n)
    ) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                data = line[6:]
                if data == "[DONE]":
                    break
                acc.add(json.loads(data))
    return acc.result()


async def httpx_sse(c: Clients, scenario: str, n: int) -> Result:
    from httpx_sse import aconnect_sse

    acc = Accumulator()
    async with aconnect_sse(
        c.http, "POST", "chat/completions", json=request_body(scenario, n)
    ) as source:
        async for sse in source.aiter_sse():
            if sse.data == "[DONE]":
                break
            acc.add(json.loads(sse.data))
    return acc.result()


async def openai_raw(c: Clients, scenario: str, n: int) -> Result:
    client = c.openai
    body = request_body(scenario, n)
    stream = await client.chat.completions.create(  # type: ignore[attr-defined]  # optional import
        model=body["model"],
        messages=body["messages"],
        stream=True,
        stream_options={"include_usage": True},
    )
    text: list[str] = []
    reasoning: list[str] = []
    calls: dict[int, list[str]] = {}
    total = 0
    async for chunk in stream:
        if chunk.usage is not None:
            total = chunk.usage.total_tokens
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content:
                text.append(delta.content)
            extra = getattr(delta, "reasoning_content", None)
            if extra:
                reasoning.append(extra)
            for call in delta.tool_calls or []:
                state = calls.setdefault(call.index, ["", "", ""])
                state[0] = state[0] or call.id or ""
                if call.function is not None:
                    state[1] = state[1] or call.function.name or ""
                    state[2] += call.function.arguments or ""
    return (
        "".join(text),
        "".join(reasoning),
        [(s[0], s[1], s[2]) for _, s in sorted(calls.items())],
        total,
    )


async def openai_helper(c: Clients, scenario: str, n: int) -> Result:
    client = c.openai
    body = request_body(scenario, n)
    reasoning: list[str] = []
    async with client.chat.completions.stream(  # type: ignore[attr-defined]  # optional import
        model=body["model"], messages=body["messages"], stream_options={"include_usage": True}
    ) as stream:
        async for event in stream:
            if event.type == "chunk":
                for choice in event.chunk.choices:
                    extra = getattr(choice.delta, "reasoning_content", None)
                    if extra:
                        reasoning.append(extra)
        final = await stream.get_final_completion()
    message = final.choices[0].message
    calls = [(t.id, t.function.name, t.function.arguments) for t in message.tool_calls or []]
    return (
        message.content or "",
        "".join(reasoning),
        calls,
        final.usage.total_tokens if final.usage else 0,
    )


async def trio_chatsse(c: Clients, scenario: str, n: int) -> Result:
    from trio_chatsse import Reasoning, open_chat_stream

    body = request_body(scenario, n)
    async with open_chat_stream(
        c.http, model=str(body["model"]), messages=[{"role": "user", "content": "go"}]
    ) as stream:
        async for _ in stream:
            pass
    reasoning = "".join(
        part.text for item in stream.output if isinstance(item, Reasoning) for part in item.content
    )
    calls = [(call.call_id, call.name, call.arguments) for call in stream.tool_calls]
    return stream.text, reasoning, calls, stream.usage.total_tokens if stream.usage else 0


Consumer = Callable[[Clients, str, int], Awaitable["Result | int"]]
CONSUMERS: dict[str, Consumer] = {
    "httpx aiter_bytes (floor)": raw_bytes,
    "httpx aiter_lines + json": lines_json,
    "httpx-sse + json": httpx_sse,
    "openai create(stream=True)": openai_raw,
    "openai .stream() helper": openai_helper,
    "trio_chatsse": trio_chatsse,
}
BASELINE = "httpx aiter_bytes (floor)"


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class Samples:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    ratio: list[float] = field(default_factory=list)


async def open_clients(port: int) -> Clients:
    base_url = f"http://127.0.0.1:{port}/v1"
    http = httpx.AsyncClient(base_url=base_url, timeout=60)
    try:
        import openai
    except ImportError:  # pragma: no cover - the bench extra installs it
        client = None
    else:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    return Clients(base_url, http, client)


async def measure(
    clients: Clients, scenario: str, n: int, rounds: int, *, with_openai: bool = True
) -> dict[str, Samples]:
    _, expected = make_chunks(scenario, n)
    expected_size = sum(len(f) for f in framed_events(scenario, n))
    use_openai = with_openai and clients.openai is not None
    names = [name for name in CONSUMERS if use_openai or not name.startswith("openai")]
    samples = {name: Samples() for name in names}
    for round_ in range(rounds + 1):  # round 0 warms up (imports, caches, connections)
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        cpu_of: dict[str, float] = {}
        for name in order:
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            got = await CONSUMERS[name](clients, scenario, n)
            wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
            if isinstance(got, int):
                # The floor reads the body bytes only, after httpx removed the chunk framing.
                assert got == expected_size - _framing_overhead(scenario, n), (name, got)
            else:
                assert got == expected, f"{name} gave a wrong result for {scenario}:{n}"
            cpu_of[name] = cpu
            if round_:
                samples[name].wall.append(wall)
                samples[name].cpu.append(cpu)
        if round_:
            for name in names:
                samples[name].ratio.append(cpu_of[name] / cpu_of[BASELINE])
    return samples


def _framing_overhead(scenario: str, n: int) -> int:
    frames = framed_events(scenario, n)
    return sum(len(f) for f in frames) - sum(len(f.split(b"\r\n", 1)[1]) - 2 for f in frames[:-1])


MEMORY_CONSUMERS = (BASELINE, "httpx-sse + json", "openai create(stream=True)", "trio_chatsse")


def peak_memory(consumer: str, scenario: str, n: int, port: int) -> tuple[float, float]:
    """Peak RSS (MiB) of one run in a fresh process, and its growth during the run."""
    out = subprocess.run(
        [sys.executable, __file__, "--memory-probe", consumer, scenario, str(n), str(port)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), float(out[1])


def _memory_probe(consumer: str, scenario: str, n: int, port: int) -> None:
    # Imported up front so that every probe pays the same import cost.
    import openai  # noqa: F401

    import trio_chatsse  # noqa: F401

    async def run() -> None:
        clients = await open_clients(port)
        await CONSUMERS[consumer](clients, "text", 10)  # connections and lazy imports
        before = _high_water_mark()
        await CONSUMERS[consumer](clients, scenario, n)
        peak = _high_water_mark()
        print(f"{peak:.1f} {peak - before:.1f}")

    trio.run(run)


def _high_water_mark() -> float:
    """Peak RSS of this process image, in MiB. Not ``ru_maxrss``: on Linux that survives
    ``exec`` and would report the parent's size from before the fork."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


# -- reporting ----------------------------------------------------------------------------------


def report(
    results: dict[str, dict[str, Samples]], memory: dict[str, tuple[float, float]]
) -> list[str]:
    lines = []
    for key, samples in results.items():
        n = int(key.split(":")[1])
        lines.append(f"\n{key}  ({len(samples[BASELINE].cpu)} rounds; medians)")
        lines.append(
            f"  {'consumer':28} {'wall ms':>9} {'cpu ms':>9} {'cpu µs/chunk':>13} {'x floor':>8}"
        )
        for name, s in samples.items():
            wall, cpu = statistics.median(s.wall) * 1e3, statistics.median(s.cpu) * 1e3
            ratio = statistics.median(s.ratio)
            lines.append(f"  {name:28} {wall:9.1f} {cpu:9.1f} {cpu * 1e3 / n:13.2f} {ratio:8.2f}")
    if memory:
        lines.append(
            "\npeak RSS of one text:100000 run in a fresh process (MiB; growth during the run)"
        )
        for name, (peak, growth) in memory.items():
            lines.append(f"  {name:28} {peak:9.1f} {growth:+9.1f}")
    return lines


def summary(results: dict[str, dict[str, Samples]]) -> dict[str, object]:
    """The ratios the targets are about, for those cases this run measured."""
    ours = "trio_chatsse"
    out: dict[str, object] = {}
    for key, samples in results.items():
        scenario, n = key.split(":")
        tag = f"{scenario}_{int(n) // 1000}k"
        cpu = {name: statistics.median(s.cpu) for name, s in samples.items()}
        out[f"trio_chatsse_x_floor_{tag}"] = round(statistics.median(samples[ours].ratio), 2)
        for name, short in (
            ("openai create(stream=True)", "raw"),
            ("openai .stream() helper", "helper"),
        ):
            if name in cpu:
                out[f"openai_{short}_over_ours_{tag}"] = round(cpu[name] / cpu[ours], 2)
    if "text:20000" in results and "text:100000" in results:
        per_chunk = {
            key: statistics.median(results[key][ours].cpu) / int(key.split(":")[1])
            for key in ("text:20000", "text:100000")
        }
        out["ours_us_per_chunk_100k_over_20k"] = round(
            per_chunk["text:100000"] / per_chunk["text:20000"], 2
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--write", action="store_true", help="write RESULTS.rst and results/*.json")
    parser.add_argument(
        "--only", metavar="SCENARIO:N:ROUNDS", help="run one case, e.g. text:20000:5"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-probe", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.memory_probe:
        consumer, scenario, n, port = args.memory_probe
        _memory_probe(consumer, scenario, int(n), int(port))
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        # openai-python takes about 40 s per 100,000-chunk run: it sits that size out.
        plan = [("text", 2_000, 3, True)]
        if not args.quick:
            plan = [
                ("text", 2_000, 7, True),
                ("text", 20_000, 5, True),
                ("text", 100_000, 3, False),
            ]
            plan += [(s, 10_000, 3, True) for s in SCENARIOS if s != "text"]
        if args.only:
            scenario, n, rounds = args.only.split(":")
            plan = [(scenario, int(n), int(rounds), True)]

        async def run_all() -> dict[str, dict[str, Samples]]:
            clients = await open_clients(port)
            results = {}
            for scenario, n, rounds, with_openai in plan:
                key = f"{scenario}:{n}"
                results[key] = await measure(clients, scenario, n, rounds, with_openai=with_openai)
                print(
                    *report({key: results[key]}, {}),
                    sep="\n",
                    flush=True,
                )
            await clients.http.aclose()
            return results

        results = trio.run(run_all)
        memory = {}
        if not (args.quick or args.only):
            memory = {name: peak_memory(name, "text", 100_000, port) for name in MEMORY_CONSUMERS}
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(10)
    lines = report(results, memory)
    if memory:
        print(*lines[-len(memory) - 1 :], sep="\n")
    print(json.dumps({"summary": summary(results)}))
    if args.write:
        _write(lines, results, memory)


def _write(
    lines: list[str], results: dict[str, dict[str, Samples]], memory: dict[str, tuple[float, float]]
) -> None:
    import platform

    import openai

    stamp = time.strftime("%Y-%m-%d")
    versions = (
        f"Python {platform.python_version()}, trio {trio.__version__}, "
        f"httpx {httpx.__version__}, openai {openai.__version__}"
    )
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    raw = {
        key: {name: s.__dict__ for name, s in samples.items()} for key, samples in results.items()
    }
    (results_dir / f"{stamp}.json").write_text(
        json.dumps(
            {
                "date": stamp,
                "versions": versions,
                "results": raw,
                "memory": memory,
                "summary": summary(results),
            },
            indent=1,
        )
    )
    table = "\n".join("   " + line if line else "" for line in "\n".join(lines).splitlines())
    (HERE / "RESULTS.rst").write_text(
        f"Measured on {stamp} ({versions}, {os.cpu_count()} cores, loopback).\n"
        f"Ratios are medians of per-round CPU-time ratios to the floor, raw ``aiter_bytes()``.\n\n"
        f"::\n{table}\n\nSummary: ``{json.dumps(summary(results))}``\n"
    )


if __name__ == "__main__":
    main()
