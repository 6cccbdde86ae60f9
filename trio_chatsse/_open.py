"""Layer 4: the one opener under every entry point, with the request body as it is.

:func:`open_stream` makes the :class:`~trio_chatsse._request.Request` of a body, runs the trio
shell over its attempts and finishes the request on every exit; :func:`open_body_stream` is
the same for a body given whole (a batch line, the CLI's request), checked by its API's rules.
The public openers (``_http.py``) only build their API's body.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from ._apis import ParserOptions, WireAPISpec, wire_api
from ._arguments import tool_choice_for, tools_for
from ._chat_stream import ChatStream
from ._options import StreamOptions
from ._request import Background, Request
from ._stream import require_trio, run_stream
from ._structured import OutputSpec, OutputT, output_spec

if TYPE_CHECKING:
    from ._clients import AsyncClient

__all__ = ["open_body_stream", "open_stream", "output_fields", "request_body"]


@asynccontextmanager
async def open_stream(
    client: AsyncClient,
    api: WireAPISpec,
    body: dict[str, object],
    parser_options: ParserOptions,
    options: StreamOptions,
    output: tuple[OutputSpec[OutputT], dict[str, object]] | None = None,
    background: Background | None = None,
) -> AsyncGenerator[ChatStream[OutputT], None]:
    """The one opener under every entry point: ``body`` as it is, sent to ``api``'s path,
    its stream run by the shell, the request finished on every exit."""
    require_trio(f"open_{api.name}_stream" if api.name != "chat" else "open_chat_stream")
    if api.token_limit_set(body):
        parser_options = dataclasses.replace(parser_options, token_limit_set=True)
    choices = body.get("n")
    if type(choices) is int and choices > 1:
        parser_options = dataclasses.replace(parser_options, choices=choices)
    request = Request(client, api, body, parser_options, options, background=background)
    stream: ChatStream[OutputT] | None = None
    try:
        async with run_stream(
            request,
            api=api,
            idle_timeout=options.idle_timeout,
            max_event_size=options.max_event_size,
            telemetry=options.telemetry,
            output=None if output is None else output[0],
        ) as stream:
            yield stream
    finally:
        await request.finish(stream)  # noqa: ASYNC102  # shielded, with a timeout, inside


@asynccontextmanager
async def open_body_stream(
    client: AsyncClient,
    api_name: str,
    body: Mapping[str, object],
    *,
    stream_tool_arguments: bool = False,
    output_type: type[OutputT] | None = None,
    background: Background | None = None,
    **options: Any,
) -> AsyncGenerator[ChatStream[OutputT], None]:
    """Stream a request whose body is given whole (a batch line, the CLI's request): the
    API's stream fields added unless the body sets them, checked by the API's rules,
    ``output_type``'s fields merged in, and ``options`` the :class:`StreamOptions`.

    Raises:
        TypeError, ValueError: A body the API would refuse, or a bad option.
    """
    api = wire_api(api_name)
    api.check_body(body)
    output = output_fields(api, output_type, True)
    first = {**api.stream_fields, **body}
    if background is not None:
        first.update(background=True, store=True)
    full = request_body(
        api,
        first,
        tools=None,
        tool_choice=None,
        extra={},
        params={},
        extra_body=None,
        output=output,
    )
    parser_options = ParserOptions(
        stream_tool_arguments=stream_tool_arguments, resumable=background is not None
    )
    stream_options = StreamOptions(**options)
    async with open_stream(
        client, api, full, parser_options, stream_options, output, background
    ) as stream:
        yield stream


def output_fields(
    api: WireAPISpec, output_type: type[OutputT] | None, strict: bool
) -> tuple[OutputSpec[OutputT], dict[str, object]] | None:
    """The spec of ``output_type`` and the request fields that ask for it."""
    if output_type is None:
        return None
    spec = output_spec(output_type, strict=strict)
    return spec, api.output_format(spec.name, spec.schema, strict)


def request_body(
    api: WireAPISpec,
    first: dict[str, object],
    *,
    tools: Sequence[Mapping[str, object]] | None,
    tool_choice: str | Mapping[str, object] | None,
    extra: Mapping[str, object],
    params: Mapping[str, object],
    extra_body: Mapping[str, object] | None,
    output: tuple[OutputSpec[Any], dict[str, object]] | None = None,
) -> dict[str, object]:
    """The body of an opener's request: its own fields, the tools and tool choice in the
    API's shape, the structured-output fields, then ``params`` (objects merged) and
    ``extra_body`` over everything."""
    body = {**first, **extra}
    if tools is not None:
        body["tools"] = tools_for(api.tools, tools)
    if tool_choice is not None:
        body[api.tools.choice_field] = tool_choice_for(api.tools, tool_choice)
    if output is not None:
        body.update(output[1])
    for key, value in params.items():
        # An object the output fields set too (the Responses API's ``text``) is merged.
        base = body.get(key)
        both = isinstance(base, Mapping) and isinstance(value, Mapping)
        body[key] = {**base, **value} if both else value  # type: ignore[dict-item]
    if extra_body:
        body.update(extra_body)
    return body
