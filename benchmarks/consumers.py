"""The consumers the benchmark compares: each reads one stream and returns what it says.

Every consumer does the work a user of it must do to get the answer: the raw ones join text
and assemble tool calls by hand, openai-python's iterate its typed chunks, trio_chatsse's
iterate its events and read the items. Each result is checked against the body's.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
import trio
from replay import Result

#: How many streams a client may run at once: enough for the largest burst.
MAX_CONNECTIONS = 1000


@dataclass
class Clients:
    """One of each client, all on the replay server's base URL."""

    base_url: str
    http: httpx.AsyncClient
    http2: httpx2.AsyncClient
    openai: Any = None  # openai.AsyncOpenAI, an optional import
    anthropic: Any = None  # anthropic.AsyncAnthropic, an optional import
    _genai: Any = None
    _ollama: Any = None
    _loop: Any = None

    def asyncio_loop(self) -> Any:
        """An asyncio loop running in a thread of this process, for google-genai."""
        if self._loop is None:
            import asyncio
            import threading

            self._loop = asyncio.new_event_loop()
            threading.Thread(target=self._loop.run_forever, daemon=True).start()
        return self._loop

    def genai(self) -> Any:
        """google-genai's client on the replay server (made on first use)."""
        if self._genai is None:
            from google import genai
            from google.genai import types

            options = types.HttpOptions(base_url=self.base_url + "/", api_version="")
            self._genai = genai.Client(api_key="bench", http_options=options)
        return self._genai

    def ollama(self) -> Any:
        """ollama-python's async client on the replay server (made on first use)."""
        if self._ollama is None:
            import ollama

            self._ollama = ollama.AsyncClient(host=self.base_url, timeout=120)
        return self._ollama

    @classmethod
    def open(cls, port: int, *, burst: bool = False) -> Clients:
        """Clients for one stream at a time, or (``burst``) for many streams at once."""
        base_url = f"http://127.0.0.1:{port}/v1"
        # httpx 0.28 (httpcore 1.0.9) queues a burst on a few idle keep-alive connections
        # (encode/httpcore#1110); without keep-alive every stream of a burst gets its own.
        # httpx2 fixed its pool (pydantic/httpx2#1075, #1076) and keeps connections.
        http = httpx.AsyncClient(
            base_url=base_url,
            timeout=120,
            limits=httpx.Limits(
                max_connections=MAX_CONNECTIONS, max_keepalive_connections=0 if burst else 20
            ),
        )
        http2 = httpx2.AsyncClient(
            base_url=base_url,
            timeout=120,
            limits=httpx2.Limits(
                max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
            ),
        )
        try:
            import openai
        except ImportError:  # pragma: no cover - the bench extra installs it
            client = None
        else:
            # The SDK's own client (httpx2), with room for the largest burst.
            client = openai.AsyncOpenAI(
                base_url=base_url,
                api_key="bench",
                max_retries=0,
                timeout=120,
                http_client=openai.DefaultAsyncHttpxClient(
                    limits=httpx2.Limits(
                        max_connections=MAX_CONNECTIONS,
                        max_keepalive_connections=MAX_CONNECTIONS,
                    )
                ),
            )
        try:
            import anthropic
        except ImportError:  # pragma: no cover - the bench extra installs it
            messages_client = None
        else:
            # The SDK's own client (httpx2); it appends /v1/messages to a base URL without /v1.
            messages_client = anthropic.AsyncAnthropic(
                base_url=base_url.removesuffix("/v1"),
                api_key="bench",
                max_retries=0,
                timeout=120,
                http_client=anthropic.DefaultAsyncHttpxClient(
                    limits=httpx2.Limits(
                        max_connections=MAX_CONNECTIONS,
                        max_keepalive_connections=MAX_CONNECTIONS,
                    )
                ),
            )
        return cls(base_url, http, http2, client, messages_client)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.http2.aclose()
        if self.openai is not None:
            await self.openai.close()
        if self.anthropic is not None:
            await self.anthropic.close()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)


Consumer = Callable[[Clients, str, int], Awaitable["Result | int"]]


def chat_request(scenario: str, n: int) -> dict[str, object]:
    return {
        "model": f"{scenario}:{n}",
        "messages": [{"role": "user", "content": "go"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def responses_request(scenario: str, n: int) -> dict[str, object]:
    return {"model": f"{scenario}:{n}", "input": "go", "stream": True}


def messages_request(scenario: str, n: int) -> dict[str, object]:
    return {
        "model": f"{scenario}:{n}",
        "messages": [{"role": "user", "content": "go"}],
        "max_tokens": 1_000_000,
        "stream": True,
    }


# -- Chat Completions ---------------------------------------------------------------------------


class ChatAccumulator:
    """What a hand-rolled consumer of raw chunks does: join text, assemble calls by index."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, list[str]] = {}
        self.total = 0

    def add(self, obj: dict[str, Any]) -> None:
        usage = obj.get("usage")
        if isinstance(usage, dict):
            self.total = usage["total_tokens"]
        for choice in obj.get("choices") or []:
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


async def _raw_bytes(client: Any, path: str, body: dict[str, object]) -> int:
    size = 0
    async with client.stream("POST", path, json=body) as response:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
    return size


async def raw_bytes(c: Clients, scenario: str, n: int) -> int:
    return await _raw_bytes(c.http, "chat/completions", chat_request(scenario, n))


async def raw_bytes_httpx2(c: Clients, scenario: str, n: int) -> int:
    return await _raw_bytes(c.http2, "chat/completions", chat_request(scenario, n))


async def lines_json(c: Clients, scenario: str, n: int) -> Result:
    acc = ChatAccumulator()
    async with c.http.stream(
        "POST", "chat/completions", json=chat_request(scenario, n)
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

    acc = ChatAccumulator()
    async with aconnect_sse(
        c.http, "POST", "chat/completions", json=chat_request(scenario, n)
    ) as source:
        async for sse in source.aiter_sse():
            if sse.data == "[DONE]":
                break
            acc.add(json.loads(sse.data))
    return acc.result()


async def openai_raw(c: Clients, scenario: str, n: int) -> Result:
    stream = await c.openai.chat.completions.create(
        model=f"{scenario}:{n}",
        messages=[{"role": "user", "content": "go"}],
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
    reasoning: list[str] = []
    async with c.openai.chat.completions.stream(
        model=f"{scenario}:{n}",
        messages=[{"role": "user", "content": "go"}],
        stream_options={"include_usage": True},
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


async def _ours(client: Any, scenario: str, n: int, **options: Any) -> Result:
    from trio_chatsse import Reasoning, open_chat_stream

    async with open_chat_stream(
        client, model=f"{scenario}:{n}", messages=[{"role": "user", "content": "go"}], **options
    ) as stream:
        async for _ in stream:
            pass
    return _stream_result(stream, Reasoning)


def _stream_result(stream: Any, reasoning_type: Any) -> Result:
    reasoning = "".join(
        part.text
        for item in stream.output
        if isinstance(item, reasoning_type)
        for part in item.content
    )
    calls = [(call.call_id, call.name, call.arguments) for call in stream.tool_calls]
    return stream.text, reasoning, calls, stream.usage.total_tokens if stream.usage else 0


async def trio_chatsse(c: Clients, scenario: str, n: int) -> Result:
    return await _ours(c.http, scenario, n)


async def trio_chatsse_httpx2(c: Clients, scenario: str, n: int) -> Result:
    return await _ours(c.http2, scenario, n)


async def trio_chatsse_live(c: Clients, scenario: str, n: int) -> Result:
    """With live tool calls: every argument piece is an event of its own."""
    return await _ours(c.http, scenario, n, stream_tool_arguments=True)


# -- Responses API ------------------------------------------------------------------------------


class ResponsesAccumulator:
    """A hand-rolled consumer of Responses events: text deltas, calls by item id, usage."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: dict[str, list[str]] = {}
        self.total = 0

    def add(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "response.output_text.delta":
            self.text.append(event["delta"])
        elif kind == "response.function_call_arguments.delta":
            self.calls[event["item_id"]][2] += event["delta"]
        elif kind == "response.output_item.added":
            item = event["item"]
            if item.get("type") == "function_call":
                self.calls[item["id"]] = [item["call_id"], item["name"], ""]
        elif kind == "response.completed":
            self.total = event["response"]["usage"]["total_tokens"]

    def result(self) -> Result:
        calls = [(c[0], c[1], c[2]) for c in self.calls.values()]
        return "".join(self.text), "", calls, self.total


async def responses_raw_bytes(c: Clients, scenario: str, n: int) -> int:
    return await _raw_bytes(c.http, "responses", responses_request(scenario, n))


async def responses_httpx_sse(c: Clients, scenario: str, n: int) -> Result:
    from httpx_sse import aconnect_sse

    acc = ResponsesAccumulator()
    async with aconnect_sse(
        c.http, "POST", "responses", json=responses_request(scenario, n)
    ) as source:
        async for sse in source.aiter_sse():
            acc.add(json.loads(sse.data))
    return acc.result()


async def responses_openai_raw(c: Clients, scenario: str, n: int) -> Result:
    stream = await c.openai.responses.create(model=f"{scenario}:{n}", input="go", stream=True)
    text: list[str] = []
    calls: dict[str, list[str]] = {}
    total = 0
    async for event in stream:
        if event.type == "response.output_text.delta":
            text.append(event.delta)
        elif event.type == "response.function_call_arguments.delta":
            calls[event.item_id][2] += event.delta
        elif event.type == "response.output_item.added" and event.item.type == "function_call":
            calls[event.item.id] = [event.item.call_id, event.item.name, ""]
        elif event.type == "response.completed":
            total = event.response.usage.total_tokens
    return "".join(text), "", [(s[0], s[1], s[2]) for s in calls.values()], total


async def responses_openai_helper(c: Clients, scenario: str, n: int) -> Result:
    async with c.openai.responses.stream(model=f"{scenario}:{n}", input="go") as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_response()
    calls = [
        (item.call_id, item.name, item.arguments)
        for item in final.output
        if item.type == "function_call"
    ]
    return final.output_text, "", calls, final.usage.total_tokens if final.usage else 0


async def responses_trio_chatsse(c: Clients, scenario: str, n: int) -> Result:
    from trio_chatsse import Reasoning, open_responses_stream

    async with open_responses_stream(c.http, model=f"{scenario}:{n}", input="go") as stream:
        async for _ in stream:
            pass
    return _stream_result(stream, Reasoning)


# -- Anthropic Messages API ---------------------------------------------------------------------


class MessagesAccumulator:
    """A hand-rolled consumer of Messages events: text deltas, tool inputs by block, usage."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: dict[int, list[str]] = {}
        self.input_tokens = self.output_tokens = 0

    def add(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event["delta"]
            if delta["type"] == "text_delta":
                self.text.append(delta["text"])
            elif delta["type"] == "input_json_delta":
                self.calls[event["index"]][2] += delta["partial_json"]
        elif kind == "content_block_start":
            block = event["content_block"]
            if block["type"] == "tool_use":
                self.calls[event["index"]] = [block["id"], block["name"], ""]
        elif kind == "message_start":
            self.input_tokens = event["message"]["usage"]["input_tokens"]
        elif kind == "message_delta":
            self.output_tokens = event["usage"]["output_tokens"]

    def result(self) -> Result:
        calls = [(c[0], c[1], c[2]) for _, c in sorted(self.calls.items())]
        return "".join(self.text), "", calls, self.input_tokens + self.output_tokens


async def messages_raw_bytes(c: Clients, scenario: str, n: int) -> int:
    return await _raw_bytes(c.http, "messages", messages_request(scenario, n))


async def messages_httpx_sse(c: Clients, scenario: str, n: int) -> Result:
    from httpx_sse import aconnect_sse

    acc = MessagesAccumulator()
    async with aconnect_sse(c.http, "POST", "messages", json=messages_request(scenario, n)) as es:
        async for sse in es.aiter_sse():
            acc.add(json.loads(sse.data))
    return acc.result()


async def anthropic_raw(c: Clients, scenario: str, n: int) -> Result:
    stream = await c.anthropic.messages.create(
        model=f"{scenario}:{n}",
        max_tokens=1_000_000,
        messages=[{"role": "user", "content": "go"}],
        stream=True,
    )
    text: list[str] = []
    calls: dict[int, list[str]] = {}
    input_tokens = output_tokens = 0
    async for event in stream:
        if event.type == "content_block_delta":
            if event.delta.type == "text_delta":
                text.append(event.delta.text)
            elif event.delta.type == "input_json_delta":
                calls[event.index][2] += event.delta.partial_json
        elif event.type == "content_block_start" and event.content_block.type == "tool_use":
            calls[event.index] = [event.content_block.id, event.content_block.name, ""]
        elif event.type == "message_start":
            input_tokens = event.message.usage.input_tokens
        elif event.type == "message_delta":
            output_tokens = event.usage.output_tokens
    found = [(s[0], s[1], s[2]) for _, s in sorted(calls.items())]
    return "".join(text), "", found, input_tokens + output_tokens


async def anthropic_helper(c: Clients, scenario: str, n: int) -> Result:
    async with c.anthropic.messages.stream(
        model=f"{scenario}:{n}", max_tokens=1_000_000, messages=[{"role": "user", "content": "go"}]
    ) as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_message()
    text = "".join(block.text for block in final.content if block.type == "text")
    calls = [
        (block.id, block.name, json.dumps(block.input))
        for block in final.content
        if block.type == "tool_use"
    ]
    return text, "", calls, final.usage.input_tokens + final.usage.output_tokens


async def messages_trio_chatsse(c: Clients, scenario: str, n: int) -> Result:
    from trio_chatsse import Reasoning, open_messages_stream

    async with open_messages_stream(
        c.http,
        model=f"{scenario}:{n}",
        max_tokens=1_000_000,
        messages=[{"role": "user", "content": "go"}],
    ) as stream:
        async for _ in stream:
            pass
    return _stream_result(stream, Reasoning)


# -- Gemini's native API ------------------------------------------------------------------------


def gemini_path(scenario: str, n: int) -> str:
    return f"models/{scenario}:{n}:streamGenerateContent?alt=sse"


GEMINI_BODY: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": "go"}]}]}


class GeminiAccumulator:
    """A hand-rolled consumer of Gemini events: text parts, whole calls, the last usage."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: list[tuple[str, str, str]] = []
        self.total = 0

    def add(self, event: dict[str, Any]) -> None:
        for part in event["candidates"][0]["content"]["parts"]:
            if "text" in part:
                self.text.append(part["text"])
            elif "functionCall" in part:
                call = part["functionCall"]
                self.calls.append((call["id"], call["name"], json.dumps(call.get("args", {}))))
        self.total = event["usageMetadata"]["totalTokenCount"]

    def result(self) -> Result:
        return "".join(self.text), "", self.calls, self.total


async def gemini_raw_bytes(c: Clients, scenario: str, n: int) -> int:
    return await _raw_bytes(c.http, gemini_path(scenario, n), GEMINI_BODY)


async def gemini_httpx_sse(c: Clients, scenario: str, n: int) -> Result:
    from httpx_sse import aconnect_sse

    acc = GeminiAccumulator()
    async with aconnect_sse(c.http, "POST", gemini_path(scenario, n), json=GEMINI_BODY) as es:
        async for sse in es.aiter_sse():
            acc.add(json.loads(sse.data))
    return acc.result()


async def google_genai(c: Clients, scenario: str, n: int) -> Result:
    """google-genai's ``generate_content_stream``. The SDK runs on asyncio only (it asks
    asyncio for the running loop), so it runs on an asyncio loop in a thread of this process,
    kept across runs; the thread's CPU time is the process's."""
    import asyncio

    async def run() -> Result:
        text: list[str] = []
        calls: list[tuple[str, str, str]] = []
        total = 0
        stream = await c.genai().aio.models.generate_content_stream(
            model=f"{scenario}:{n}", contents="go"
        )
        async for chunk in stream:
            for part in chunk.candidates[0].content.parts or ():
                if part.text is not None:
                    text.append(part.text)
                elif part.function_call is not None:
                    call = part.function_call
                    calls.append((call.id, call.name, json.dumps(call.args)))
            total = chunk.usage_metadata.total_token_count
        return "".join(text), "", calls, total

    future = asyncio.run_coroutine_threadsafe(run(), c.asyncio_loop())
    result: Result = await trio.to_thread.run_sync(future.result)
    return result


async def gemini_trio_chatsse(c: Clients, scenario: str, n: int) -> Result:
    from trio_chatsse import Reasoning, open_gemini_stream

    async with open_gemini_stream(
        c.http, model=f"{scenario}:{n}", contents=GEMINI_BODY["contents"]
    ) as stream:
        async for _ in stream:
            pass
    return _stream_result(stream, Reasoning)


# -- Ollama's native API ------------------------------------------------------------------------


def ollama_request(scenario: str, n: int) -> dict[str, object]:
    return {"model": f"{scenario}:{n}", "messages": [{"role": "user", "content": "go"}]}


def _ollama_result(lines: list[dict[str, Any]]) -> Result:
    text: list[str] = []
    calls: list[tuple[str, str, str]] = []
    total = 0
    for line in lines:
        message = line.get("message") or {}
        text.append(message.get("content") or "")
        for call in message.get("tool_calls") or ():
            function = call["function"]
            calls.append((call["id"], function["name"], json.dumps(function["arguments"])))
        if line.get("done"):
            total = line.get("prompt_eval_count", 0) + line.get("eval_count", 0)
    return "".join(text), "", calls, total


async def ollama_raw_bytes(c: Clients, scenario: str, n: int) -> int:
    return await _raw_bytes(c.http, "api/chat", ollama_request(scenario, n))


async def ollama_lines_json(c: Clients, scenario: str, n: int) -> Result:
    lines = []
    async with c.http.stream("POST", "api/chat", json=ollama_request(scenario, n)) as response:
        async for line in response.aiter_lines():
            if line:
                lines.append(json.loads(line))
    return _ollama_result(lines)


async def ollama_python(c: Clients, scenario: str, n: int) -> Result:
    """ollama-python's ``AsyncClient.chat(stream=True)`` (on httpx, so it runs under trio)."""
    text: list[str] = []
    calls: list[tuple[str, str, str]] = []
    total = 0
    stream = await c.ollama().chat(
        model=f"{scenario}:{n}", messages=[{"role": "user", "content": "go"}], stream=True
    )
    async for part in stream:
        text.append(part.message.content or "")
        for call in part.message.tool_calls or ():
            # ollama-python 0.6's ToolCall keeps no id (the body's are call_0, call_1...).
            arguments = json.dumps(dict(call.function.arguments))
            calls.append((f"call_{len(calls)}", call.function.name, arguments))
        if part.done:
            total = (part.prompt_eval_count or 0) + (part.eval_count or 0)
    return "".join(text), "", calls, total


async def ollama_trio_chatsse(c: Clients, scenario: str, n: int) -> Result:
    from trio_chatsse import Reasoning, open_ollama_stream

    async with open_ollama_stream(
        c.http, model=f"{scenario}:{n}", messages=[{"role": "user", "content": "go"}]
    ) as stream:
        async for _ in stream:
            pass
    return _stream_result(stream, Reasoning)


FLOOR = "httpx aiter_bytes (floor)"
OURS = "trio_chatsse"
CHAT: dict[str, Consumer] = {
    FLOOR: raw_bytes,
    "httpx aiter_lines + json": lines_json,
    "httpx-sse + json": httpx_sse,
    "openai create(stream=True)": openai_raw,
    "openai .stream() helper": openai_helper,
    OURS: trio_chatsse,
    "trio_chatsse, live tool calls": trio_chatsse_live,
    "httpx2 aiter_bytes": raw_bytes_httpx2,
    "trio_chatsse on httpx2": trio_chatsse_httpx2,
}
RESPONSES: dict[str, Consumer] = {
    FLOOR: responses_raw_bytes,
    "httpx-sse + json": responses_httpx_sse,
    "openai responses.create(stream=True)": responses_openai_raw,
    "openai responses.stream() helper": responses_openai_helper,
    OURS: responses_trio_chatsse,
}
MESSAGES: dict[str, Consumer] = {
    FLOOR: messages_raw_bytes,
    "httpx-sse + json": messages_httpx_sse,
    "anthropic messages.create(stream=True)": anthropic_raw,
    "anthropic messages.stream() helper": anthropic_helper,
    OURS: messages_trio_chatsse,
}
GEMINI: dict[str, Consumer] = {
    FLOOR: gemini_raw_bytes,
    "httpx-sse + json": gemini_httpx_sse,
    "google-genai generate_content_stream": google_genai,
    OURS: gemini_trio_chatsse,
}
OLLAMA: dict[str, Consumer] = {
    FLOOR: ollama_raw_bytes,
    "httpx aiter_lines + json": ollama_lines_json,
    "ollama-python chat(stream=True)": ollama_python,
    OURS: ollama_trio_chatsse,
}
#: Each API's consumers.
TABLES = {
    "chat": CHAT,
    "responses": RESPONSES,
    "messages": MESSAGES,
    "gemini": GEMINI,
    "ollama": OLLAMA,
}
#: The consumers of the concurrent scenario (K streams at once through one client).
BURST = (
    FLOOR,
    "httpx-sse + json",
    "openai create(stream=True)",
    OURS,
    "httpx2 aiter_bytes",
    "trio_chatsse on httpx2",
)
