"""The per-piece costs quoted in ``docs/design.rst`` ("Measured costs"), reproduced.

Each figure is the best of several ``timeit`` repeats, in microseconds per operation, so that
the VM's drift (±30 % between runs) shows as little as it can; compare figures of one run
only. ``--ab PATH`` also runs the whole pure pipeline (SSE decoder, parser, events) of this
checkout and of another copy of the package (its directory renamed, e.g. ``trio_chatsse_old``
under PATH) interleaved in this one process, and prints their ratio: the check that a change
left the hot path's cost where it was.

    python benchmarks/micro.py
    python benchmarks/micro.py --ab /tmp/old   # /tmp/old/trio_chatsse_old is the other copy
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import timeit
from collections.abc import Callable
from types import ModuleType
from typing import Any

import trio
from replay import chat_chunks, messages_payloads, responses_payloads

import trio_chatsse
import trio_chatsse.sansio
from trio_chatsse import OutputTextDelta
from trio_chatsse._models import constructor
from trio_chatsse._wire import loads

_REPEAT = 7


def best(stmt: Callable[[], object], number: int) -> float:
    """Microseconds per call: the best of the repeats."""
    return min(timeit.repeat(stmt, number=number, repeat=_REPEAT)) / number * 1e6


def _sse_body(payloads: list[dict[str, object]], *, events: bool, done: bool) -> list[bytes]:
    out = []
    for payload in payloads:
        line = b"data: " + json.dumps(payload).encode() + b"\n\n"
        if events:
            line = f"event: {payload['type']}\n".encode() + line
        out.append(line)
    if done:
        out.append(b"data: [DONE]\n\n")
    return out


def _chunk_texts(chunks: list[dict[str, Any]]) -> list[str]:
    """The text of each chat chunk that has some."""
    texts = []
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            if isinstance(content, str) and content:
                texts.append(content)
    return texts


def pieces() -> dict[str, float]:
    """Each piece of the hot path alone."""
    chunks, _ = chat_chunks("text", 200)
    chunk = json.dumps(chunks[50])
    body = _sse_body(chunks, events=False, done=True)
    build = constructor(OutputTextDelta)

    def decode_all() -> None:
        decoder = trio_chatsse.sansio.SSEDecoder()
        for piece in body:
            decoder.feed(piece)

    responses, _ = responses_payloads("text", 200)
    responses_body = _sse_body(responses, events=True, done=False)

    messages, _ = messages_payloads("text", 200)
    messages_body = _sse_body(messages, events=True, done=False)

    def per_event(events: list[bytes], parser_name: str) -> float:
        return best(_pipeline(trio_chatsse, events, parser_name), 200) / len(events)

    # The same text answer as Ollama's NDJSON lines, a line per chat chunk.
    ollama_lines = [
        json.dumps(
            {"model": "m", "created_at": "t", "message": {"role": "assistant", "content": text}}
            | {"done": False}
        ).encode()
        + b"\n"
        for text in _chunk_texts(chunks)
    ]
    ollama_lines.append(b'{"model":"m","created_at":"t","done":true,"done_reason":"stop"}\n')

    def ndjson_all() -> None:
        decoder = trio_chatsse.sansio.NDJSONDecoder()
        for piece in ollama_lines:
            decoder.feed(piece)

    def ollama_per_line() -> float:
        def run() -> None:
            decoder = trio_chatsse.sansio.NDJSONDecoder()
            parser = trio_chatsse.sansio.OllamaChatParser()
            for piece in ollama_lines:
                for frame in decoder.feed(piece):
                    parser.feed(frame.data)  # type: ignore[union-attr]  # lines, no comments

        return best(run, 200) / len(ollama_lines)

    async def scope_enter_exit() -> float:
        def body() -> None:
            with trio.move_on_after(300):  # noqa: ASYNC100  # its cost alone is measured
                pass

        return best(body, 20_000)

    async def deadline_move() -> float:
        clock = trio.current_time
        scope = trio.CancelScope(deadline=clock() + 300)

        def body() -> None:
            scope.deadline = clock() + 300

        with scope:
            await trio.lowlevel.checkpoint()
        return best(body, 20_000)

    return {
        f"json.loads, one {len(chunk)}-byte chunk": best(lambda: json.loads(chunk), 20_000),
        f"_wire.loads (pydantic-core), one {len(chunk)}-byte chunk": best(
            lambda: loads(chunk), 20_000
        ),
        "OutputTextDelta(...)": best(lambda: OutputTextDelta(delta="Hi"), 20_000),
        "OutputTextDelta.model_construct(...)": best(
            lambda: OutputTextDelta.model_construct(delta="Hi"), 20_000
        ),
        "the validator directly (_models.constructor)": best(
            lambda: build({"delta": "Hi"}), 20_000
        ),
        "SSE decoder, per chat chunk": best(decode_all, 200) / len(body),
        "SSE decoder + chat parser, per chat chunk": per_event(body, "ChatChunkParser"),
        "SSE decoder + Responses parser, per event": per_event(
            responses_body, "ResponsesEventParser"
        ),
        "SSE decoder + Messages parser, per event": per_event(messages_body, "MessagesEventParser"),
        "NDJSON decoder, per Ollama line": best(ndjson_all, 200) / len(ollama_lines),
        "NDJSON decoder + Ollama parser, per line": ollama_per_line(),
        "trio.move_on_after enter + exit": trio.run(scope_enter_exit),
        "moving a cancel scope's deadline": trio.run(deadline_move),
    }


def _sansio(package: ModuleType) -> ModuleType:
    """Where a copy of the package keeps its pure layers (at the top level before round 4)."""
    try:
        return importlib.import_module(f"{package.__name__}.sansio")
    except ImportError:
        return package


def _pipeline(package: ModuleType, body: list[bytes], parser_name: str) -> Callable[[], None]:
    pure = _sansio(package)

    def run() -> None:
        decoder = pure.SSEDecoder()
        parser = getattr(pure, parser_name)()
        for piece in body:
            for sse in decoder.feed(piece):
                if sse.__class__ is not pure.Comment:
                    parser.feed(sse.data, sse.event)

    return run


def _shell_pipeline(package: ModuleType, body: list[bytes], api: str) -> Callable[[], None]:
    """The whole shell (reader task, channel, consumer) over the body in memory."""

    async def stream() -> None:
        async def source() -> Any:
            for piece in body:
                yield piece

        async with package.open_event_stream(source(), api=api) as events:
            async for _ in events:
                pass

    return lambda: trio.run(stream)


def ab(path: str, rounds: int = 21) -> None:
    """This checkout's pure pipeline against the copy under ``path``, interleaved."""
    sys.path.insert(0, path)
    other = importlib.import_module("trio_chatsse_old")
    cases = [
        (f"chat {scenario}", _sse_body(chat_chunks(scenario, 2_000)[0], events=False, done=True),
         "ChatChunkParser")
        for scenario in ("text", "tools", "mixed")
    ] + [
        (f"responses {scenario}",
         _sse_body(responses_payloads(scenario, 2_000)[0], events=True, done=False),
         "ResponsesEventParser")
        for scenario in ("text", "tools")
    ]  # fmt: skip
    pipelines = [
        (name, _pipeline(trio_chatsse, body, parser), _pipeline(other, body, parser))
        for name, body, parser in cases
    ]
    for name, body, parser in cases:
        api = "chat" if parser == "ChatChunkParser" else "responses"
        pipelines.append(
            (
                f"{name} (shell)",
                _shell_pipeline(trio_chatsse, body, api),
                _shell_pipeline(other, body, api),
            )
        )
    for scenario, ours, theirs in pipelines:
        ratios = []
        for _ in range(rounds):
            a = min(timeit.repeat(ours, number=3, repeat=3))
            b = min(timeit.repeat(theirs, number=3, repeat=3))
            ratios.append(a / b)
        print(
            f"A/B {scenario:23}: this / other = {statistics.median(ratios):.3f} "
            f"(quartiles {statistics.quantiles(ratios, n=4)[0]:.3f}-"
            f"{statistics.quantiles(ratios, n=4)[2]:.3f}, {rounds} rounds)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ab", metavar="PATH", help="also compare with trio_chatsse_old there")
    args = parser.parse_args()
    versions = f"Python {sys.version.split()[0]}, trio {trio.__version__}"
    print(f"Per-piece costs, best of {_REPEAT} repeats, µs ({versions}):")
    for name, value in pieces().items():
        print(f"  {value:7.2f}  {name}")
    if args.ab:
        ab(args.ab)


if __name__ == "__main__":
    main()
