"""The public opener of each wire API, by name: for what runs one stream per turn through the
openers (the tool loop), without a branch per API."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from ._chat_stream import ChatStream
from ._http import open_chat_stream, open_messages_stream, open_responses_stream
from ._open_gemini import open_gemini_stream
from ._open_ollama import open_ollama_stream

__all__ = ["OPENERS"]

#: The opener of each wire API of the registry.
OPENERS: Mapping[str, Callable[..., AbstractAsyncContextManager[ChatStream[Any]]]] = {
    "chat": open_chat_stream,
    "responses": open_responses_stream,
    "messages": open_messages_stream,
    "gemini": open_gemini_stream,
    "ollama": open_ollama_stream,
}
