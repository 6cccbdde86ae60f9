"""Layer 4: the opener of Ollama's native ``/api/chat``, which streams NDJSON.

Ollama's OpenAI-compatible route drops what its users need — ``options.num_ctx`` (every run
capped at the default context, TradingAgents#168) and ``think`` — so this opener speaks the
native API. Everything but the body comes from the registry's ``ollama`` entry: the NDJSON
framing, the parser, the tool shape, the next turn.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from typing_extensions import Unpack

from ._apis import ParserOptions, wire_api
from ._arguments import message_list
from ._chat_stream import ChatStream
from ._open import open_stream, output_fields, request_body
from ._options import StreamKwargs, stream_options
from ._structured import OutputT

if TYPE_CHECKING:
    from ._clients import AsyncClient

__all__ = ["open_ollama_stream"]


@asynccontextmanager
async def open_ollama_stream(
    client: AsyncClient,
    *,
    model: str,
    messages: Sequence[Mapping[str, object]],
    tools: Sequence[Mapping[str, object]] | None = None,
    think: bool | str | None = None,
    options: Mapping[str, object] | None = None,
    format: str | Mapping[str, object] | None = None,  # the API's own name
    keep_alive: str | float | None = None,
    stream_tool_arguments: bool = False,
    extra_body: Mapping[str, object] | None = None,
    output_type: type[OutputT] | None = None,
    output_strict: bool = True,
    **settings: Unpack[StreamKwargs],
) -> AsyncGenerator[ChatStream[OutputT], None]:
    """Stream one answer of Ollama's native chat API as the same typed events.

    POSTs ``api/chat`` (relative to the client's ``base_url``: ``http://localhost:11434/`` for
    a local server, ``https://ollama.com/`` with an ``Authorization`` header for Ollama's
    cloud) with ``stream: true`` and reads its NDJSON body, with the same reader task,
    timeouts, retries, typed errors and cleanup as the other openers.
    :meth:`ChatStream.assistant_message` gives Ollama's form of the turn (``thinking`` and
    ``tool_calls`` with object arguments); tool results go back as ``{"role": "tool",
    "content": ..., "tool_name": ...}``.

    Example::

        async with httpx.AsyncClient(base_url="http://localhost:11434/") as http:
            async with open_ollama_stream(
                http, model="qwen3", messages=[...], think=True, options={"num_ctx": 32768}
            ) as stream:
                async for event in stream:
                    ...

    Args:
        client: An ``httpx.AsyncClient`` or an ``httpx2.AsyncClient``.
        model: The model name.
        messages: The conversation, as Ollama messages (``role``, ``content``, ``images``,
            ``thinking``, ``tool_calls``, ``tool_name``).
        tools: Tool definitions, in the Chat Completions shape Ollama shares (the other APIs'
            shapes are converted).
        think: Let a thinking model think (``True``, or ``"low"`` / ``"medium"`` /
            ``"high"``); its thoughts come as reasoning. At the top level of the request:
            inside ``options`` it does nothing.
        options: The model options (``num_ctx``, ``num_predict``, ``temperature``...).
        format: ``"json"`` or a JSON schema for the answer; ``output_type`` sets it for you.
        keep_alive: How long the model stays loaded after the request (``"5m"``, seconds).
        stream_tool_arguments: Also give each call's added event, arguments and
            arguments-done (Ollama sends each call whole, in one line).
        extra_body: More JSON fields for the request body; they win over everything else.
        output_type: A pydantic model class the answer must be JSON of: its schema is sent as
            ``format``.
        output_strict: As for :func:`~trio_chatsse.open_chat_stream`.
        **settings: The options every opener takes (the API reference's "Streaming":
            ``idle_timeout``, ``first_byte_timeout``, ``max_retries``, ``headers``,
            ``max_event_size``, ``telemetry``, ``limiter``), as for
            :func:`~trio_chatsse.open_chat_stream`. Other request fields go in
            ``extra_body``.

    Yields:
        The :class:`~trio_chatsse.ChatStream` to iterate.

    Raises:
        HTTPStatusError: An error status (Ollama's ``{"error": "..."}`` quoted).
        StreamError: As for :func:`~trio_chatsse.open_chat_stream`.
        IdleTimeoutError: As for :func:`~trio_chatsse.open_chat_stream`.
        ValueError: An argument no request can run with.
        TypeError: A misspelt keyword, ``client`` not a client of either library, or
            ``messages`` not a list of message objects.
    """
    body: dict[str, object] = {"model": model, "messages": message_list(messages), "stream": True}
    for name, value in (("think", think), ("options", options), ("format", format)):
        if value is not None:
            body[name] = dict(value) if isinstance(value, Mapping) else value
    if keep_alive is not None:
        body["keep_alive"] = keep_alive
    api = wire_api("ollama")
    output = output_fields(api, output_type, output_strict)
    body = request_body(
        api,
        body,
        tools=tools,
        tool_choice=None,
        extra={},
        params={},
        extra_body=extra_body,
        output=output,
    )
    checked = stream_options(f"open_{api.name}_stream", settings, _OWN)
    parser_options = ParserOptions(stream_tool_arguments=stream_tool_arguments)
    async with open_stream(client, api, body, parser_options, checked, output) as stream:
        yield stream


#: The opener's own parameters, for naming the one meant by a misspelt keyword.
_OWN = tuple(inspect.signature(open_ollama_stream).parameters)
