"""httpx and httpx2: both accepted, told apart by the client, neither imported by the package."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import httpx
import httpx2
import pytest
import trio

from trio_chatsse import StreamError, open_chat_stream
from trio_chatsse._clients import library_of
from trio_chatsse.testing import ChatServer, Reply

from .helpers import HTTPClient, library_module

MESSAGES = [{"role": "user", "content": "hi"}]


def test_each_client_is_told_apart_by_its_class() -> None:
    assert library_of(httpx.AsyncClient()).name == "httpx"
    assert library_of(httpx2.AsyncClient()).name == "httpx2"
    assert library_of(httpx.AsyncClient()).transport_errors == (httpx.TransportError,)
    assert library_of(httpx2.AsyncClient()).transport_errors == (httpx2.TransportError,)


class SDKClient(httpx2.AsyncClient):
    """What the openai SDK passes around: a subclass of httpx2.AsyncClient."""


async def test_a_subclass_of_a_client_works(chat_server: ChatServer) -> None:
    chat_server.push(Reply(text="from a subclass"))
    async with SDKClient(base_url=chat_server.base_url) as http:
        async with open_chat_stream(http, model="m", messages=MESSAGES) as stream:
            await stream.final()
    assert stream.text == "from a subclass"
    assert isinstance(stream.response, httpx2.Response)


@pytest.mark.parametrize(
    "client", [object(), httpx.Client(), httpx2.Client(), "http://x"], ids=type
)
async def test_anything_else_is_a_type_error(client: object) -> None:
    with pytest.raises(TypeError, match=r"httpx\.AsyncClient or an httpx2\.AsyncClient"):
        async with open_chat_stream(client, model="m", messages=MESSAGES):  # type: ignore[arg-type]  # the point
            pass  # pragma: no cover


async def test_the_read_timeout_is_off_and_the_rest_kept(
    chat_server: ChatServer, http_library: str
) -> None:
    lib = library_module(http_library)
    seen: list[object] = []

    async def record(request: object) -> None:
        seen.append(request.extensions["timeout"])  # type: ignore[attr-defined]  # a Request

    timeout = lib.Timeout(3.0, connect=1.5, pool=2.5)
    async with lib.AsyncClient(
        base_url=chat_server.base_url, timeout=timeout, event_hooks={"request": [record]}
    ) as http:
        async with open_chat_stream(http, model="m", messages=MESSAGES) as stream:
            await stream.final()
    assert seen == [{"connect": 1.5, "read": None, "write": 3.0, "pool": 2.5}]


async def test_the_response_is_the_clients_own(http: HTTPClient, http_library: str) -> None:
    async with open_chat_stream(http, model="m", messages=MESSAGES) as stream:
        await stream.final()
    assert isinstance(stream.response, library_module(http_library).Response)


async def test_a_transport_error_mid_stream_is_a_stream_error_of_either_library(
    chat_server: ChatServer, http: HTTPClient, http_library: str
) -> None:
    chat_server.push(Reply(text="Hello there", disconnect_after=3, disconnect_mid_event=True))
    async with open_chat_stream(http, model="m", messages=MESSAGES) as stream:
        with pytest.raises(StreamError) as info:
            await stream.final()
    assert isinstance(info.value.__cause__, library_module(http_library).TransportError)


@pytest.mark.parametrize(("missing", "used"), [("httpx", "httpx2"), ("httpx2", "httpx")])
async def test_the_package_and_the_demo_run_without_the_other_library(
    missing: str, used: str
) -> None:
    # sys.modules[name] = None makes `import name` fail, as if it were not installed.
    program = textwrap.dedent(
        f"""
        import sys
        sys.modules[{missing!r}] = None
        import trio_chatsse, trio_chatsse.testing
        from trio_chatsse._cli import main
        code = main(["demo"])
        assert {missing!r} not in [m for m in sys.modules if sys.modules[m] is not None]
        assert {used!r} in sys.modules
        sys.exit(code)
        """
    )
    with trio.fail_after(60):
        result = await trio.run_process(
            [sys.executable, "-c", program], capture_stdout=True, capture_stderr=True, check=False
        )
    assert result.returncode == 0, result.stderr.decode()
    assert b"sunny in Paris" in result.stdout


def test_importing_the_package_imports_no_http_library() -> None:
    program = "import sys, trio_chatsse, trio_chatsse.testing; print(sorted(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, check=True, text=True
    ).stdout
    assert "'httpx'" not in out
    assert "'httpx2'" not in out
