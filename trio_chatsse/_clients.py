"""Layer 4's knowledge of the HTTP libraries: httpx and httpx2, told apart by the client.

httpx2 is httpx's maintained successor: the same API under new module names (``httpx2``,
``httpcore2``), with classes and exceptions of its own, so an ``isinstance`` or an ``except``
written for one never matches the other. Everything that differs between the two lives here:
which exceptions mean "the transport broke", how to build a timeout, which byte-stream class a
request body must subclass.

A client is recognised by ``isinstance`` against the ``AsyncClient`` of each library that is
already imported (a client object cannot exist before its module is), so a subclass such as the
openai SDK's client wrapper is recognised too, and neither library is ever imported here.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

if TYPE_CHECKING:
    import httpx  # noqa: ASYNC127  # for the type of a client passed in, never imported
    import httpx2

    HTTPClient: TypeAlias = httpx.AsyncClient | httpx2.AsyncClient
    HTTPResponse: TypeAlias = httpx.Response | httpx2.Response
    HTTPTimeout: TypeAlias = httpx.Timeout | httpx2.Timeout

__all__ = ["AsyncClient", "ClientLibrary", "HTTPClient", "HTTPResponse", "library_of"]


class AsyncClient(Protocol):
    """The ``client`` the openers take: an ``httpx.AsyncClient`` or an ``httpx2.AsyncClient``
    (a subclass too), told apart when called.

    A structural type rather than the union of the two classes: where httpx2 is not installed,
    its class is ``Any`` to a type checker, and the union would let a ``str`` or a sync
    ``httpx.Client`` through ``mypy --strict``; neither has an awaitable ``send``.
    """

    @property
    def base_url(self) -> Any: ...
    @property
    def headers(self) -> Any: ...
    @property
    def timeout(self) -> Any: ...
    def build_request(self, *args: Any, **kwargs: Any) -> Any: ...
    async def send(self, *args: Any, **kwargs: Any) -> Any: ...


#: The libraries accepted, by module name.
LIBRARY_NAMES = ("httpx", "httpx2")


class ClientLibrary:
    """What the HTTP layer needs from one HTTP library."""

    def __init__(self, module: ModuleType) -> None:
        #: The module's name: ``httpx`` or ``httpx2``.
        self.name: str = module.__name__
        self._module = module
        #: Exceptions of this library that mean the transport failed.
        self.transport_errors: tuple[type[Exception], ...] = (module.TransportError,)
        #: The subclass of :attr:`transport_errors` for a connection that could not be made.
        self.connect_error: type[Exception] = module.ConnectError
        self._byte_stream: type = module.AsyncByteStream
        self._request_body = _request_body_class(module.AsyncByteStream)

    def timeout_without_read(self, timeout: HTTPTimeout) -> HTTPTimeout:
        """The client's timeout with its read part turned off (``idle_timeout`` governs)."""
        new: HTTPTimeout = self._module.Timeout(
            connect=timeout.connect, read=None, write=timeout.write, pool=timeout.pool
        )
        return new

    def request_body(self, content: bytes) -> object:
        """A request body of this library's stream class that holds ``content``."""
        return self._request_body(content)

    def body_chunks(self, response: HTTPResponse) -> AsyncIterator[bytes]:
        """The response body, chunk by chunk, decoded when the server compressed it."""
        if "content-encoding" not in response.headers and isinstance(
            response.stream, self._byte_stream
        ):
            # Nothing to decode: read the transport's stream directly, which skips two
            # generator levels (aiter_bytes, aiter_raw) per chunk.
            return aiter(response.stream)  # type: ignore[arg-type]  # an AsyncByteStream, checked above
        return response.aiter_bytes()


_LOADED: dict[ModuleType, ClientLibrary] = {}


def library_of(client: object) -> ClientLibrary:
    """The library that made ``client``.

    Raises:
        TypeError: ``client`` is not an ``httpx.AsyncClient`` or an ``httpx2.AsyncClient``
            (a sync ``Client`` included).
    """
    for name in LIBRARY_NAMES:
        module = sys.modules.get(name)
        if module is not None and isinstance(client, module.AsyncClient):
            library = _LOADED.get(module)
            if library is None:
                library = _LOADED[module] = ClientLibrary(module)
            return library
    kind = f"{type(client).__module__}.{type(client).__qualname__}"
    hint = ""
    if type(client).__name__ in ("AsyncOpenAI", "AsyncAnthropic", "AsyncAzureOpenAI"):
        hint = (
            " (an SDK client): pass an httpx2.AsyncClient with the base URL and the key's "
            "header, and give the same one to the SDK as http_client= if you use both (the "
            'guide\'s "Clients" shows how)'
        )
    raise TypeError(
        f"client must be an httpx.AsyncClient or an httpx2.AsyncClient, not {kind}{hint}"
    )


def _request_body_class(base: type) -> type:
    """A request body class that subclasses ``base`` (the library checks ``isinstance``)."""

    class RequestBody(base):  # type: ignore[misc]  # base is a library's AsyncByteStream
        """The request body as one chunk, iterated without an async generator.

        The libraries' own body streams are async generators; a cancellation while the
        request is being written leaves one suspended, and trio warns about it when it is
        collected (``ResourceWarning``). This iterator has nothing to finalize.
        """

        def __init__(self, content: bytes) -> None:
            self._content = content

        def __aiter__(self) -> AsyncIterator[bytes]:
            return _OneChunk(self._content)

    return RequestBody


class _OneChunk:
    def __init__(self, content: bytes) -> None:
        self._content: bytes | None = content

    def __aiter__(self) -> _OneChunk:
        return self

    async def __anext__(self) -> bytes:
        if self._content is None:
            raise StopAsyncIteration
        content, self._content = self._content, None
        return content
