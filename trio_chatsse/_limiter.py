"""A rate limiter shared by many streams: streams in flight, requests and tokens per minute,
and what the server's rate-limit headers and ``Retry-After`` say.

Each request attempt waits for its turn (first come, first served) in :meth:`Limiter.acquire`
and holds a :class:`Permit` until its stream ends. A permit takes a slot, one request and the
request's estimated tokens; the usage that comes back corrects the estimate. Every response's
headers teach the limiter what the server has left (``_ratelimits.py`` reads them), and a 429 or
503 with ``Retry-After`` holds every stream that shares it until then, instead of each one
retrying into the limit on its own.

A limiter given ``redis=`` keeps the same state in Redis (``_shared_limits.py``), so that every
process naming the same ``key`` shares it: the head of each process's own line asks Redis for
the turn, and the answers' headers teach every process at once.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Self, final

import trio

from ._errors import LimiterUnavailableError
from ._ratelimits import (
    RESET_MARGIN,
    SAME_WINDOW,
    UNKNOWN_RESET,
    Window,
    read_rate_limits,
)

if TYPE_CHECKING:
    from ._shared_limits import Grant, SharedLimits

__all__ = ["PROMPT_FIELDS", "Limiter", "Permit", "estimate_tokens"]

logger = logging.getLogger(__name__)

#: The body fields that hold the prompt, per API; their JSON is what the tokens are counted in.
PROMPT_FIELDS = ("messages", "input", "instructions", "system", "tools")
_OUTPUT_LIMITS = ("max_completion_tokens", "max_tokens", "max_output_tokens")


def estimate_tokens(body: Mapping[str, object], prompt_json_length: int) -> int:
    """The tokens a request may use, before it is sent: its prompt at four characters of JSON
    a token (OpenAI's rule of thumb for English), plus its output limit times ``n``."""
    output = next((v for k in _OUTPUT_LIMITS if type(v := body.get(k)) is int), 0)
    choices = body.get("n")
    return math.ceil(prompt_json_length / 4) + output * (choices if type(choices) is int else 1)


class _Budget:
    """One per-minute budget (requests or tokens): a bucket that refills at the configured
    rate, and what the server last said remains of its own window."""

    def __init__(self, per_minute: float | None) -> None:
        if per_minute is not None and not per_minute > 0:
            raise ValueError(f"a per-minute limit must be positive, not {per_minute!r}")
        self.per_minute = per_minute
        self.level = per_minute or 0.0
        self.refilled_at: float | None = None
        self.server_remaining: float | None = None
        self.server_reset_at = 0.0
        self.server_limit: float | None = None
        #: Whether :attr:`server_reset_at` is a guess (the window reset, no answer since).
        self.reset_guessed = False
        #: Amounts taken so far, to discount those a response's headers could not count yet.
        self.taken = 0.0

    def refill(self, now: float) -> None:
        if self.per_minute is not None and self.refilled_at is not None:
            elapsed = now - self.refilled_at
            self.level = min(self.per_minute, self.level + elapsed * self.per_minute / 60)
        self.refilled_at = now
        if self.server_remaining is not None and now >= self.server_reset_at:
            # The server's window has reset: all of its limit, when it said one, until the
            # next answer says more.
            self.server_remaining = self.server_limit
            self.server_reset_at = now + UNKNOWN_RESET
            self.reset_guessed = True

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` may be taken (0: now)."""
        wait = 0.0
        if self.per_minute is not None:
            need = min(amount, self.per_minute)  # more than a minute's worth: a full bucket
            if self.level < need:
                wait = (need - self.level) * 60 / self.per_minute
        if self.server_remaining is not None and self.server_remaining < max(amount, 1):
            wait = max(wait, self.server_reset_at - now)
        return wait

    def take(self, amount: float) -> None:
        self.level -= amount
        self.taken += amount
        if self.server_remaining is not None:
            self.server_remaining -= amount

    def learn(self, window: Window | None, taken_before: float, now: float) -> None:
        """What a response's headers say; ``taken_before`` is :attr:`taken` just after its
        request started (what was taken since, the server may not have counted yet)."""
        if window is None or window.remaining is None:
            return
        remaining = max(window.remaining - (self.taken - taken_before), 0.0)
        reset = window.reset_after if window.reset_after is not None else UNKNOWN_RESET
        reset_at = now + reset + RESET_MARGIN
        self.server_limit = window.limit
        same_window = not self.reset_guessed and reset_at <= self.server_reset_at + SAME_WINDOW
        if self.server_remaining is not None and same_window:
            # Answers come back in any order: within one window, the least said remains.
            self.server_remaining = min(self.server_remaining, remaining)
        else:
            self.server_remaining, self.server_reset_at = remaining, reset_at
            self.reset_guessed = False


@final
class Permit:
    """One request's turn: held from its start until its stream ends."""

    __slots__ = ("estimate", "grant", "requests_taken", "tokens_taken", "waited")

    def __init__(
        self,
        estimate: int,
        requests_taken: float,
        tokens_taken: float,
        grant: Grant | None = None,
    ) -> None:
        self.estimate = estimate
        self.requests_taken = requests_taken
        self.tokens_taken = tokens_taken
        #: The turn's lease in Redis (``None``: taken in this process).
        self.grant = grant
        #: Seconds this request waited for its turn.
        self.waited = 0.0


class _Waiter:
    __slots__ = ("tokens", "wake")

    def __init__(self, tokens: int) -> None:
        self.tokens = tokens
        self.wake = trio.Event()


@final
class Limiter:
    """Rate limits shared by every stream given it (``limiter=`` of each ``open_*`` entry).

    Pass the same one to every stream that shares the provider's limits, within one
    ``trio.run`` (it keeps time by trio's clock). Streams wait for their turn in order of
    arrival; a waiting stream that is cancelled leaves the queue and holds nothing.

    Given ``redis=`` and ``key=``, the state lives in Redis (or Valkey), shared by every
    limiter of any process or machine that names the same ``key`` there: streams in flight,
    both budgets, what the last answers' headers said, a ``Retry-After`` pause. Such a limiter
    is used inside its block, ``async with Limiter(redis=..., key=...) as limiter:``, which
    connects and keeps this process's slots leased; the "Many processes, many machines" page
    says how it behaves. It needs the ``redis`` extra (``coredis``).

    Args:
        max_concurrent: Streams in flight at once (``None``: no cap).
        requests_per_minute: Requests started per minute (``None``: no cap of its own).
        tokens_per_minute: Tokens per minute, each request counted by
            its estimate when it starts (the prompt's JSON at four characters a token, plus its
            output limit times ``n``) and corrected by the usage it reports.
        learn: Follow the server's rate-limit headers (what remains until when) and
            ``Retry-After``, beside the limits above. Until the first answer has come (and
            with it what the server has left), one request is in flight at a time.
        redis: Keep the state in Redis: a URL (``redis://host:6379/0``, ``rediss://...``,
            ``unix:///path/redis.sock``) or a ``coredis`` client you run yourself.
        key: The name of the shared state: limiters with the same Redis and ``key`` share it.
            Every one of them should give the same limits.
        lease: Seconds a slot in flight stays held in Redis unless renewed (this process
            renews it every third of that while the limiter is open): a process killed
            while streaming frees its slots within this time.
        redis_timeout: Seconds any one step in Redis may take before Redis counts as
            unreachable.
        when_unreachable: What a stream does when Redis is unreachable: ``"raise"`` a
            :class:`~trio_chatsse.limits.LimiterUnavailableError` before sending (the
            default: the limits hold or nothing is sent), or ``"local"``: go on under this
            process's own limiter, with a warning, until Redis answers again.

    Attributes:
        waited: Seconds all the streams waited, in total.
        started: Requests started.
    """

    def __init__(
        self,
        *,
        max_concurrent: int | None = None,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        learn: bool = True,
        redis: object | None = None,
        key: str | None = None,
        lease: float = 10.0,
        redis_timeout: float = 1.0,
        when_unreachable: Literal["raise", "local"] = "raise",
    ) -> None:
        if max_concurrent is not None and max_concurrent < 1:
            raise ValueError(f"max_concurrent must be 1 or more, not {max_concurrent!r}")
        self.max_concurrent = max_concurrent
        self.learn = learn
        self._requests = _Budget(requests_per_minute)
        self._tokens = _Budget(tokens_per_minute)
        self._queue: deque[_Waiter] = deque()
        self._in_flight = 0
        self._paused_until = 0.0
        self._heard_from_server = not learn
        self.waited = 0.0
        self.started = 0
        self._shared = _shared_limits(
            redis,
            key,
            (max_concurrent, requests_per_minute, tokens_per_minute, learn),
            lease=lease,
            timeout=redis_timeout,
            when=when_unreachable,
        )
        self.when_unreachable = when_unreachable
        self._block: AbstractAsyncContextManager[None] | None = None

    async def __aenter__(self) -> Self:
        """Open the limiter: for one shared in Redis, connect and keep its leases."""
        if self._shared is not None:
            block = self._shared.running()
            await block.__aenter__()
            self._block = block
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        block, self._block = self._block, None
        if block is not None:
            await block.__aexit__(exc_type, exc, traceback)  # noqa: ASYNC102  # its nursery's end

    @property
    def shared(self) -> bool:
        """Whether the state lives in Redis."""
        return self._shared is not None

    @property
    def in_flight(self) -> int:
        """Requests of this process holding a permit now."""
        return self._in_flight

    @property
    def queued(self) -> int:
        """Requests of this process waiting for their turn now."""
        return len(self._queue)

    async def acquire(self, estimate: int) -> Permit:
        """Wait for this request's turn and take it (a slot, a request, ``estimate`` tokens).

        Raises:
            LimiterUnavailableError: The state is in Redis, which is unreachable, and
                ``when_unreachable="raise"``.
        """
        start = trio.current_time()
        waiter = _Waiter(estimate)
        self._queue.append(waiter)
        try:
            while self._queue[0] is not waiter:
                await waiter.wake.wait()
                waiter.wake = trio.Event()
            permit = await self._take_turn(waiter)
        except BaseException:
            was_first = self._queue[0] is waiter
            self._queue.remove(waiter)
            if was_first:
                self._wake_first()
            raise
        self._queue.popleft()
        self._in_flight += 1
        self.started += 1
        permit.waited = trio.current_time() - start
        self.waited += permit.waited
        self._wake_first()
        return permit

    async def _take_turn(self, waiter: _Waiter) -> Permit:
        """The first in this process's line: its turn, from Redis or from this process."""
        if self._shared is not None:
            from ._shared_limits import Unreachable

            try:
                grant = await self._shared.acquire(waiter.tokens)
            except Unreachable as exc:
                if self.when_unreachable == "raise":
                    raise LimiterUnavailableError(
                        f"{exc}; nothing was sent (when_unreachable='local' would go on "
                        "under this process's own limits)"
                    ) from exc
            else:
                return Permit(waiter.tokens, grant.requests_taken, grant.tokens_taken, grant)
        while (wait := self._wait_for(waiter)) > 0:
            with trio.move_on_after(wait):
                await waiter.wake.wait()
            waiter.wake = trio.Event()
        self._requests.take(1)
        self._tokens.take(waiter.tokens)
        return Permit(waiter.tokens, self._requests.taken, self._tokens.taken)

    async def settle(self, permit: Permit, used_tokens: int | None) -> None:
        """:meth:`release`, for a permit of either kind (one from Redis is given back there,
        shielded and bounded in time)."""
        grant = permit.grant
        if grant is None or self._shared is None:
            self.release(permit, used_tokens)
            return
        self._in_flight -= 1
        correction = None if used_tokens is None else used_tokens - permit.estimate
        await self._shared.release(grant, correction)
        self._wake_first()

    async def hear(
        self, permit: Permit, headers: Mapping[str, str], retry_after: float | None
    ) -> None:
        """:meth:`observe`, for a permit of either kind (one from Redis tells every process)."""
        grant = permit.grant
        if grant is None or self._shared is None:
            self.observe(permit, headers, retry_after)
        elif self.learn:
            await self._shared.observe(
                grant, read_rate_limits(headers, now=time.time()), retry_after
            )

    def release(self, permit: Permit, used_tokens: int | None) -> None:
        """The request's stream ended: its slot is free, and its tokens are what it used
        (``None``: as estimated). For a permit taken in this process; :meth:`settle` takes
        either kind."""
        if permit.grant is not None:
            raise TypeError("a permit taken in Redis is given back with await limiter.settle()")
        self._in_flight -= 1
        if used_tokens is not None:
            correction = used_tokens - permit.estimate
            self._tokens.level -= correction
            self._tokens.taken += correction
        self._wake_first()

    def observe(
        self, permit: Permit, headers: Mapping[str, str], retry_after: float | None
    ) -> None:
        """A response's headers (and, for a 429 or 503, its ``Retry-After`` in seconds). For
        a permit taken in this process; :meth:`hear` takes either kind."""
        if permit.grant is not None:
            raise TypeError("a permit taken in Redis reports with await limiter.hear()")
        if not self.learn:
            return
        self._heard_from_server = True
        now = trio.current_time()
        if retry_after is not None and retry_after > 0:
            until = now + retry_after
            if until > self._paused_until:
                logger.debug("rate limited: every stream of the limiter waits %.2f s", retry_after)
                self._paused_until = until
        limits = read_rate_limits(headers, now=time.time())
        self._requests.learn(limits.requests, permit.requests_taken, now)
        self._tokens.learn(limits.tokens, permit.tokens_taken, now)
        self._wake_first()

    def _wait_for(self, waiter: _Waiter) -> float:
        cap = self.max_concurrent if self._heard_from_server else 1
        if cap is not None and self._in_flight >= cap:
            return math.inf  # until a release or an answer wakes it
        now = trio.current_time()
        self._requests.refill(now)
        self._tokens.refill(now)
        return max(
            self._paused_until - now,
            self._requests.wait_for(1, now),
            self._tokens.wait_for(waiter.tokens, now),
            0.0,
        )

    def _wake_first(self) -> None:
        if self._queue:
            self._queue[0].wake.set()


def _shared_limits(
    redis: object | None,
    key: str | None,
    limits: tuple[int | None, float | None, float | None, bool],
    *,
    lease: float,
    timeout: float,
    when: str,
) -> SharedLimits | None:
    """The Redis side of ``limiter``, checked before anything is sent (``None``: none)."""
    if when not in ("raise", "local"):
        raise ValueError(f'when_unreachable is "raise" or "local", not {when!r}')
    for name, value in (("lease", lease), ("redis_timeout", timeout)):
        if not (isinstance(value, int | float) and 0 < value < math.inf):
            raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    if redis is None:
        if key is not None:
            raise ValueError("key= names a state in Redis: give redis= too")
        return None
    if not (isinstance(key, str) and key):
        raise ValueError("a Limiter shared in Redis needs key=, the name every sharer gives")
    from ._shared_limits import Config, SharedLimits

    return SharedLimits(redis, key, Config(*limits), lease=lease, timeout=timeout)
