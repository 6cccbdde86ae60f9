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
- ``new``: replay what the cassette holds, and send what it lacks to the real server, adding
  those exchanges to it (vcrpy's ``new_episodes``);
- ``all``: record every test again.

A VCR cassette that pytest-recording keeps for the test (``<test name>.yaml`` in the same
folder) is replayed when there is no ``.json`` one (``new`` copies it into a ``.json`` one and
adds to that). A replayed test fails when one of its
requests matched no recorded exchange. ``cassette(real, faults={0: ReplayFault(cut_after=3)})``
plays a fault on top of the recording (``speed`` and ``ignore`` go to
:func:`open_cassette_server` too).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from ._cassette import load_cassette, record, write_cassette
from ._replay import ReplayFault, open_cassette_server

__all__ = ["cassette", "pytest_addoption"]

MODES = ("none", "once", "new", "all")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("trio_chatsse")
    group.addoption(
        "--record-mode",
        choices=MODES,
        default="none",
        help="trio_chatsse cassettes: replay only (none, the default), record the cassettes "
        "that are missing (once), add the requests a cassette lacks (new), or record every "
        "test again (all)",
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
    vcr_path = path.with_suffix(".yaml")

    @asynccontextmanager
    async def use(
        real: Any,
        *,
        faults: Mapping[int, ReplayFault] | None = None,
        speed: float = 0,
        ignore: Sequence[str] = (),
    ) -> AsyncGenerator[Any, None]:
        if mode == "all" or (mode in ("once", "new") and not _exists(path, vcr_path)):
            async with record(real, path) as recording:
                yield recording
            return
        if mode == "new" and _exists(vcr_path) and not _exists(path):
            write_cassette(path, load_cassette(vcr_path))  # what is added goes beside it
        replayed = path if _exists(path) or not _exists(vcr_path) else vcr_path
        if not _exists(replayed):
            pytest.fail(
                f"no cassette {path}: record it once against the real server with "
                f"pytest --record-mode=once {request.node.nodeid}",
                pytrace=False,
            )
        async with (
            record(real, path, append=True) if mode == "new" else _nothing() as recording,
            open_cassette_server(replayed, speed=speed, ignore=ignore, faults=faults) as server,
        ):
            server.forward_misses_to = recording
            base = f"{server.origin}{real.base_url.raw_path.decode()}"
            async with type(real)(
                base_url=base, headers=real.headers, timeout=real.timeout
            ) as replaying:
                yield replaying
        if server.misses:
            said = "; ".join(miss[3] for miss in server.misses)
            pytest.fail(f"{len(server.misses)} request(s) not in {replayed}: {said}")

    return use


def _exists(*paths: Path) -> bool:
    return any(path.exists() for path in paths)


@asynccontextmanager
async def _nothing() -> AsyncGenerator[None, None]:
    yield None
