"""A rate limit the test server can enforce: a fixed window of requests, announced in OpenAI's
``x-ratelimit-*-requests`` headers on every answer, and a 429 with ``Retry-After`` beyond it.
Pure: the server passes the time in."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["RateLimitWindow"]


@dataclass
class RateLimitWindow:
    """Allow ``requests`` requests per window of ``seconds``, counting down in the headers.

    The first request opens a window; requests beyond the count until it ends get HTTP 429
    with ``Retry-After`` (whole seconds until the reset, as OpenAI rounds it up).
    """

    requests: int
    seconds: float = 60.0
    #: When each admitted request arrived (the server's clock).
    admitted_at: list[float] = field(default_factory=list)
    #: How many requests got a 429.
    refused: int = 0
    _opened_at: float | None = field(default=None, repr=False)
    _count: int = field(default=0, repr=False)

    def admit(self, now: float) -> tuple[bool, list[tuple[str, str]]]:
        """Whether a request arriving at ``now`` is let through, and the headers to send."""
        if self._opened_at is None or now >= self._opened_at + self.seconds:
            self._opened_at, self._count = now, 0
        reset = self._opened_at + self.seconds - now
        admitted = self._count < self.requests
        if admitted:
            self._count += 1
            self.admitted_at.append(now)
        else:
            self.refused += 1
        headers = [
            ("x-ratelimit-limit-requests", str(self.requests)),
            ("x-ratelimit-remaining-requests", str(self.requests - self._count)),
            ("x-ratelimit-reset-requests", f"{math.ceil(reset * 1000) / 1000:.3f}s"),
        ]
        if not admitted:
            headers.append(("retry-after", str(math.ceil(reset))))
        return admitted, headers
