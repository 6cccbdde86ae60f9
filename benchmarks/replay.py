"""The bodies the benchmark replays, and the loopback server that replays them.

Both APIs' bodies are deterministic and shaped like what OpenAI sends (the same fields, the
same order), one HTTP chunk (one write) per SSE event. The model name of a request picks the
body: ``"scenario:n"``. The server runs in its own process, so its CPU time is not counted.
"""

from __future__ import annotations

import json
import socket
import socketserver
import sys
import threading
from typing import ClassVar
from urllib.parse import unquote

SCENARIOS = ("text", "reasoning", "tools", "mixed")
RESPONSES_SCENARIOS = ("text", "tools")
MESSAGES_SCENARIOS = ("text", "tools")
NATIVE_SCENARIOS = ("text", "tools")
Result = tuple[str, str, list[tuple[str, str, str]], int]
"""What a consumer hands back: text, reasoning, tool calls (id, name, arguments), total tokens."""


# -- Chat Completions ---------------------------------------------------------------------------


def chat_chunks(scenario: str, n: int) -> tuple[list[dict[str, object]], Result]:
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
    reasoning_n, text_n, tool_n = _shares(scenario, body)
    chunks = [chunk({"role": "assistant", "content": ""})]
    reasoning = [f"r{i} " for i in range(reasoning_n)]
    text = [f"w{i} " for i in range(text_n)]
    chunks += [chunk({"reasoning_content": piece}) for piece in reasoning]
    chunks += [chunk({"content": piece}) for piece in text]
    expected_calls = []
    for index, pieces in enumerate(_call_pieces(scenario, tool_n)):
        call_id, name = f"call_{index}", f"tool_{index}"
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


def _shares(scenario: str, body: int) -> tuple[int, int, int]:
    """How many pieces of reasoning, text and tool-call arguments a scenario has."""
    return {
        "text": (0, body, 0),
        "reasoning": (body // 2, body - body // 2, 0),
        "tools": (0, 0, body),
        "mixed": (body // 4, body // 4, body - 2 * (body // 4)),
    }[scenario]


def _call_pieces(scenario: str, tool_n: int) -> list[list[str]]:
    """The argument pieces of each tool call: parallel calls sharing ``tool_n`` pieces."""
    calls = 4 if scenario == "tools" else 2
    per_call = [tool_n // calls + (1 if i < tool_n % calls else 0) for i in range(calls)]
    out = []
    for count in per_call:
        if not count:
            continue
        pieces = ['{"values": ['] + [f"{i}, " for i in range(count - 2)] + ["0]}"]
        out.append(pieces[:count] if count >= 2 else ["{}"])
    return out


def chat_events(scenario: str, n: int) -> list[bytes]:
    """The SSE events of a Chat Completions body."""
    chunks, _ = chat_chunks(scenario, n)
    events = [b"data: " + _json(c) + b"\n\n" for c in chunks]
    return [*events, b"data: [DONE]\n\n"]


# -- Responses API ------------------------------------------------------------------------------


def responses_payloads(scenario: str, n: int) -> tuple[list[dict[str, object]], Result]:
    """``n`` events of a Responses API stream (OpenAI's fields and order), and the result."""
    # created, in_progress and completed; five events around a message's deltas, three
    # around a call's.
    body = n - 3 - {"text": 5, "tools": 4 * 3}[scenario]
    _, text_n, tool_n = _shares(scenario, body)
    response: dict[str, object] = {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1_700_000_000,
        "status": "in_progress",
        "model": "bench",
        "output": [],
        "usage": None,
    }
    events: list[dict[str, object]] = [
        {"type": "response.created", "response": response},
        {"type": "response.in_progress", "response": response},
    ]
    output: list[dict[str, object]] = []
    text = [f"w{i} " for i in range(text_n)]
    if text:
        item_id = "msg_bench"
        message: dict[str, object] = {
            "id": item_id,
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
        }
        at = {"item_id": item_id, "output_index": 0, "content_index": 0}
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": message | {"content": []},
            }
        )
        empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        events.append({"type": "response.content_part.added", **at, "part": empty})
        events += [
            {"type": "response.output_text.delta", **at, "delta": piece, "logprobs": []}
            for piece in text
        ]
        part = empty | {"text": "".join(text)}
        events.append(
            {"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []}
        )
        events.append({"type": "response.content_part.done", **at, "part": part})
        done: dict[str, object] = message | {"status": "completed", "content": [part]}
        events.append({"type": "response.output_item.done", "output_index": 0, "item": done})
        output.append(done)
    expected_calls = []
    for number, pieces in enumerate(_call_pieces(scenario, tool_n)):
        index = len(output)
        item_id, call_id, name = f"fc_{number}", f"call_{number}", f"tool_{number}"
        call: dict[str, object] = {
            "id": item_id,
            "type": "function_call",
            "call_id": call_id,
            "name": name,
        }
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": call | {"status": "in_progress", "arguments": ""},
            }
        )
        events += [
            {
                "type": "response.function_call_arguments.delta",
                "item_id": item_id,
                "output_index": index,
                "delta": piece,
            }
            for piece in pieces
        ]
        arguments = "".join(pieces)
        events.append(
            {
                "type": "response.function_call_arguments.done",
                "item_id": item_id,
                "output_index": index,
                "arguments": arguments,
            }
        )
        done = call | {"status": "completed", "arguments": arguments}
        events.append({"type": "response.output_item.done", "output_index": index, "item": done})
        output.append(done)
        expected_calls.append((call_id, name, "".join(pieces)))
    usage = {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": body,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 100 + body,
    }
    completed = response | {"status": "completed", "output": output, "usage": usage}
    events.append({"type": "response.completed", "response": completed})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events, ("".join(text), "", expected_calls, 100 + body)


def responses_events(scenario: str, n: int) -> list[bytes]:
    """The SSE events of a Responses API body (an ``event:`` line, then ``data:``)."""
    payloads, _ = responses_payloads(scenario, n)
    return [f"event: {p['type']}\ndata: ".encode() + _json(p) + b"\n\n" for p in payloads]


# -- Anthropic Messages API ---------------------------------------------------------------------


def messages_payloads(scenario: str, n: int) -> tuple[list[dict[str, object]], Result]:
    """``n`` events of a Messages API stream (Anthropic's fields and order), and the result."""
    # message_start, ping, message_delta, message_stop; a start and a stop around each block.
    body = n - 4 - {"text": 2, "tools": 4 * 2}[scenario]
    _, text_n, tool_n = _shares(scenario, body)
    usage = {
        "input_tokens": 100,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 1,
    }
    message: dict[str, object] = {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "bench",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    events: list[dict[str, object]] = [
        {"type": "message_start", "message": message},
        {"type": "ping"},
    ]
    text = [f"w{i} " for i in range(text_n)]
    if text:
        events.append(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
        )
        events += [
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}
            for t in text
        ]
        events.append({"type": "content_block_stop", "index": 0})
    expected_calls = []
    for number, pieces in enumerate(_call_pieces(scenario, tool_n)):
        call_id, name = f"toolu_{number}", f"tool_{number}"
        block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
        events.append({"type": "content_block_start", "index": number, "content_block": block})
        events += [
            {
                "type": "content_block_delta",
                "index": number,
                "delta": {"type": "input_json_delta", "partial_json": piece},
            }
            for piece in pieces
        ]
        events.append({"type": "content_block_stop", "index": number})
        expected_calls.append((call_id, name, "".join(pieces)))
    stop = "tool_use" if expected_calls else "end_turn"
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": body},
        }
    )
    events.append({"type": "message_stop"})
    return events, ("".join(text), "", expected_calls, 100 + body)


def messages_events(scenario: str, n: int) -> list[bytes]:
    """The SSE events of a Messages API body (an ``event:`` line, then ``data:``)."""
    payloads, _ = messages_payloads(scenario, n)
    return [f"event: {p['type']}\ndata: ".encode() + _json(p) + b"\n\n" for p in payloads]


# -- Gemini's and Ollama's native APIs --------------------------------------------------------


def _native_shares(scenario: str, n: int) -> tuple[int, int]:
    """Text pieces and whole calls (both APIs send a call whole) besides the last event."""
    body = n - 1
    calls = body // 10 if scenario == "tools" else 0
    return body - calls, calls


def _native_calls(count: int) -> list[tuple[str, str, dict[str, object]]]:
    return [(f"call_{i}", f"tool_{i}", {"i": i, "q": f"v{i}"}) for i in range(count)]


def gemini_payloads(scenario: str, n: int) -> tuple[list[dict[str, object]], Result]:
    """``n`` events of a Gemini ``streamGenerateContent?alt=sse`` body, as Gemini writes them
    (usage on every event, the counts on the last), and the result they must give."""
    text_n, calls_n = _native_shares(scenario, n)

    def event(parts: list[object], **candidate: object) -> dict[str, object]:
        usage = candidate.pop("usage", {"promptTokenCount": 10, "totalTokenCount": 10})
        return {
            "candidates": [{"content": {"role": "model", "parts": parts}, "index": 0, **candidate}],
            "usageMetadata": usage,
            "modelVersion": "bench",
            "responseId": "bench",
        }

    text = [f"w{i} " for i in range(text_n)]
    payloads = [event([{"text": piece}]) for piece in text]
    calls = _native_calls(calls_n)
    payloads += [
        event([{"functionCall": {"id": call_id, "name": name, "args": args}}])
        for call_id, name, args in calls
    ]
    usage = {"promptTokenCount": 10, "candidatesTokenCount": n, "totalTokenCount": 10 + n}
    payloads.append(event([], finishReason="STOP", usage=usage))
    found = [(call_id, name, json.dumps(args)) for call_id, name, args in calls]
    return payloads, ("".join(text), "", found, 10 + n)


def gemini_events(scenario: str, n: int) -> list[bytes]:
    """The SSE events of a Gemini body: CRLF-framed, no ``[DONE]``."""
    return [b"data: " + _json(p) + b"\r\n\r\n" for p in gemini_payloads(scenario, n)[0]]


def ollama_payloads(scenario: str, n: int) -> tuple[list[dict[str, object]], Result]:
    """``n`` lines of an Ollama ``/api/chat`` body (the calls whole in one line), and the
    result they must give."""
    text_n, calls_n = _native_shares(scenario, n)
    text_n = n - 1 - (1 if calls_n else 0)  # the calls go in one line
    stamp = {"model": "bench", "created_at": "2026-12-06T00:00:00.000000Z"}
    text = [f"w{i} " for i in range(text_n)]
    lines: list[dict[str, object]] = [
        {**stamp, "message": {"role": "assistant", "content": piece}, "done": False}
        for piece in text
    ]
    calls = _native_calls(calls_n)
    if calls:
        tool_calls = [
            {"id": call_id, "function": {"index": i, "name": name, "arguments": args}}
            for i, (call_id, name, args) in enumerate(calls)
        ]
        message = {"role": "assistant", "content": "", "tool_calls": tool_calls}
        lines.append({**stamp, "message": message, "done": False})
    last = {"role": "assistant", "content": ""}
    lines.append(
        {**stamp, "message": last, "done": True, "done_reason": "stop",
         "prompt_eval_count": 10, "eval_count": n}
    )  # fmt: skip
    found = [(call_id, name, json.dumps(args)) for call_id, name, args in calls]
    return lines, ("".join(text), "", found, 10 + n)


def ollama_events(scenario: str, n: int) -> list[bytes]:
    """The NDJSON lines of an Ollama body."""
    return [_json(line) + b"\n" for line in ollama_payloads(scenario, n)[0]]


#: Each API's body of SSE events (NDJSON lines for Ollama), by the path the request names.
EVENTS = {
    "chat": chat_events,
    "responses": responses_events,
    "messages": messages_events,
    "gemini": gemini_events,
    "ollama": ollama_events,
}


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def body_size(api: str, scenario: str, n: int) -> int:
    """The bytes of the body after HTTP's chunk framing is removed (what the floor counts)."""
    return sum(len(e) for e in EVENTS[api](scenario, n))


# -- the server ---------------------------------------------------------------------------------


_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: %s\r\ntransfer-encoding: chunked\r\n\r\n"


def _framed(events: list[bytes]) -> list[bytes]:
    """HTTP/1.1 chunked-encoding frames, one per SSE event."""
    return [f"{len(e):x}\r\n".encode() + e + b"\r\n" for e in events] + [b"0\r\n\r\n"]


class _Handler(socketserver.StreamRequestHandler):
    cache: ClassVar[dict[tuple[str, str], list[bytes]]] = {}
    lock: ClassVar = threading.Lock()

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
            target = unquote(request_line.split()[1].decode().split("?")[0])
            path = target.rsplit("/", 1)[-1]
            if path.endswith(":streamGenerateContent"):  # models/{scenario:n}:stream...
                api, model = "gemini", path.removesuffix(":streamGenerateContent")
            else:
                names = {"responses": "responses", "messages": "messages", "chat": "ollama"}
                api, model = names.get(path, "chat"), request["model"]
                if api == "ollama" and not target.endswith("api/chat"):
                    api = "chat"
            key = (api, model)  # model: "scenario:n"
            with self.lock:
                if key not in self.cache:
                    scenario, n = key[1].split(":")
                    self.cache[key] = _framed(EVENTS[api](scenario, int(n)))
            kind = b"application/x-ndjson" if api == "ollama" else b"text/event-stream"
            self.connection.sendall(_HEAD % kind)
            for frame in self.cache[key]:
                self.connection.sendall(frame)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops connections of a burst of concurrent streams.
    request_queue_size = 1024


def serve() -> None:
    """Run the replay server on 127.0.0.1, print its port, stop when stdin closes."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()
