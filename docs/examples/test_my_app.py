"""Testing your own app against trio_chatsse.testing (a pytest-trio test).

Needs ``pip install pytest pytest-trio``. The mark below runs every test of the file under
trio; or set ``trio_mode = true`` under ``[tool.pytest.ini_options]`` once for the project.
"""

from __future__ import annotations

import httpx
import pytest

from trio_chatsse import IdleTimeoutError, open_chat_stream
from trio_chatsse.testing import Reply, open_chat_server

pytestmark = pytest.mark.trio


async def summarize(http: httpx.AsyncClient, text: str) -> str:
    """The app code under test."""
    messages = [{"role": "user", "content": f"Summarize: {text}"}]
    async with open_chat_stream(http, model="any", messages=messages, idle_timeout=0.5) as stream:
        await stream.final()
    return stream.text


async def test_summarize() -> None:
    async with open_chat_server(Reply(text="Short.")) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            assert await summarize(http, "A long text.") == "Short."
        assert "A long text." in str(server.requests[0]["messages"])


async def test_summarize_gives_up_on_a_stalled_server() -> None:
    async with open_chat_server(Reply(text="Sho", stall=10, stall_after=2)) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            with pytest.raises(IdleTimeoutError):
                await summarize(http, "A long text.")
