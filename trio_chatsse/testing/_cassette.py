"""Cassettes: real exchanges recorded chunk by chunk with their times, for replay in tests.

:func:`record` wraps a client's transport: each exchange's request (method, path and query,
headers, JSON body) and response (status, headers, every body chunk as it arrived with its
time since the request was sent, and how the body ended: ``complete``, ``cut`` by a transport
error, or ``left`` early by the client) is kept, and the whole written to the file when the
block ends — also when it ends by an exception or a cancellation, with what was recorded so
far. Credentials are scrubbed by default.

The file is JSON, one exchange per entry, readable and diffable::

    {"version": 1, "exchanges": [{"request": {"method", "path", "headers", "body"},
                                  "response": {"status", "headers",
                                               "chunks": [{"t": 0.012, "text": "data: ..."}],
                                               "end": "complete"}}]}

A chunk is ``text`` when it is UTF-8, else ``base64``; ``t`` is in seconds.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from ._exchange import Exchange, chunk_of, scrub_headers, scrub_path
from ._vcr import is_vcr_cassette, vcr_exchanges

__all__ = ["CASSETTE_VERSION", "load_cassette", "record", "write_cassette"]

#: The version of the file format this module writes and reads.
CASSETTE_VERSION = 1


def load_cassette(path: str | Path) -> list[Exchange]:
    """The exchanges of a cassette file: this package's JSON, or a VCR cassette (vcrpy,
    pytest-recording: a ``.yaml`` or ``.yml`` file), its bodies cut at their events' ends.

    Raises:
        ValueError: The file is not a cassette of a version this module reads.
        RuntimeError: A VCR cassette, and PyYAML is not installed.
    """
    if is_vcr_cassette(Path(path)):
        return vcr_exchanges(Path(path))
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("version") != CASSETTE_VERSION:
        raise ValueError(f"{path} is not a version {CASSETTE_VERSION} trio_chatsse cassette")
    exchanges = data.get("exchanges")
    return exchanges if isinstance(exchanges, list) else []


@asynccontextmanager
async def record(
    client: Any,
    path: str | Path,
    *,
    scrub: Callable[[Exchange], Exchange | None] | None = None,
    append: bool = False,
) -> AsyncGenerator[Any, None]:
    """Record every exchange of the client yielded to a cassette file at ``path``.

    Example::

        async with httpx.AsyncClient(base_url=..., headers=...) as real:
            async with record(real, "tests/cassettes/weather.json") as http:
                async with open_chat_stream(http, model="m", messages=[...]) as stream:
                    ...

    Args:
        client: An ``httpx.AsyncClient`` or an ``httpx2.AsyncClient``; the client yielded is
            of the same library, with its base URL, headers, timeout and transport.
        path: The cassette file, written when the block ends (on every exit).
        scrub: Called with each exchange before it is written; return it changed (or
            ``None`` to leave it out). The credentials (``Authorization``, ``api-key``,
            ``x-api-key``, ``x-goog-api-key``, cookies, ``OpenAI-Organization``...) and the
            query's ``key=`` are replaced before it runs.
        append: Keep the exchanges the file holds when the block starts, and add the new ones
            after them (else the file is written anew).
    """
    module = sys.modules[type(client).__module__.split(".")[0]]
    kept_before = _existing(Path(path)) if append else []
    exchanges: list[Exchange] = []
    transport = _recording_transport(module, client._transport, exchanges)
    recorder = module.AsyncClient(
        base_url=client.base_url,
        headers=client.headers,
        timeout=client.timeout,
        transport=transport,
    )
    try:
        async with recorder:
            yield recorder
    finally:
        kept = [scrub(exchange) if scrub is not None else exchange for exchange in exchanges]
        write_cassette(Path(path), kept_before + [e for e in kept if e is not None])


def _existing(path: Path) -> list[Exchange]:
    """The exchanges already in ``path`` (none when there is no file): read synchronously,
    as :func:`write_cassette` writes."""
    return load_cassette(path) if path.exists() else []


def write_cassette(path: Path, exchanges: list[Exchange]) -> None:
    """Write the file, synchronously: it runs on every exit of the block, a cancellation
    included, where an awaited write would be cancelled too; a cassette is small."""
    document = {"version": CASSETTE_VERSION, "exchanges": exchanges}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def _recording_transport(module: Any, inner: Any, exchanges: list[Exchange]) -> Any:
    class RecordingTransport(module.AsyncBaseTransport):  # type: ignore[misc]  # the library's
        async def handle_async_request(self, request: Any) -> Any:
            started = trio.current_time()
            body = b"".join([part async for part in request.stream])
            request.stream = module.ByteStream(body)
            try:
                payload: object = json.loads(body) if body else None
            except ValueError:
                payload = body.decode("utf-8", "replace")
            exchange: Exchange = {
                "request": {
                    "method": request.method,
                    "path": scrub_path(request.url.path, request.url.query.decode()),
                    "headers": scrub_headers(list(request.headers.items())),
                    "body": payload,
                },
                "response": None,
            }
            exchanges.append(exchange)
            response = await inner.handle_async_request(request)
            recorded: dict[str, Any] = {
                "status": response.status_code,
                "headers": scrub_headers(list(response.headers.items())),
                "chunks": [],
                "end": "left",
            }
            exchange["response"] = recorded
            stream = _RecordedBody(response.stream, recorded, started)
            return module.Response(
                response.status_code,
                headers=response.headers,
                stream=module_stream(module, stream),
                extensions=response.extensions,
            )

        async def aclose(self) -> None:
            await inner.aclose()

    return RecordingTransport()


class _RecordedBody:
    """Iterates a response body, keeping each chunk with its time, and how it ended."""

    def __init__(self, inner: Any, recorded: dict[str, Any], started: float) -> None:
        self._inner, self._recorded, self._started = inner, recorded, started

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._inner:
                self._recorded["chunks"].append(chunk_of(trio.current_time() - self._started, data))
                yield data
        except Exception:
            self._recorded["end"] = "cut"
            raise
        self._recorded["end"] = "complete"

    async def aclose(self) -> None:
        await self._inner.aclose()


def module_stream(module: Any, body: _RecordedBody) -> Any:
    """A byte stream of ``module``'s class over a recorded body."""

    class Stream(module.AsyncByteStream):  # type: ignore[misc]  # the library's
        def __aiter__(self) -> AsyncIterator[bytes]:
            return body.chunks()

        async def aclose(self) -> None:
            await body.aclose()

    return Stream()
