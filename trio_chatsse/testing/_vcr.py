"""VCR cassettes (vcrpy, pytest-recording: the YAML that pydantic-ai, simonw/llm and many others
keep) read as this package's exchanges, so that the cassette server replays them.

A VCR cassette keeps each response body whole, with no chunk boundaries and no times, so the
body is cut where its events end: after each blank line of an SSE body, after each line of an
NDJSON one (Ollama), whole otherwise; every chunk at time 0. The request body is vcrpy's
``body`` (text or bytes) or pydantic-ai's ``parsed_body``; a response body is ``body.string``
(text, or bytes that a ``gzip`` or ``deflate`` ``Content-Encoding`` compressed) or pydantic-ai's
``parsed_body``. Reading one needs PyYAML.
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._exchange import Exchange, chunk_of, scrub_headers, scrub_path

__all__ = ["event_chunks", "is_vcr_cassette", "vcr_exchanges"]

#: The end of an SSE event: a blank line, in any of the three line endings.
_SSE_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def is_vcr_cassette(path: Path) -> bool:
    """Whether ``path`` is a VCR cassette (by its name)."""
    return path.suffix.lower() in (".yaml", ".yml")


def event_chunks(body: bytes, content_type: str) -> list[bytes]:
    """``body`` cut after each event: SSE after each blank line, NDJSON after each line."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "text/event-stream":
        pieces, start = [], 0
        for end in _SSE_EVENT_END.finditer(body):
            pieces.append(body[start : end.end()])
            start = end.end()
        return [*pieces, body[start:]] if start < len(body) else pieces
    if kind in ("application/x-ndjson", "application/jsonl", "application/json-seq"):
        return body.splitlines(keepends=True)
    return [body] if body else []


def vcr_exchanges(path: Path) -> list[Exchange]:
    """The exchanges of a VCR cassette, scrubbed as a recording is.

    Raises:
        RuntimeError: PyYAML is not installed.
        ValueError: The file is not a VCR cassette, or a body is compressed in a way this
            cannot undo.
    """
    try:
        import yaml  # type: ignore[import-untyped]  # its stubs are a separate package
    except ImportError:
        raise RuntimeError(
            f"{path} is a VCR cassette (YAML): reading it needs PyYAML (pip install pyyaml)"
        ) from None
    with path.open("rb") as file:
        document = yaml.load(file, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
        raise ValueError(f"{path} is not a VCR cassette (no interactions:)")
    return [_exchange(path, number, each) for number, each in enumerate(document["interactions"])]


def _exchange(path: Path, number: int, interaction: Any) -> Exchange:
    try:
        request, response = interaction["request"], interaction["response"]
        url = urlsplit(request["uri"])
        status = int(response["status"]["code"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{path}: interaction {number} is not a VCR interaction ({exc!r})"
        ) from exc
    headers = _headers(response.get("headers"))
    body = _response_body(path, number, response, headers)
    # The body is kept decoded (vcrpy may have kept it compressed): its encoding goes too.
    headers = [(name, value) for name, value in headers if name.lower() != "content-encoding"]
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    return {
        "request": {
            "method": str(request.get("method", "GET")).upper(),
            "path": scrub_path(url.path, url.query),
            "headers": scrub_headers(_headers(request.get("headers"))),
            "body": _request_body(request),
        },
        "response": {
            "status": status,
            "headers": scrub_headers(headers),
            "chunks": [chunk_of(0.0, piece) for piece in event_chunks(body, content_type)],
            "end": "complete",
        },
    }


def _headers(headers: Any) -> list[tuple[str, str]]:
    """VCR keeps each header as a list of values; the first is kept, as most are single."""
    if not isinstance(headers, dict):
        return []
    out = []
    for name, values in headers.items():
        value = values[0] if isinstance(values, list) and values else values
        out.append((str(name), "" if value is None else str(value)))
    return out


def _request_body(request: dict[str, Any]) -> object:
    if "parsed_body" in request:
        return request["parsed_body"]
    body = request.get("body")
    if isinstance(body, dict):  # vcrpy's newer form: {"string": ...}
        body = body.get("string")
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body


def _response_body(
    path: Path, number: int, response: dict[str, Any], headers: list[tuple[str, str]]
) -> bytes:
    if "parsed_body" in response:
        return json.dumps(response["parsed_body"]).encode()
    body = response.get("body")
    body = body.get("string") if isinstance(body, dict) else body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    encoding = next((v for k, v in headers if k.lower() == "content-encoding"), "").lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(body, zlib.MAX_WBITS | 16)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding in ("", "identity"):
        return bytes(body)
    raise ValueError(
        f"{path}: interaction {number}'s body is {encoding}-encoded; record it with vcrpy's "
        "decode_compressed_response=True"
    )
