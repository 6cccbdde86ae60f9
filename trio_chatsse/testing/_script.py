"""The scripts of the embedded server, as data.

A :class:`Script` holds what a scripted reply says and the faults it injects; the wire forms
(``_chat.py``, ``_responses.py``, one module per API) write a script in their API's shape, and
each declares its :class:`WireForm` for the server. Pure: no trio, no I/O.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import final

__all__ = [
    "token_logprob",
    "Script",
    "ScriptedToolCall",
    "WireForm",
    "pieces",
    "reasoning_detail",
    "sse_body",
]


@final
@dataclass(frozen=True)
class ScriptedToolCall:
    """A tool call for a :class:`Reply` to stream, its arguments split into fragments."""

    name: str
    """The function name."""
    arguments: str = "{}"
    """The arguments, as JSON text."""
    call_id: str | None = None
    """The call id; ``call_<n>`` when not given."""
    extra_content: Mapping[str, object] | None = None
    """Sent as the call's ``extra_content`` in its first fragment, as Gemini sends a thought
    signature (``{"google": {"thought_signature": "..."}}``)."""


@dataclass(frozen=True)
class Script:
    """What a scripted reply says and the faults it injects: the fields of
    :class:`~trio_chatsse.testing.Reply`, which adds the methods that write them."""

    text: str = ""
    """The assistant's text."""
    reasoning: str = ""
    """Reasoning text, streamed before the text."""
    reasoning_field: str = "reasoning_content"
    """Which delta field carries reasoning. One of ``reasoning_content`` (as DeepSeek, vLLM
    and llama.cpp send it), ``reasoning`` (Groq, Ollama), or ``reasoning_details``
    (OpenRouter's form: the text in ``reasoning`` and as ``reasoning.text`` pieces of
    ``reasoning_details``, with a ``signature`` on a last piece)."""
    choices: Sequence[Script] = ()
    """The answers of choices 1, 2, ... of a Chat Completions request with ``n`` > 1 (this
    reply is choice 0): their chunks interleave, each with its ``index`` and its own finish,
    and one usage chunk counts them all."""
    refusal: str = ""
    """A refusal streamed after the text, as ``delta.refusal`` pieces (Chat Completions), a
    ``refusal`` content part (Responses), or text with ``stop_reason: "refusal"`` (Messages)."""
    tool_calls: Sequence[ScriptedToolCall] = ()
    """Tool calls, streamed after the text."""
    finish_reason: str | None = None
    """The finish reason; ``tool_calls`` when there are tool calls, else ``stop``."""
    usage: bool = True
    """Send a usage chunk after the finish."""
    fragment_size: int = 4
    """Characters per text, reasoning or argument fragment."""
    status: int = 200
    """The HTTP status. An error status sends :attr:`error` as ``{"error": {...}}`` (or
    :attr:`raw_body`, when given)."""
    error: Mapping[str, object] | None = None
    """With an error status, the error object of the body; in a 200 stream, an
    ``{"error": ...}`` event (Responses API: ``{"type": "error", "error": ...}``) sent after
    :attr:`error_after` events."""
    error_after: int = 0
    """Events sent before the in-stream :attr:`error` event."""
    retry_after: float | None = None
    """A ``Retry-After`` header, in seconds."""
    stall: float = 0.0
    """Seconds to stall, after :attr:`stall_after` events (with ``stall_after=0``, before the
    first byte)."""
    stall_after: int = 0
    """Events sent before the stall."""
    keepalive_every: float | None = None
    """During a stall, send a ``: keep-alive`` comment this often."""
    drip: bool = False
    """Write the body one byte per write."""
    pace: float = 0.0
    """Seconds between events, as a model writes (a UI's redraws can be watched)."""
    disconnect_after: int | None = None
    """Close the connection after this many events (with no end of the chunked body)."""
    disconnect_mid_event: bool = False
    """With :attr:`disconnect_after`, first send half of the next event."""
    omit_done: bool = False
    """Leave out ``data: [DONE]`` (Chat Completions) or the terminal ``response.completed``
    event (Responses API): a stream that ends without saying it is complete."""
    crlf: bool = False
    """End lines with CRLF instead of LF."""
    write_size: int | None = None
    """Write the whole body in pieces of this many bytes, across event boundaries (not
    combined with the stall and disconnect faults)."""
    raw_body: bytes | None = None
    """Send exactly these bytes as the body (with :attr:`content_type`) instead."""
    content_type: str = "text/event-stream"
    """The ``Content-Type`` of :attr:`raw_body` or of the stream."""
    model: str = "trio-chatsse-test"
    """The model name in the chunks."""

    def __post_init__(self) -> None:
        # A mistake here would otherwise crash the server's task, far from the test's line.
        for choice in self.choices:
            if not isinstance(choice, Script):
                raise TypeError(
                    f"choices must be Reply objects (the answers of choices 1, 2, ...), not "
                    f"{type(choice).__name__} {choice!r:.40}: Reply(choices=[Reply(text=...)])"
                )
        for call in self.tool_calls:
            if not isinstance(call, ScriptedToolCall):
                raise TypeError(
                    f"tool_calls must be ScriptedToolCall objects, not {type(call).__name__} "
                    f'{call!r:.40}: ScriptedToolCall("get_weather", \'{{"city": "Paris"}}\')'
                )
        for name in ("text", "reasoning", "refusal"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a string, not {getattr(self, name)!r:.40}")

    def signature(self) -> str:
        """The ``signature`` of the streamed ``reasoning_details`` (OpenRouter's form)."""
        return f"sig-{zlib.crc32(self.reasoning.encode()):08x}"

    def reasoning_details(self) -> list[dict[str, object]] | None:
        """The ``reasoning_details`` a client should send back, merged from the pieces."""
        if self.reasoning_field != "reasoning_details" or not self.reasoning:
            return None
        return [reasoning_detail(text=self.reasoning, signature=self.signature())]

    def token_usage(self) -> dict[str, object]:
        """The ``usage`` object sent: about four characters per token."""
        output = (len(self.text) + len(self.reasoning) + 3) // 4 + 8 * len(self.tool_calls)
        reasoning = (len(self.reasoning) + 3) // 4
        return {
            "prompt_tokens": 12,
            "completion_tokens": output,
            "total_tokens": 12 + output,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        }


def reasoning_detail(**fields: object) -> dict[str, object]:
    """One entry of OpenRouter's ``reasoning_details``."""
    return {"type": "reasoning.text", **fields, "format": "unknown", "index": 0}


def pieces(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of ``size`` characters, as a reply streams it."""
    return [text[i : i + size] for i in range(0, len(text), max(size, 1))]


def token_logprob(piece: str, position: int, top: int) -> dict[str, object]:
    """The logprobs entry of one fragment (the server's "token"), and ``top`` alternatives:
    made up, but shaped as OpenAI sends them, and the same for the same input."""
    logprob = -0.01 - (position % 7) * 0.25

    def entry(token: str, value: float) -> dict[str, object]:
        return {"token": token, "logprob": value, "bytes": list(token.encode())}

    alternatives = [entry(piece, logprob)] + [
        entry(f"{piece.strip() or '_'}{k}", logprob - k) for k in range(1, top)
    ]
    return {**entry(piece, logprob), "top_logprobs": alternatives[:top]}


def sse_body(chunks: Sequence[Mapping[str, object] | str], *, done: bool = True) -> bytes:
    """Encode chunks (objects as JSON, strings as they are) as an SSE body, one event each."""
    events = [
        b"data: " + (c if isinstance(c, str) else json.dumps(c)).encode() + b"\n\n" for c in chunks
    ]
    if done:
        events.append(b"data: [DONE]\n\n")
    return b"".join(events)


@dataclass(frozen=True)
class WireForm:
    """One wire API as the embedded server writes it."""

    #: The path it is served at.
    route: str
    #: The prefix of the response ids it makes (``chatcmpl``, ``resp``).
    id_prefix: str
    #: The streamed body of a script, one ``bytes`` per SSE event, with its in-stream faults:
    #: ``(script, response_id, request_body)``.
    stream_events: Callable[[Script, str, Mapping[str, object]], list[bytes]]
    #: The non-streamed answer of a script: ``(script, response_id, request_body)``.
    whole_answer: Callable[[Script, str, Mapping[str, object]], dict[str, object]]
    #: What the real servers of this API refuse in a request (a tool in another API's shape),
    #: as their 400 message; ``None`` for a request they take.
    refusal: Callable[[Mapping[str, object]], str | None] = lambda request: None
    #: The real servers' 400 for a history with a tool call left without its result; ``None``
    #: when every call is answered.
    unanswered_calls: Callable[[Mapping[str, object]], str | None] = lambda request: None
    #: An in-stream error event of this API carrying ``error`` (an error object).
    error_event: Callable[[Mapping[str, object]], bytes] = lambda error: b""
    #: The ``Content-Type`` of the streamed body.
    content_type: str = "text/event-stream"
    #: Whether the route always streams (Gemini's ``streamGenerateContent``), whatever the
    #: body says about ``stream``.
    streams_always: bool = False


def tools_of(request: Mapping[str, object]) -> list[tuple[int, Mapping[str, object]]]:
    """The request's tool objects, with their positions."""
    tools = request.get("tools")
    listed = tools if isinstance(tools, list) else []
    return [(i, tool) for i, tool in enumerate(listed) if isinstance(tool, Mapping)]
