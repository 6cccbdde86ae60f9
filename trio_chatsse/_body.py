"""What a response body really is, looked at before the shell reads it.

A server may label an event stream ``application/json``, ignore ``stream: true`` and send one
JSON answer, or send an HTML page from a wrong ``base_url``. :func:`body_source` looks before
the shell reads: an event stream goes on as it is, one JSON answer becomes the SSE body of the
same answer (through the registry's whole-answer form, ``_whole.py``), an HTML page is a
:class:`~trio_chatsse.StreamError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import trio

from ._errors import StreamError
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._status import read_bounded
from ._stream import close_source
from ._whole import NotAnAnswer

if TYPE_CHECKING:
    from ._apis import WireAPISpec
    from ._clients import ClientLibrary, HTTPResponse
    from ._timeouts import ResponseWait

__all__ = ["body_source"]


async def body_source(
    response: HTTPResponse,
    library: ClientLibrary,
    wait: ResponseWait,
    api: WireAPISpec,
) -> AsyncIterator[bytes]:
    """The body to decode, checked against what its ``Content-Type`` claims.

    An event stream is used as it is. Anything else is looked at first: one JSON answer
    (a server that ignored ``stream: true``) is read as the stream of the same answer; an HTML
    page (a wrong ``base_url``, a proxy's login page) is a :class:`StreamError` right away;
    an event stream under another label (some servers say ``application/json``) is read as
    the stream it is.
    """
    chunks = library.body_chunks(response)
    content_type = response.headers.get("content-type", "").lower()
    if content_type.startswith(api.stream_content_type):
        return chunks
    first = b""
    with trio.move_on_after(wait.remaining()) as scope:
        try:
            async for first in chunks:
                if first.strip():
                    break
        except library.transport_errors as exc:
            raise StreamError(f"the connection broke before the answer: {exc!r:.300}") from exc
    if scope.cancelled_caught:
        wait.expired()
    head = first.lstrip()[:1]
    if head == b"{" and api.whole_answer_as_sse is None:
        return _prepend(first, chunks)  # JSON lines: the parser judges each
    if head in (b"{", b"[") and api.whole_answer_as_sse is not None:
        try:
            rest = await read_bounded(chunks, DEFAULT_MAX_EVENT_SIZE)
        except library.transport_errors as exc:
            raise StreamError(
                f"the connection broke while reading the answer: {exc!r:.300}"
            ) from exc
        whole = first + rest
        try:
            return _one_chunk(api.whole_answer_as_sse(whole))
        except NotAnAnswer:
            pass
        error = StreamError(
            f"the server answered {response.status_code} with JSON that is not an answer "
            f"of this API (a gateway's or a proxy's?): {_quote(whole)}"
        )
    elif head == b"<":
        error = StreamError(
            f"the server answered with {content_type or 'no content type'}, not an event "
            f"stream (is base_url right?): {first[:200].decode('utf-8', 'replace')!r}"
        )
    elif not first.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(_SSE_FIELDS):
        error = StreamError(
            f"the server answered {response.status_code} with "
            f"{content_type or 'no content type'} that is neither an event stream nor an "
            f"answer: {_quote(first)}"
        )
    else:
        return _prepend(first, chunks)
    await close_source(chunks)
    raise error


#: How the first line of an event stream begins (a field, or a comment).
_SSE_FIELDS = (b"data", b"event", b"id", b"retry", b":")


def _quote(body: bytes) -> str:
    return repr(body[:300].decode("utf-8", "replace"))


async def _prepend(first: bytes, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in chunks:
        yield chunk


async def _one_chunk(body: bytes) -> AsyncIterator[bytes]:
    yield body
