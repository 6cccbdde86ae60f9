"""trio_chatsse against raw httpx, httpx-sse and openai-python, side by side in one run.

A loopback server in a separate process (``replay.py``) replays pre-generated, deterministic
OpenAI-shaped bodies, one HTTP chunk (one write) per SSE event. The consumers
(``consumers.py``) run in this process, interleaved round by round with the order rotated,
and each run is checked to produce the right text, tool calls and usage. CPU time is this
process's own (the server's is not in it); every figure is also given as a ratio to the
floor, raw httpx ``aiter_bytes()``, measured in the same rounds.

Three parts: one stream at a time (Chat Completions, then the Responses API); bursts of K
streams at once through one client; and peak memory, each probe in a fresh process.

    python benchmarks/bench.py            # everything (about 20 minutes on 2 cores)
    python benchmarks/bench.py --quick    # a short smoke run
    python benchmarks/bench.py --write    # also write benchmarks/RESULTS.rst and results/*.json
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import trio
from consumers import BURST, FLOOR, OURS, TABLES, Clients, Consumer
from replay import (
    MESSAGES_SCENARIOS,
    NATIVE_SCENARIOS,
    RESPONSES_SCENARIOS,
    SCENARIOS,
    Result,
    body_size,
    chat_chunks,
    gemini_payloads,
    messages_payloads,
    ollama_payloads,
    responses_payloads,
    serve,
)

HERE = Path(__file__).parent
#: The chunks of each stream of a burst.
BURST_CHUNKS = 400


@dataclass
class Samples:
    """One consumer's runs in one case: wall and CPU seconds, CPU as a ratio to the floor."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    ratio: list[float] = field(default_factory=list)


@dataclass
class Case:
    """What to run: an API's scenario at ``n`` chunks, ``k`` streams at once."""

    api: str
    scenario: str
    n: int
    rounds: int
    k: int = 1
    with_openai: bool = True

    @property
    def key(self) -> str:
        prefix = "" if self.api == "chat" else f"{self.api} "
        burst = f" x{self.k} at once" if self.k > 1 or self.scenario == "burst" else ""
        return f"{prefix}{self.scenario}:{self.n}{burst}"

    @property
    def chunks(self) -> int:
        return self.n * self.k


@functools.cache
def _expected(api: str, scenario: str, n: int) -> tuple[Result, int]:
    """What a run must give, and the body's size: built once, before any run is timed."""
    payloads = {
        "chat": chat_chunks,
        "responses": responses_payloads,
        "messages": messages_payloads,
        "gemini": gemini_payloads,
        "ollama": ollama_payloads,
    }
    result = payloads[api](scenario, n)[1]
    return result, body_size(api, scenario, n)


def _consumers(case: Case, only: tuple[str, ...] | None) -> dict[str, Consumer]:
    table = TABLES[case.api]
    names = [name for name in table if only is None or name in only]
    if not case.with_openai:
        sdks = ("openai", "anthropic", "google-genai", "ollama-python")
        names = [name for name in names if not name.startswith(sdks)]
    return {name: table[name] for name in names}


async def _run(clients: Clients, case: Case, consumer: Consumer, *, check: bool = True) -> None:
    """One run of a consumer (``k`` streams at once for a burst), its results checked."""
    scenario = "text" if case.scenario == "burst" else case.scenario
    expected, size = _expected(case.api, scenario, case.n) if check else (None, 0)

    async def one() -> None:
        got = await consumer(clients, scenario, case.n)
        if not check:
            return
        if isinstance(got, int):
            assert got == size, f"the floor read {got} bytes, not {size}"
        else:
            assert got == expected, f"a wrong result for {case.key}"

    if case.k == 1:
        await one()
        return
    async with trio.open_nursery() as nursery:
        for _ in range(case.k):
            nursery.start_soon(one)


async def measure(
    clients: Clients, case: Case, consumers: dict[str, Consumer]
) -> dict[str, Samples]:
    """Run every consumer ``case.rounds`` times (after a warm-up round), the order rotated
    each round, with a run of the floor before each and after the last: each ratio is to
    the mean of the two floor runs around it. This machine's speed drifts over seconds, so
    a ratio to a floor run far away in the round (an openai-python run takes seconds) would
    measure the drift as much as the consumer."""
    others = [name for name in consumers if name != FLOOR]
    samples = {name: Samples() for name in consumers}
    _expected(case.api, "text" if case.scenario == "burst" else case.scenario, case.n)

    async def timed(name: str, warm: bool) -> float:
        # The last run's garbage is collected now, not charged to this run.
        gc.collect()
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        await _run(clients, case, consumers[name])
        wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
        if warm:
            samples[name].wall.append(wall)
            samples[name].cpu.append(cpu)
        return cpu

    for round_ in range(case.rounds + 1):  # round 0 warms up (imports, caches, connections)
        warm = round_ > 0
        order = others[round_ % len(others) :] + others[: round_ % len(others)]
        before = await timed(FLOOR, warm)
        for name in order:
            cpu = await timed(name, warm)
            after = await timed(FLOOR, warm)
            if warm:
                samples[name].ratio.append(cpu / ((before + after) / 2))
            before = after
    samples[FLOOR].ratio = [1.0] * len(samples[FLOOR].cpu)
    return samples


# -- memory -------------------------------------------------------------------------------------


def peak_memory(case: Case, consumer: str, port: int) -> tuple[float, float]:
    """Peak RSS (MiB) of one run in a fresh process, and its growth during the run."""
    spec = json.dumps([case.api, case.scenario, case.n, case.k, consumer, port])
    out = subprocess.run(
        [sys.executable, __file__, "--memory-probe", spec],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), float(out[1])


def _memory_probe(spec: str) -> None:
    api, scenario, n, k, consumer, port = json.loads(spec)
    case = Case(api, scenario, n, rounds=1, k=k)
    # Imported up front so that every probe pays the same import cost.
    import anthropic  # noqa: F401
    import httpx_sse  # noqa: F401
    import openai  # noqa: F401

    import trio_chatsse  # noqa: F401

    async def run() -> None:
        clients = Clients.open(port, burst=case.scenario == "burst")
        table = TABLES[api]
        await _run(clients, Case(api, "text", 10, 1), table[consumer])  # lazy imports, pool
        gc.collect()
        before = _high_water_mark()
        # Unchecked: building the expected answer would raise the high-water mark itself
        # (the timed runs check every consumer's answer).
        await _run(clients, case, table[consumer], check=False)
        peak = _high_water_mark()
        print(f"{peak:.1f} {peak - before:.1f}")
        await clients.aclose()

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


Results = dict[str, tuple[Case, dict[str, Samples]]]
Memory = dict[str, dict[str, tuple[float, float]]]


def report(results: Results, memory: Memory) -> list[str]:
    lines = []
    for key, (case, samples) in results.items():
        rounds = len(samples[OURS].cpu) if OURS in samples else 0
        lines.append(f"\n{key}  ({rounds} rounds; medians)")
        lines.append(
            f"  {'consumer':38} {'wall ms':>9} {'cpu ms':>9} {'cpu µs/chunk':>13} {'x floor':>8}"
        )
        for name, s in samples.items():
            wall, cpu = statistics.median(s.wall) * 1e3, statistics.median(s.cpu) * 1e3
            ratio = f"{statistics.median(s.ratio):8.2f}" if s.ratio else f"{'':8}"
            per_chunk = cpu * 1e3 / case.chunks
            lines.append(f"  {name:38} {wall:9.1f} {cpu:9.1f} {per_chunk:13.2f} {ratio}")
    for key, by_consumer in memory.items():
        k = _memory_cases()[key].k
        lines.append(f"\npeak RSS of one {key} run in a fresh process (MiB)")
        lines.append(f"  {'consumer':38} {'peak':>9} {'growth':>9} {'KiB/stream':>11}")
        for name, (peak, growth) in by_consumer.items():
            lines.append(f"  {name:38} {peak:9.1f} {growth:+9.1f} {growth * 1024 / k:11.0f}")
    return lines


def summary(results: Results, memory: Memory) -> dict[str, float]:
    """The ratios the targets are about, for those cases this run measured."""
    out: dict[str, float] = {}

    def median(key: str, name: str, what: str = "cpu") -> float | None:
        if key not in results or name not in results[key][1]:
            return None
        values = getattr(results[key][1][name], what)
        return statistics.median(values) if values else None

    def per_chunk(key: str, name: str) -> float | None:
        cpu = median(key, name)
        return None if cpu is None else cpu / results[key][0].chunks

    def put(label: str, value: float | None) -> None:
        if value is not None:
            out[label] = round(value, 2)

    def over(label: str, key: str, numerator: str, denominator: str) -> None:
        a, b = median(key, numerator), median(key, denominator)
        if a is not None and b:
            put(label, a / b)

    for key, (case, _) in results.items():
        tag = (
            f"{case.api}_{case.scenario}_{case.n // 1000 or case.n}{'k' if case.n >= 1000 else ''}"
        )
        if case.k > 1 or case.scenario == "burst":
            tag = f"burst_x{case.k}"
        put(f"ours_x_floor_{tag}", median(key, OURS, "ratio"))
        for name, short in (
            ("openai create(stream=True)", "openai_raw"),
            ("openai .stream() helper", "openai_helper"),
            ("openai responses.create(stream=True)", "openai_raw"),
            ("openai responses.stream() helper", "openai_helper"),
            ("anthropic messages.create(stream=True)", "anthropic_raw"),
            ("anthropic messages.stream() helper", "anthropic_helper"),
            ("httpx-sse + json", "httpx_sse"),
        ):
            over(f"{short}_over_ours_{tag}", key, name, OURS)
        over(f"ours_live_over_ours_{tag}", key, "trio_chatsse, live tool calls", OURS)
        over(
            f"ours_httpx2_over_httpx2_floor_{tag}",
            key,
            "trio_chatsse on httpx2",
            "httpx2 aiter_bytes",
        )
    single, largest = "text:100000", "text:20000"
    a, b = per_chunk(single, OURS), per_chunk(largest, OURS)
    if a is not None and b:
        put("ours_us_per_chunk_100k_over_20k", a / b)
    bursts = sorted((case.k, key) for key, (case, _) in results.items() if case.scenario == "burst")
    if len(bursts) > 1:
        one, most = per_chunk(bursts[0][1], OURS), per_chunk(bursts[-1][1], OURS)
        if one and most is not None:
            put(f"ours_burst_x{bursts[-1][0]}_over_x{bursts[0][0]}_per_chunk", most / one)
    for key, by_consumer in memory.items():
        k = _memory_cases()[key].k
        if k == 1:
            continue
        kib = {name: growth * 1024 / k for name, (_, growth) in by_consumer.items()}
        for name, value in kib.items():
            put(f"rss_kib_per_stream_x{k}_{_slug(name)}", value)
        if OURS in kib and kib.get("httpx-sse + json"):
            put(f"ours_rss_over_httpx_sse_x{k}", kib[OURS] / kib["httpx-sse + json"])
    return out


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").replace("__", "_")


# -- the plan -----------------------------------------------------------------------------------


def plan(quick: bool) -> list[Case]:
    if quick:
        return [
            Case("chat", "text", 2_000, 3),
            Case("chat", "tools", 2_000, 2),
            Case("responses", "text", 2_000, 2),
            Case("messages", "text", 2_000, 2),
            Case("messages", "tools", 2_000, 2),
            Case("chat", "burst", BURST_CHUNKS, 3, k=1),
            Case("chat", "burst", BURST_CHUNKS, 2, k=50),
        ]
    # openai-python takes about 40 s per 100,000-chunk run: it sits that size out.
    cases = [
        Case("chat", "text", 2_000, 15),
        Case("chat", "text", 20_000, 7),
        Case("chat", "text", 100_000, 3, with_openai=False),
    ]
    cases += [Case("chat", s, 10_000, 5) for s in SCENARIOS if s != "text"]
    cases += [Case("responses", s, 10_000, 5) for s in RESPONSES_SCENARIOS]
    cases += [Case("messages", s, 10_000, 5) for s in MESSAGES_SCENARIOS]
    cases += [Case(api, s, 10_000, 5) for api in ("gemini", "ollama") for s in NATIVE_SCENARIOS]
    cases += [
        Case("chat", "burst", BURST_CHUNKS, 15, k=1),
        Case("chat", "burst", BURST_CHUNKS, 5, k=100),
        Case("chat", "burst", BURST_CHUNKS, 3, k=500),
    ]
    return cases


def _memory_cases() -> dict[str, Case]:
    cases = [Case("chat", "text", 100_000, 1), Case("chat", "burst", BURST_CHUNKS, 1, k=500)]
    return {case.key: case for case in cases}


MEMORY_CONSUMERS = {
    "text:100000": (FLOOR, "httpx-sse + json", "openai create(stream=True)", OURS),
    f"burst:{BURST_CHUNKS} x500 at once": BURST,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--write", action="store_true", help="write RESULTS.rst and results/*.json")
    parser.add_argument(
        "--only",
        metavar="API:SCENARIO:N:ROUNDS[:K]",
        help="run one case, e.g. chat:text:20000:5 or chat:burst:400:2:500",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory probes")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.memory_probe:
        _memory_probe(args.memory_probe)
        return
    cases = plan(args.quick)
    if args.only:
        api, scenario, n, rounds, *k = args.only.split(":")
        cases = [Case(api, scenario, int(n), int(rounds), k=int(k[0]) if k else 1)]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    memory: Memory = {}
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())

        async def run_all() -> Results:
            results: Results = {}
            for case in cases:
                burst = case.scenario == "burst"
                clients = Clients.open(port, burst=burst)
                samples = await measure(clients, case, _consumers(case, BURST if burst else None))
                await clients.aclose()
                results[case.key] = (case, samples)
                print(*report({case.key: results[case.key]}, {}), sep="\n", flush=True)
            return results

        results = trio.run(run_all)
        if not (args.quick or args.only or args.no_memory):
            for key, case in _memory_cases().items():
                memory[key] = {
                    name: peak_memory(case, name, port) for name in MEMORY_CONSUMERS[key]
                }
                print(*report({}, {key: memory[key]}), sep="\n", flush=True)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(10)
    print(json.dumps({"summary": summary(results, memory)}, indent=1))
    if args.write:
        _write(report(results, memory), results, memory)


def _write(lines: list[str], results: Results, memory: Memory) -> None:
    import platform

    import anthropic
    import httpx
    import httpx2
    import openai

    stamp = time.strftime("%Y-%m-%d")
    versions = (
        f"Python {platform.python_version()}, trio {trio.__version__}, "
        f"httpx {httpx.__version__}, httpx2 {httpx2.__version__}, openai {openai.__version__}, "
        f"anthropic {anthropic.__version__}"
    )
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    raw = {
        key: {name: s.__dict__ for name, s in samples.items()}
        for key, (_, samples) in results.items()
    }
    (results_dir / f"{stamp}.json").write_text(
        json.dumps(
            {
                "date": stamp,
                "versions": versions,
                "results": raw,
                "memory": memory,
                "summary": summary(results, memory),
            },
            indent=1,
        )
        + "\n"
    )
    table = "\n".join("   " + line if line else "" for line in "\n".join(lines).splitlines())
    (HERE / "RESULTS.rst").write_text(
        f"Measured on {stamp} ({versions}, {os.cpu_count()} cores, loopback).\n"
        "Ratios are medians of CPU-time ratios to the floor, raw ``aiter_bytes()`` of httpx,\n"
        "each to the mean of the floor runs just before and after it. A burst is K streams\n"
        f"of {BURST_CHUNKS} chunks at once through one client; its µs/chunk divides by all "
        "K x chunks.\n\n"
        f".. code-block:: text\n{table}\n\nThe ratios the targets are about:\n\n"
        f".. code-block:: json\n\n{_indented(json.dumps(summary(results, memory), indent=1))}\n"
    )


def _indented(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())


if __name__ == "__main__":
    main()
