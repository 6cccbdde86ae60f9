"""Layer 1: what a response's rate-limit headers say, whatever the provider's dialect.

Pure: no trio, no I/O. :func:`read_rate_limits` turns the headers into two windows (requests
and tokens), each with what is known of its limit, what remains and how many seconds until it
resets. The dialects (their providers' docs):

- OpenAI, Groq, Together, vLLM gateways: ``x-ratelimit-limit|remaining|reset-requests`` and
  ``-tokens``; resets as durations (``1s``, ``6m0s``, ``7.66s``, ``2m59.56s``, ``20ms``).
- Anthropic: ``anthropic-ratelimit-requests|tokens|input-tokens|output-tokens-limit|
  remaining|reset``; resets as RFC 3339 times. The tokens window is the tightest of the three
  token windows.
- OpenRouter: ``X-RateLimit-Limit|Remaining|Reset`` (requests; reset in epoch milliseconds).
- Azure OpenAI: ``x-ratelimit-remaining-requests|tokens`` only (no limit, no reset).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "RESET_MARGIN",
    "SAME_WINDOW",
    "UNKNOWN_RESET",
    "RateLimits",
    "Window",
    "parse_duration",
    "read_rate_limits",
]

#: How long a window lasts when a server reports what remains but not when it resets (Azure).
UNKNOWN_RESET = 60.0
#: Seconds added to a reported reset: servers round it (``7.66s``), and a request that
#: arrives a moment early is refused.
RESET_MARGIN = 0.05
#: Two reported resets this close are the same window's (the server rounds them).
SAME_WINDOW = 0.5

_DURATION = re.compile(
    r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?"
)


@dataclass(frozen=True)
class Window:
    """One limit as a response reported it."""

    limit: float | None = None
    remaining: float | None = None
    #: Seconds from the response until the window resets (``None``: not said).
    reset_after: float | None = None


@dataclass(frozen=True)
class RateLimits:
    """The request and token windows of one response (each ``None`` when not reported)."""

    requests: Window | None = None
    tokens: Window | None = None


def parse_duration(text: str) -> float | None:
    """Seconds of an OpenAI-style duration (``6m0s``, ``7.66s``, ``1h2m``, ``20ms``), or of a
    plain number of seconds; ``None`` for anything else."""
    text = text.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    match = _DURATION.fullmatch(text)
    if match is None or not text:
        return None
    hours, minutes, seconds, millis = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def _rfc3339_after(value: str | None, now: float) -> float | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(moment.timestamp() - now, 0.0)


def _window(limit: float | None, remaining: float | None, reset: float | None) -> Window | None:
    if limit is None and remaining is None:
        return None
    return Window(limit, remaining, reset)


def read_rate_limits(headers: Mapping[str, str], *, now: float) -> RateLimits:
    """The windows ``headers`` report; ``now`` is the wall-clock time (``time.time()``), for
    the dialects whose reset is a moment rather than a duration.

    ``headers`` must look names up case-insensitively, as httpx's and httpx2's do.
    """
    requests = _openai(headers, "requests") or _anthropic(headers, "requests", now)
    tokens = _openai(headers, "tokens")
    if tokens is None:
        windows = [_anthropic(headers, kind, now) for kind in ("tokens", "input-tokens")]
        known = [w for w in windows if w is not None and w.remaining is not None]
        tokens = min(known, key=lambda w: w.remaining or 0.0) if known else None
    if requests is None:
        reset_ms = _number(headers.get("x-ratelimit-reset"))
        requests = _window(
            _number(headers.get("x-ratelimit-limit")),
            _number(headers.get("x-ratelimit-remaining")),
            None if reset_ms is None else max(reset_ms / 1000 - now, 0.0),
        )
    return RateLimits(requests, tokens)


def _openai(headers: Mapping[str, str], kind: str) -> Window | None:
    reset = headers.get(f"x-ratelimit-reset-{kind}")
    return _window(
        _number(headers.get(f"x-ratelimit-limit-{kind}")),
        _number(headers.get(f"x-ratelimit-remaining-{kind}")),
        None if reset is None else parse_duration(reset),
    )


def _anthropic(headers: Mapping[str, str], kind: str, now: float) -> Window | None:
    prefix = f"anthropic-ratelimit-{kind}"
    return _window(
        _number(headers.get(f"{prefix}-limit")),
        _number(headers.get(f"{prefix}-remaining")),
        _rfc3339_after(headers.get(f"{prefix}-reset"), now),
    )
