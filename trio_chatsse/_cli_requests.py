"""``chat``'s request in the shape of each wire API besides Chat Completions."""

from __future__ import annotations

import argparse
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from ._http import open_messages_stream

if TYPE_CHECKING:
    from ._chat_stream import ChatStream
    from ._clients import HTTPClient

__all__ = ["messages_stream", "responses_body"]


def messages_stream(
    http: HTTPClient,
    args: argparse.Namespace,
    messages: list[dict[str, object]],
    extra: dict[str, object],
    options: dict[str, object],
) -> AbstractAsyncContextManager[ChatStream]:
    """``open_messages_stream`` with ``chat``'s request: the system message as ``system``,
    ``max_tokens`` (required by the API: 4096 unless given), the key as ``x-api-key``."""
    body = dict(extra)
    max_tokens = body.pop("max_tokens", 4096)
    tools = body.pop("tools", None)
    system = [m["content"] for m in messages if m["role"] == "system"]
    headers = {"x-api-key": args.api_key} if args.api_key else None
    return open_messages_stream(
        http,
        model=args.model,
        messages=[m for m in messages if m["role"] != "system"],
        max_tokens=max_tokens,  # type: ignore[arg-type]  # an int from --max-tokens
        system=str(system[0]) if system else None,
        tools=tools,  # type: ignore[arg-type]  # a list of tool objects, checked by load_tools
        headers=headers,
        extra_body=body,
        **options,  # type: ignore[arg-type]  # the options above, typed by their keys
    )


def responses_body(extra: dict[str, object]) -> dict[str, object]:
    """The Chat Completions fields of ``chat`` in the Responses API's names: tools without
    their ``function`` wrapper, ``max_output_tokens`` for ``max_tokens``."""
    body = dict(extra)
    if "max_tokens" in body:
        body["max_output_tokens"] = body.pop("max_tokens")
    tools = body.get("tools")
    if isinstance(tools, list):
        body["tools"] = [
            {"type": "function", **t["function"]} if isinstance(t.get("function"), dict) else t
            for t in tools
        ]
    return body
