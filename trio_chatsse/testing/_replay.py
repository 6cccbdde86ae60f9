"""The embedded server replaying a cassette: each request answered with the recorded exchange
it matches, its chunks written with the recorded boundaries at the recorded pace.

A request matches an exchange not used yet with the same method, path (query included) and
JSON body, the fields named in ``ignore`` left out of the comparison; a request that matches
none gets a 599 whose body names the closest recorded request and how it differs, and is kept
in :attr:`CassetteServer.misses` so that a test can fail on it clearly. A body recorded as cut
replays as a cut (the connection closed mid-body); one the client left early replays as far as
it was read, then a cut. A :class:`ReplayFault` plays the scripted server's faults on top of a
recording: a cut, a stall, an in-stream error event in the recorded wire API's form.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final
from urllib.parse import urlsplit

import h11
import trio

from .._nursery import open_background_nursery
from ._cassette import load_cassette
from ._exchange import Exchange, chunk_bytes
from ._server import ChatServer, _default_reply, _Exchange, form_of

__all__ = ["CassetteServer", "ReplayFault", "open_cassette_server"]

#: The status of a request that matches no recorded exchange (not one a provider sends).
MISS_STATUS = 599
#: Headers of the recorded (or forwarded) framing, not replayed: the body is sent chunked. A
#: ``Content-Encoding`` is kept, with the bytes as the server compressed them.
_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


@final
@dataclass(frozen=True)
class ReplayFault:
    """A fault played on top of one recorded exchange (``open_cassette_server(faults=...)``).

    Counts are of the recorded chunks, so a fault lands where the recording's boundaries are.
    """

    #: Close the connection after this many chunks, mid-body (``None``: no cut).
    cut_after: int | None = None
    #: Pause this many seconds before chunk number ``stall_after`` (0 is before the first).
    stall: float = 0.0
    stall_after: int = 0
    #: Send an in-stream error event carrying this error object, in the recorded wire API's
    #: form, after ``error_after`` chunks; the body then ends, as providers end it.
    error: Mapping[str, object] | None = None
    error_after: int = 0

    def __post_init__(self) -> None:
        for name in ("cut_after", "stall_after", "error_after"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value < 0):
                raise ValueError(f"ReplayFault.{name} must be a count of chunks, not {value!r}")
        if not (isinstance(self.stall, int | float) and 0 <= self.stall < math.inf):
            raise ValueError(f"ReplayFault.stall must be seconds, not {self.stall!r}")


class CassetteServer(ChatServer):
    """A :class:`ChatServer` that answers from a cassette instead of scripted replies."""

    def __init__(
        self,
        port: int,
        exchanges: list[Exchange],
        speed: float,
        ignore: Sequence[str],
        faults: Mapping[int, ReplayFault],
    ) -> None:
        super().__init__(port, [], _default_reply, None)
        self._exchanges = exchanges
        self._faults = faults
        self._used = [False] * len(exchanges)
        self._speed = speed
        self._ignore = frozenset(ignore)
        #: ``http://127.0.0.1:PORT``: the base of the recorded paths (``base_url`` adds
        #: ``/v1``, as most recorded clients had it).
        self.origin = f"http://127.0.0.1:{port}"
        #: Each request that matched no exchange, as (method, path, body, what the 599 said).
        self.misses: list[tuple[str, str, object, str]] = []
        #: A client of either HTTP library to send a request that matches no exchange to,
        #: relaying its answer (``None``: a 599). Wrapped in :func:`record`, it adds what the
        #: cassette lacked, as ``pytest --record-mode=new`` does.
        self.forward_misses_to: Any = None

    async def _respond(self, ex: _Exchange, request: h11.Request, body: bytes) -> bool:
        method, target = request.method.decode(), request.target.decode()
        try:
            payload: object = json.loads(body) if body else None
        except ValueError:
            payload = body.decode("utf-8", "replace")
        if isinstance(payload, dict):
            self.requests.append(payload)
        index = self._match(method, target, payload)
        if index is None and self.forward_misses_to is not None:
            return await _forward(self.forward_misses_to, ex, request, body)
        if index is None:
            said = self._closest(method, target, payload)
            self.misses.append((method, target, payload, said))
            await ex.send_json(MISS_STATUS, {"error": {"message": said, "type": "cassette_miss"}})
            return True
        self._used[index] = True
        fault = self._faults.get(index, _NO_FAULT)
        error = None if fault.error is None else _error_event(self._exchanges[index], fault.error)
        return await self._replay(ex, self._exchanges[index]["response"], fault, error)

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

    async def _replay(
        self,
        ex: _Exchange,
        response: dict[str, Any] | None,
        fault: ReplayFault,
        error_event: bytes | None,
    ) -> bool:
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
        chunks = response["chunks"]
        for number in range(len(chunks) + 1):
            if fault.stall and number == fault.stall_after:
                await trio.sleep(fault.stall)
            if error_event is not None and number == fault.error_after:
                await ex.send(h11.Data(data=error_event))
                await ex.send(h11.EndOfMessage())
                return True
            if number == fault.cut_after:
                return False
            if number == len(chunks):
                break
            chunk = chunks[number]
            delay = float(chunk["t"]) - last
            last = float(chunk["t"])
            if self._speed and delay > 0:
                await trio.sleep(delay / self._speed)
            await ex.send(h11.Data(data=chunk_bytes(chunk)))
        if response.get("end") != "complete":
            return False  # a cut (or a body the client left): the connection closes mid-body
        await ex.send(h11.EndOfMessage())
        return True


_NO_FAULT = ReplayFault()


async def _forward(client: Any, ex: _Exchange, request: h11.Request, body: bytes) -> bool:
    """Send ``request`` to ``client``'s server (at the same path under its base URL's origin)
    and relay the answer as it comes."""
    headers = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in request.headers
        if name.decode("latin-1").lower() not in {*_HOP_HEADERS, "host"}
    ]
    url = client.base_url.copy_with(raw_path=request.target)
    outgoing = client.build_request(request.method.decode(), url, headers=headers, content=body)
    response = await client.send(outgoing, stream=True)
    try:
        relayed = [(k, v) for k, v in response.headers.items() if k.lower() not in _HOP_HEADERS]
        relayed.append(("transfer-encoding", "chunked"))
        await ex.send(h11.Response(status_code=response.status_code, headers=relayed))
        async for data in response.aiter_raw():
            await ex.send(h11.Data(data=data))
        await ex.send(h11.EndOfMessage())
    finally:
        await response.aclose()
    return True


def _error_event(exchange: Exchange, error: Mapping[str, object]) -> bytes:
    request = exchange["request"]
    form = form_of(request["method"], urlsplit(request["path"]).path)
    assert form is not None  # checked when the server opened
    return form.error_event(error)


def _check_faults(exchanges: list[Exchange], faults: Mapping[int, ReplayFault]) -> None:
    for index, fault in faults.items():
        if type(index) is not int or not 0 <= index < len(exchanges):
            raise ValueError(
                f"faults: no exchange {index!r} in the cassette (it has {len(exchanges)}, "
                "numbered from 0)"
            )
        if not isinstance(fault, ReplayFault):
            raise TypeError(f"faults[{index}] is a {type(fault).__name__}, not a ReplayFault")
        request = exchanges[index]["request"]
        path = urlsplit(request["path"]).path
        if fault.error is not None and form_of(request["method"], path) is None:
            raise ValueError(
                f"faults[{index}].error: exchange {index} ({request['method']} {path}) is not "
                "a request of a wire API this server knows, so its error event has no form"
            )


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
    faults: Mapping[int, ReplayFault] | None = None,
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
        faults: A :class:`ReplayFault` to play on top of some exchanges, by their number in
            the cassette (from 0), as in ``{0: ReplayFault(cut_after=3)}``.
        host: The address to listen on (keep it on loopback).
        port: The port; 0 lets the system pick a free one.

    Yields:
        The running :class:`CassetteServer`.

    Raises:
        ValueError: The file is not a cassette, ``speed`` is negative, or a fault names no
            exchange of the cassette.
    """
    if speed < 0:
        raise ValueError(f"speed must be 0 or more, not {speed!r}")
    exchanges = load_cassette(cassette)
    faults = dict(faults or {})
    _check_faults(exchanges, faults)
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound = listeners[0].socket.getsockname()[1]
    server = CassetteServer(bound, exchanges, speed, ignore, faults)
    async with open_background_nursery() as nursery:
        await nursery.start(trio.serve_listeners, server._serve_connection, listeners)
        yield server
