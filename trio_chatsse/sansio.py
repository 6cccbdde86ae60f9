"""The pure layers: bytes in, events out, no I/O (as ``h11`` and ``wsproto`` are).

Use them under any event loop or transport, or to read a recorded body synchronously: feed
:class:`SSEDecoder` the body's bytes, and a parser the ``data`` (and ``event`` type) of each
event it decodes. The trio shell runs exactly these. Like ``trio.lowlevel``: everything a
stream needs is at the top level; this is for building your own.
"""

from __future__ import annotations

from ._apis import WireAPI
from ._chunks import ChatChunkParser
from ._errors import EventTooLargeError
from ._gemini import GeminiEventParser
from ._messages import MessagesEventParser
from ._models import EVENT_ADAPTER
from ._ndjson import NDJSONDecoder
from ._ollama import OllamaChatParser
from ._parsers import EventParser, ParserState
from ._public import publish
from ._responses import ResponsesEventParser
from ._sse import Comment, ServerSentEvent, SSEDecoder
from ._tool_calls import ToolCallsOnStop
from ._turns import parse_partial_json

__all__ = [
    "EVENT_ADAPTER",
    "ChatChunkParser",
    "Comment",
    "EventParser",
    "EventTooLargeError",
    "GeminiEventParser",
    "MessagesEventParser",
    "NDJSONDecoder",
    "OllamaChatParser",
    "ParserState",
    "ResponsesEventParser",
    "SSEDecoder",
    "ServerSentEvent",
    "ToolCallsOnStop",
    "WireAPI",
    "parse_partial_json",
]

publish(globals())
