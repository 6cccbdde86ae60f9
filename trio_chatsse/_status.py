"""An HTTP error response as the exception it means.

Reads a bounded part of the body, finds the provider's error object in whatever shape the
server sent it, and builds the :class:`~trio_chatsse.HTTPStatusError` of the status, with the
request id, ``Retry-After`` and the mapped error (rate limit, context window).
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import trio

from ._errors import (
    REQUEST_ID_HEADERS,
    ChatSSEError,
    ContextWindowExceeded,
    HTTPContextWindowExceeded,
    HTTPRateLimitError,
    HTTPStatusError,
)
from ._timeouts import CLOSE_TIMEOUT
from ._wire import error_from_object

if TYPE_CHECKING:
    from ._clients import ClientLibrary, HTTPResponse

__all__ = ["error_object_of", "read_bounded", "retry_after_of", "status_error"]

#: At most this many bytes of an error body are read.
ERROR_BODY_LIMIT = 64 * 1024


async def status_error(response: HTTPResponse, library: ClientLibrary) -> ChatSSEError:
    """Read (a bounded part of) an error response, close it, and build its exception."""
    try:
        raw = await read_bounded(response.aiter_bytes(), ERROR_BODY_LIMIT)
    except library.transport_errors:
        raw = b""
    finally:
        with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
            await response.aclose()
    text = raw.decode("utf-8", "replace")
    status = response.status_code
    error_object = error_object_of(text)
    message = f"HTTP {status}"
    mapped: ChatSSEError | None = None
    if error_object is not None:
        mapped = error_from_object(error_object, status_code=status)
        message = f"HTTP {status}: {mapped.message}"
    elif text.strip() and "<html" not in text[:500].lower():
        message = f"HTTP {status}: {text.strip()[:300]}"
    header = next((h for h in REQUEST_ID_HEADERS if h in response.headers), None)
    details = {
        "status_code": status,
        "body": text,
        "error": error_object,
        "request_id": None if header is None else response.headers[header],
        "request_id_header": header,
    }
    code = error_object.get("code") if error_object else None
    code = code if isinstance(code, (str, int)) else None
    if status == 429:
        retry_after = retry_after_of(response)
        if retry_after is None and error_object is not None:
            retry_after = retry_delay_of(error_object)
        return HTTPRateLimitError(message, retry_after=retry_after, code=code, **details)  # type: ignore[arg-type]  # the fields above
    if isinstance(mapped, ContextWindowExceeded):
        return HTTPContextWindowExceeded(message, code=code, **details)  # type: ignore[arg-type]  # the fields above
    if status == 404:
        # The usual cause: a base_url without its /v1. The path only: a query may hold a key.
        path = response.request.url.path
        message += "" if path in message else f" for {path}"
        message += " (is base_url right? it usually ends in /v1)"
    return HTTPStatusError(message, **details)  # type: ignore[arg-type]  # the fields above


def retry_delay_of(error: dict[str, object]) -> float | None:
    """Seconds from Google's ``RetryInfo`` detail (``{"@type": ".../google.rpc.RetryInfo",
    "retryDelay": "13s"}``): Gemini says how long to wait there, not in a header."""
    details = error.get("details")
    for detail in details if isinstance(details, list) else ():
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                return None
    return None


def error_object_of(text: str) -> dict[str, object] | None:
    """The error object of an error body: ``{"error": {...}}``, ``{"error": "..."}``, a list
    holding one (Gemini), or a bare ``{"message": ...}`` / ``{"detail": ...}``."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    if not isinstance(parsed, dict):
        return None
    error = parsed.get("error", parsed)
    if isinstance(error, str):
        return {"message": error}
    if isinstance(error, dict):
        if "message" not in error and isinstance(error.get("detail"), str):
            return {**error, "message": error["detail"]}
        return error
    return None


def retry_after_of(response: HTTPResponse) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    millis = response.headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


async def read_bounded(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(parts)[:limit]
