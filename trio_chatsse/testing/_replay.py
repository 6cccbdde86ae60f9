"""The embedded server replaying a cassette: each request answered with the recorded exchange
it matches, its chunks written with the recorded boundaries at the recorded pace.

A request matches an exchange not used yet with the same method, path (query included) and
JSON body, the fields named in ``ignore`` left out of the comparison; a request that matches
none gets a 599 whose body names the closest recorded request and how it differs, and is kept
in :attr:`CassetteServer.misses` so that a test can fail on it clearly. A body recorded as cut
replays as a cut (the connection closed mid-body); one the client left early replays as far as
it was read, then a cut.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import h11
import trio

from .._nursery import open_background_nursery
from ._cassette import Exchange, chunk_bytes, load_cassette
from ._server import ChatServer, _default_reply, _Exchange

__all__ = ["CassetteServer", "open_cassette_server"]

#: The status of a request that matches no recorded exchange (not one a provider sends).
MISS_STATUS = 599
_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "content-encoding"})


class CassetteServer(ChatServer):
    """A :class:`ChatServer` that answers from a cassette instead of scripted replies."""

    def __init__(
        self, port: int, exchanges: list[Exchange], speed: float, ignore: Sequence[str]
    ) -> None:
        super().__init__(port, [], _default_reply, None)
        self._exchanges = exchanges
        self._used = [False] * len(exchanges)
        self._speed = speed
        self._ignore = frozenset(ignore)
        #: ``http://127.0.0.1:PORT``: the base of the recorded paths (``base_url`` adds
        #: ``/v1``, as most recorded clients had it).
        self.origin = f"http://127.0.0.1:{port}"
        #: Each request that matched no exchange, as (method, path, body, what the 599 said).
        self.misses: list[tuple[str, str, object, str]] = []

    async def _respond(self, ex: _Exchange, request: h11.Request, body: bytes) -> bool:
        method, target = request.method.decode(), request.target.decode()
        try:
            payload: object = json.loads(body) if body else None
        except ValueError:
            payload = body.decode("utf-8", "replace")
        if isinstance(payload, dict):
            self.requests.append(payload)
        index = self._match(method, target, payload)
        if index is None:
            said = self._closest(method, target, payload)
            self.misses.append((method, target, payload, said))
            await ex.send_json(MISS_STATUS, {"error": {"message": said, "type": "cassette_miss"}})
            return True
        self._used[index] = True
        return await self._replay(ex, self._exchanges[index]["response"])

    def _comparable(self, body: object) -> object:
        if isinstance(body, dict):
            return {k: v for k, v in body.items() if k not in self._ignore}
        return body

    def _match(self, method: str, target: str, body: object) -> int | None:
        wanted = self._comparable(body)
        for index, exchange in enumerate(self._exchanges):
            recorded = exchange["request"]
            if self._used[index] or recorded["method"] != method or recorded["path"] != target:
                continue
            if self._comparable(recorded["body"]) == wanted:
                return index
        return None

    def _closest(self, method: str, target: str, body: object) -> str:
        if not self._exchanges:
            return f"no recorded exchange for {method} {target}: the cassette is empty"
        best: tuple[int, str] | None = None
        for index, exchange in enumerate(self._exchanges):
            recorded = exchange["request"]
            differences = []
            if recorded["method"] != method or recorded["path"] != target:
                differences.append(f"it was {recorded['method']} {recorded['path']}")
            differences += _body_differences(
                self._comparable(recorded["body"]), self._comparable(body)
            )
            if self._used[index] and not differences:
                differences.append("it was already replayed (record the request again)")
            if best is None or len(differences) < best[0]:
                best = (len(differences), f"exchange {index}: " + "; ".join(differences))
        assert best is not None
        return f"no recorded exchange matches {method} {target}; the closest is {best[1]}"

    async def _replay(self, ex: _Exchange, response: dict[str, Any] | None) -> bool:
        if response is None:  # recorded while the request was under way: nothing came back
            return False
        headers = [
            (name, value)
            for name, value in response["headers"].items()
            if name.lower() not in _HOP_HEADERS
        ]
        headers.append(("transfer-encoding", "chunked"))
        await ex.send(h11.Response(status_code=response["status"], headers=headers))
        last = 0.0
        for chunk in response["chunks"]:
            delay = float(chunk["t"]) - last
            last = float(chunk["t"])
            if self._speed and delay > 0:
                await trio.sleep(delay / self._speed)
            await ex.send(h11.Data(data=chunk_bytes(chunk)))
        if response.get("end") != "complete":
            return False  # a cut (or a body the client left): the connection closes mid-body
        await ex.send(h11.EndOfMessage())
        return True


def _body_differences(recorded: object, sent: object) -> list[str]:
    if recorded == sent:
        return []
    if not isinstance(recorded, dict) or not isinstance(sent, dict):
        return [f"its body was {json.dumps(recorded)[:120]}"]
    out = []
    for key in sorted(set(recorded) | set(sent)):
        if recorded.get(key) != sent.get(key):
            was = json.dumps(recorded.get(key))[:80] if key in recorded else "absent"
            out.append(f"{key} was {was}")
    return out


@asynccontextmanager
async def open_cassette_server(
    cassette: str | Path,
    *,
    speed: float = 1.0,
    ignore: Sequence[str] = (),
    host: str = "127.0.0.1",
    port: int = 0,
) -> AsyncGenerator[CassetteServer, None]:
    """Replay a cassette (:func:`record`'s file) on the embedded server, for the block.

    Example::

        async with open_cassette_server("tests/cassettes/weather.json", speed=0) as server:
            async with httpx.AsyncClient(base_url=server.base_url) as http:
                ...  # the same code that made the recording
            assert server.misses == []

    Args:
        cassette: The cassette file.
        speed: How much faster than recorded to replay (``0``: as fast as possible).
        ignore: Request body fields left out when matching (a ``user`` id, a ``seed``...).
        host: The address to listen on (keep it on loopback).
        port: The port; 0 lets the system pick a free one.

    Yields:
        The running :class:`CassetteServer`.

    Raises:
        ValueError: The file is not a cassette, or ``speed`` is negative.
    """
    if speed < 0:
        raise ValueError(f"speed must be 0 or more, not {speed!r}")
    exchanges = load_cassette(cassette)
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound = listeners[0].socket.getsockname()[1]
    server = CassetteServer(bound, exchanges, speed, ignore)
    async with open_background_nursery() as nursery:
        await nursery.start(trio.serve_listeners, server._serve_connection, listeners)
        yield server
