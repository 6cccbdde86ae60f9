"""The pytest plugin of ``trio_chatsse.testing``: a ``cassette`` fixture and ``--record-mode``.

Registered as the ``trio_chatsse`` entry point of ``pytest11``, so installing the package is
enough. In a test::

    async def test_weather(cassette) -> None:
        async with httpx.AsyncClient(base_url=BASE_URL, headers=AUTH) as real:
            async with cassette(real) as http:
                await my_app(http)

``cassette(real)`` gives the client to use: one pointed at the replay server when the test's
cassette (``cassettes/<test module>/<test name>.json`` beside the test file) is replayed, or a
recording client that reaches the real server when ``--record-mode`` says to record:

- ``none`` (the default, so CI never reaches the network): replay; a missing cassette fails
  the test with a message that says how to record one;
- ``once``: replay the cassette when it exists, else record it;
- ``all``: record every test again.

A replayed test fails when one of its requests matched no recorded exchange.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from ._cassette import record
from ._replay import open_cassette_server

__all__ = ["cassette", "pytest_addoption"]

MODES = ("none", "once", "all")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("trio_chatsse")
    group.addoption(
        "--record-mode",
        choices=MODES,
        default="none",
        help="trio_chatsse cassettes: replay only (none, the default), record what is missing "
        "(once), or record every test again (all)",
    )


def cassette_path(request: pytest.FixtureRequest) -> Path:
    """``cassettes/<test module>/<test name>.json`` beside the test's file."""
    name = request.node.name.replace("/", "_")
    return Path(request.path).parent / "cassettes" / Path(request.path).stem / f"{name}.json"


@pytest.fixture
def cassette(
    request: pytest.FixtureRequest,
) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
    """``cassette(real_client)``: the client this test uses, replaying or recording as
    ``--record-mode`` says (see the module's docs)."""
    mode = request.config.getoption("--record-mode")
    path = cassette_path(request)

    @asynccontextmanager
    async def use(real: Any) -> AsyncGenerator[Any, None]:
        if mode == "all" or (mode == "once" and not path.exists()):
            async with record(real, path) as recording:
                yield recording
            return
        if not path.exists():
            pytest.fail(
                f"no cassette {path}: record it once against the real server with "
                f"pytest --record-mode=once {request.node.nodeid}",
                pytrace=False,
            )
        async with open_cassette_server(path, speed=0) as server:
            base = f"{server.origin}{real.base_url.raw_path.decode()}"
            async with type(real)(
                base_url=base, headers=real.headers, timeout=real.timeout
            ) as replaying:
                yield replaying
            if server.misses:
                said = "; ".join(miss[3] for miss in server.misses)
                pytest.fail(f"{len(server.misses)} request(s) not in {path}: {said}")

    return use
