"""The shared limiter's Redis side: one limiter's state, shared by every process that names it.

:class:`SharedLimits` talks to Redis (or Valkey) through ``coredis``, which runs under trio, and
is imported only when a :class:`~trio_chatsse.Limiter` is given ``redis=``. Each step is one
script (``_limiter_scripts.py``) run atomically by the server, bounded by ``timeout``; a
server that does not answer in time, or cannot be reached, raises :class:`Unreachable`, and
for a second after that every step raises it at once (a dead server costs one timeout a
second, not one per stream). A slot in flight is a lease that a keeper task renews while the
limiter is open, so the slots of a process that was killed come free when their leases end.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from ._limiter_scripts import ACQUIRE, LEAVE, OBSERVE, RELEASE, RENEW
from ._nursery import open_background_nursery

if TYPE_CHECKING:
    from ._ratelimits import RateLimits

__all__ = ["Grant", "SharedLimits", "Unreachable"]

logger = logging.getLogger("trio_chatsse._limiter")

#: Seconds a waiting ticket lives unless its process asks again; the longest a waiter sleeps
#: between two asks is a quarter of it.
TICKET_TIME = 2.0
_LONGEST_NAP = TICKET_TIME / 4
#: Seconds between two asks of a waiter whose turn waits for a stream to end.
POLL_INTERVAL = 0.02
#: Seconds during which a server that failed is not asked again.
_DOWN_TIME = 1.0


class Unreachable(Exception):
    """Redis did not answer (in time)."""


@dataclass(frozen=True)
class Grant:
    """A turn taken in Redis: its lease, and the budgets' counts when it was taken."""

    lease: str
    requests_taken: float
    tokens_taken: float


@dataclass(frozen=True)
class Config:
    """The limits every process sharing the state passes along with each step."""

    max_concurrent: int | None
    requests_per_minute: float | None
    tokens_per_minute: float | None
    learn: bool


def _arg(value: float | None) -> str:
    return "" if value is None else repr(value)


class SharedLimits:
    """One limiter's state in Redis, under ``trio_chatsse:limiter:{key}:*``.

    Args:
        redis: A ``redis://``, ``rediss://`` or ``unix://`` URL, or a ``coredis`` client
            the caller runs (it is used as is, never entered or closed here).
        key: The name every limiter sharing this state gives.
        config: The limits.
        lease: Seconds a slot in flight is held unless renewed.
        timeout: Seconds each step may take.
    """

    def __init__(
        self, redis: object, key: str, config: Config, *, lease: float, timeout: float
    ) -> None:
        try:
            import coredis
        except ImportError:
            raise RuntimeError(
                "a Limiter shared in Redis needs coredis: pip install 'trio-chatsse[redis]'"
            ) from None
        self._coredis = coredis
        if isinstance(redis, str):
            self._url: str | None = redis
            self._client: Any = None
        elif isinstance(redis, coredis.Redis | coredis.RedisCluster):
            self._url, self._client = None, redis
        else:
            raise TypeError(
                "redis= takes a URL (redis://host:6379/0, rediss://..., unix:///path) or a "
                f"coredis Redis or RedisCluster client, not {type(redis).__name__}"
            )
        prefix = f"trio_chatsse:limiter:{{{key}}}"
        self._keys = [f"{prefix}:{part}" for part in ("state", "leases", "line", "tickets")]
        self.key = key
        self._config = config
        self.lease = lease
        self.timeout = timeout
        self._leases: set[str] = set()
        self._down_until = -math.inf
        self._down = False
        self._scripts: dict[str, Any] = {}
        self._running = False

    # -- the keeper ----------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Connect (a URL's client) and renew this process's leases until the block ends."""
        if self._running:
            raise RuntimeError("this Limiter is already open (async with limiter: once)")
        self._running = True
        try:
            async with open_background_nursery() as nursery:
                if self._url is not None:
                    await nursery.start(self._connect, self._url)
                nursery.start_soon(self._renew_leases)
                yield
        finally:
            self._running = False

    async def _connect(self, url: str, *, task_status: trio.TaskStatus[None]) -> None:
        """Keep a client of ``url`` open; try again each second while the server is down."""
        started = False
        while True:
            client = self._coredis.Redis.from_url(
                url, connect_timeout=self.timeout, stream_timeout=self.timeout
            )
            try:
                async with client:
                    self._client = client
                    if not started:
                        started = True
                        task_status.started()
                    await trio.sleep_forever()
            except Exception as exc:  # the server is down: try again
                self._client = None
                self._mark_down(exc)
            if not started:
                started = True
                task_status.started()
            await trio.sleep(_DOWN_TIME)

    async def _renew_leases(self) -> None:
        while True:
            await trio.sleep(self.lease / 3)
            if not self._leases:
                continue
            try:
                lost = await self._run(RENEW, [_arg(self.lease), *self._leases])
            except Unreachable:
                continue  # already logged; the leases may expire meanwhile
            if lost:
                logger.warning(
                    "%d leases of limiter %r had expired before they were renewed (the process "
                    "was slower than lease=%s s): other processes may have taken their slots",
                    lost,
                    self.key,
                    self.lease,
                )

    # -- the steps -------------------------------------------------------------------------

    async def acquire(self, estimate: int) -> Grant:
        """Wait in the shared line for a turn and take it.

        Raises:
            Unreachable: Redis failed; this process's ticket leaves the line.
        """
        ticket, lease = uuid.uuid4().hex, uuid.uuid4().hex
        config = self._config
        args = [
            ticket,
            lease,
            str(estimate),
            _arg(self.lease),
            _arg(TICKET_TIME),
            _arg(config.max_concurrent),
            _arg(config.requests_per_minute),
            _arg(config.tokens_per_minute),
            "1" if config.learn else "0",
        ]
        try:
            while True:
                reply = await self._run(ACQUIRE, args)
                answer = _text(reply[0])
                if answer == "ok":
                    self._leases.add(lease)
                    return Grant(lease, float(_text(reply[1])), float(_text(reply[2])))
                if answer == "wait":
                    await trio.sleep(min(float(_text(reply[1])), _LONGEST_NAP))
                else:  # queued, or full until a stream ends
                    await trio.sleep(POLL_INTERVAL)
        except BaseException:
            with trio.CancelScope(shield=True):
                await self._quietly(LEAVE, [ticket])
            raise

    async def observe(self, grant: Grant, limits: RateLimits, retry_after: float | None) -> None:
        """An answer's headers (and ``Retry-After``), for every process."""
        args = [_arg(retry_after)]
        for window, taken in (
            (limits.requests, grant.requests_taken),
            (limits.tokens, grant.tokens_taken),
        ):
            if window is None:
                args += ["", "", "", repr(taken)]
            else:
                args += [_arg(window.remaining), _arg(window.reset_after), _arg(window.limit)]
                args.append(repr(taken))
        config = self._config
        args += [_arg(config.requests_per_minute), _arg(config.tokens_per_minute)]
        await self._quietly(OBSERVE, args)

    async def release(self, grant: Grant, correction: int | None) -> None:
        """The stream ended: free its slot (shielded, bounded) and correct its tokens."""
        self._leases.discard(grant.lease)
        args = [grant.lease, _arg(correction), _arg(self._config.tokens_per_minute)]
        with trio.CancelScope(shield=True):
            await self._quietly(RELEASE, args)

    # -- talking to Redis ------------------------------------------------------------------

    async def _quietly(self, script: str, args: list[str]) -> None:
        """Run a step whose failure only costs accuracy (a lease expires on its own)."""
        with suppress(Unreachable):
            await self._run(script, args)

    async def _run(self, script: str, args: list[str]) -> Any:
        if not self._running:
            raise RuntimeError(
                "a Limiter shared in Redis is used inside its block: "
                "async with Limiter(redis=..., key=...) as limiter: ..."
            )
        client = self._client
        if client is None or trio.current_time() < self._down_until:
            raise Unreachable(f"Redis for limiter {self.key!r} is unreachable")
        runner = self._scripts.get(script)
        if runner is None or runner.registered_with is not client:
            runner = self._scripts[script] = _Runner(client.register_script(script), client)
        try:
            with trio.fail_after(self.timeout):
                reply = await runner.script(keys=self._keys, args=args)
        except trio.TooSlowError as exc:
            self._mark_down(exc)
            raise Unreachable(
                f"Redis for limiter {self.key!r} did not answer within {self.timeout} s"
            ) from exc
        except (self._coredis.exceptions.RedisError, OSError) as exc:
            self._mark_down(exc)
            raise Unreachable(f"Redis for limiter {self.key!r} failed: {exc}") from exc
        if self._down:
            self._down = False
            logger.warning("Redis for limiter %r answers again", self.key)
        return reply

    def _mark_down(self, exc: BaseException) -> None:
        if not self._down:
            self._down = True
            logger.warning("Redis for limiter %r is unreachable: %r", self.key, exc)
        self._down_until = trio.current_time() + _DOWN_TIME


@dataclass(frozen=True)
class _Runner:
    script: Any
    registered_with: object


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
