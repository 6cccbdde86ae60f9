"""Layer 4: the opener of Gemini's native ``streamGenerateContent?alt=sse``.

Gemini's OpenAI-compatible layer reports ``finish_reason: "stop"`` for tool calls, breaks
optional fields of structured output, and loses thought signatures on the way back
(litellm#16893); this opener speaks the native API. Everything but the body comes from the
registry's ``gemini`` entry; the model goes in the path.
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

__all__ = ["open_gemini_stream"]


@asynccontextmanager
async def open_gemini_stream(
    client: AsyncClient,
    *,
    model: str,
    contents: Sequence[Mapping[str, object]],
    system_instruction: str | Mapping[str, object] | None = None,
    tools: Sequence[Mapping[str, object]] | None = None,
    tool_choice: str | Mapping[str, object] | None = None,
    tool_config: Mapping[str, object] | None = None,
    generation_config: Mapping[str, object] | None = None,
    safety_settings: Sequence[Mapping[str, object]] | None = None,
    stream_tool_arguments: bool = False,
    extra_body: Mapping[str, object] | None = None,
    output_type: type[OutputT] | None = None,
    output_strict: bool = True,
    **settings: Unpack[StreamKwargs],
) -> AsyncGenerator[ChatStream[OutputT], None]:
    """Stream one Gemini answer (the native API) as the same typed events.

    POSTs ``models/{model}:streamGenerateContent?alt=sse`` relative to the client's base URL:
    ``https://generativelanguage.googleapis.com/v1beta/`` (Google AI Studio; the key as
    ``x-goog-api-key`` on the client) or a Vertex AI base ending in ``.../publishers/google/``
    (a bearer token on the client). The same reader task, timeouts, retries (a 503
    ``UNAVAILABLE`` is retried; a 429 ``RESOURCE_EXHAUSTED`` waits its ``RetryInfo``), typed
    errors and cleanup as the other openers. :meth:`ChatStream.assistant_message` gives the
    ``model`` content with every thought signature where it came.

    Example::

        async with httpx.AsyncClient(
            base_url="https://generativelanguage.googleapis.com/v1beta/",
            headers={"x-goog-api-key": key},
        ) as http:
            async with open_gemini_stream(
                http, model="gemini-2.5-flash",
                contents=[{"role": "user", "parts": [{"text": "Hi"}]}],
            ) as stream:
                async for event in stream:
                    ...

    Args:
        client: An ``httpx.AsyncClient`` or an ``httpx2.AsyncClient``.
        model: The model name (it goes in the path).
        contents: The conversation: ``{"role": "user" | "model", "parts": [...]}`` contents.
        system_instruction: The system instruction: text, or a content with parts.
        tools: Tools: Gemini's (``functionDeclarations``, ``googleSearch``, ``codeExecution``)
            or any API's function shape, which is converted (all functions in one tool).
        tool_choice: ``"auto"``, ``"none"``, ``"required"``, a tool's name, or any API's
            ``tool_choice`` object: sent as ``toolConfig.functionCallingConfig``.
        tool_config: The ``toolConfig`` as Gemini takes it (instead of ``tool_choice``).
        safety_settings: The ``safetySettings`` (a category and a threshold each).
        stream_tool_arguments: Also give each call's added event, its arguments as one delta
            and arguments-done (Gemini sends each call whole).
        generation_config: The ``generationConfig`` (``maxOutputTokens``,
            ``thinkingConfig``, ``temperature``...); ``output_type`` adds its schema to it.
        extra_body: More JSON fields for the request body; they win over everything else.
        output_type: A pydantic model class the answer must be JSON of: sent as
            ``generationConfig.responseMimeType`` and ``responseJsonSchema``.
        output_strict: As for :func:`~trio_chatsse.open_chat_stream`.
        **settings: The options every opener takes (the API reference's "Streaming":
            ``idle_timeout``, ``first_byte_timeout``, ``max_retries``, ``headers``,
            ``max_event_size``, ``telemetry``, ``limiter``), as for
            :func:`~trio_chatsse.open_chat_stream`. Other request fields go in
            ``extra_body``.

    Yields:
        The :class:`~trio_chatsse.ChatStream` to iterate.

    Raises:
        RateLimitError: HTTP 429 (``RESOURCE_EXHAUSTED``), once the retries are spent.
        HTTPStatusError: Any other error status, with Gemini's message.
        ProviderError: An in-stream error, or ``MALFORMED_FUNCTION_CALL``.
        StreamError: As for :func:`~trio_chatsse.open_chat_stream`.
        IdleTimeoutError: As for :func:`~trio_chatsse.open_chat_stream`.
        TypeError: A misspelt keyword, a client of neither library, ``contents`` not a list.
    """
    body: dict[str, object] = {"model": model, "contents": message_list(contents, "contents")}
    if system_instruction is not None:
        body["systemInstruction"] = (
            {"parts": [{"text": system_instruction}]}
            if isinstance(system_instruction, str)
            else dict(system_instruction)
        )
    api = wire_api("gemini")
    output = output_fields(api, output_type, output_strict)
    config = dict(generation_config or {})
    if output is not None:  # the schema joins the caller's generationConfig
        schema_config = output[1]["generationConfig"]
        config.update(schema_config)  # type: ignore[call-overload]  # a dict, ours
        output = (output[0], {})
    if config:
        body["generationConfig"] = config
    if safety_settings is not None:
        body["safetySettings"] = [dict(setting) for setting in safety_settings]
    if tool_config is not None:
        if tool_choice is not None:
            raise TypeError("pass tool_choice= or tool_config=, not both: both set toolConfig")
        body["toolConfig"] = dict(tool_config)
    body = request_body(
        api,
        body,
        tools=tools,
        tool_choice=tool_choice,
        extra={},
        params={},
        extra_body=extra_body,
        output=output,
    )
    parser_options = ParserOptions(
        token_limit_set="maxOutputTokens" in config, stream_tool_arguments=stream_tool_arguments
    )
    checked = stream_options(f"open_{api.name}_stream", settings, _OWN)
    async with open_stream(client, api, body, parser_options, checked, output) as stream:
        yield stream


#: The opener's own parameters, for naming the one meant by a misspelt keyword.
_OWN = tuple(inspect.signature(open_gemini_stream).parameters)
