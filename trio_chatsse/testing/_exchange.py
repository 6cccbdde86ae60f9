"""One recorded exchange as a cassette keeps it, and the scrubbing every cassette gets: the
credentials in headers and in the URL's query never reach a file."""

from __future__ import annotations

import base64
from typing import Any

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "SECRET_QUERY_KEYS",
    "Exchange",
    "chunk_bytes",
    "chunk_of",
    "scrub_headers",
    "scrub_path",
]

#: Headers whose values never reach the file.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
        "proxy-authorization",
    }
)
#: Query keys whose values never reach the file.
SECRET_QUERY_KEYS = frozenset({"key", "api_key", "api-key", "access_token"})
REDACTED = "REDACTED"

#: One exchange, as the file holds it.
Exchange = dict[str, Any]


def scrub_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """The headers as a cassette keeps them, credentials replaced."""
    return {name: REDACTED if name.lower() in SECRET_HEADERS else value for name, value in headers}


def scrub_path(path: str, query: str) -> str:
    """The path and query as a cassette keeps them, keys in the query replaced."""
    if not query:
        return path
    pairs = []
    for pair in query.split("&"):
        name, sep, _ = pair.partition("=")
        pairs.append(f"{name}={REDACTED}" if name.lower() in SECRET_QUERY_KEYS and sep else pair)
    return f"{path}?{'&'.join(pairs)}"


def chunk_of(t: float, data: bytes) -> dict[str, object]:
    """A body chunk as a cassette keeps it: text when it is UTF-8, else base64."""
    try:
        return {"t": round(t, 6), "text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"t": round(t, 6), "base64": base64.b64encode(data).decode()}


def chunk_bytes(chunk: dict[str, Any]) -> bytes:
    """A recorded chunk's bytes."""
    if "base64" in chunk:
        return base64.b64decode(chunk["base64"])
    return str(chunk["text"]).encode("utf-8")
