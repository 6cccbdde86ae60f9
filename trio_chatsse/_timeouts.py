"""How long a stream may wait for the server: the idle and first-byte timeouts in one place.

``first_byte_timeout`` is one budget counted from the moment a request is sent: the HTTP layer
spends it waiting for the headers (and, for a body not labelled as an event stream, its first
bytes), and the trio shell spends the rest waiting for the first byte of the body. A
:class:`ResponseWait` follows that budget attempt by attempt and hands the shell the
:class:`FirstByteDeadline` of the attempt that got a response. ``idle_timeout`` governs every
wait after the first byte, and every wait at all when no first-byte timeout is set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NoReturn

import trio

from ._errors import FirstByteTimeoutError, IdleTimeoutError

__all__ = [
    "CLOSE_TIMEOUT",
    "FirstByteDeadline",
    "ResponseWait",
    "check_stream_args",
    "format_seconds",
    "idle_timeout_error",
]

logger = logging.getLogger(__name__)

#: Seconds that closing a body, a byte source or an error response may take on exit,
#: shielded from cancellation.
CLOSE_TIMEOUT = 5.0


def check_stream_args(
    idle_timeout: float, max_event_size: int, first_byte_timeout: float | None = None
) -> None:
    """Raise :class:`ValueError` for arguments no stream can run with."""
    if not idle_timeout > 0:
        raise ValueError(f"idle_timeout must be a positive number of seconds, not {idle_timeout!r}")
    if first_byte_timeout is not None and not first_byte_timeout > 0:
        raise ValueError(
            f"first_byte_timeout must be a positive number of seconds, not {first_byte_timeout!r}"
        )
    if max_event_size <= 0:
        raise ValueError(f"max_event_size must be positive, not {max_event_size!r}")


def format_seconds(value: float) -> str:
    """``1 second``, ``0.5 seconds``, ``300 seconds``."""
    return f"{value:g} second" if value == 1 else f"{value:g} seconds"


def idle_timeout_error(idle_timeout: float, *, what: str = "data") -> IdleTimeoutError:
    """The error of ``idle_timeout`` seconds without ``what`` from the server."""
    logger.debug("idle timeout: no %s for %s seconds", what, idle_timeout)
    return IdleTimeoutError(
        f"no {what} from the server for {format_seconds(idle_timeout)}", idle_timeout=idle_timeout
    )


@dataclass(frozen=True)
class FirstByteDeadline:
    """When the first byte of the body must have come by, under ``first_byte_timeout``."""

    #: The ``trio.current_time()`` by which it must have come.
    deadline: float
    #: The limit, in seconds, counted from when the request was sent.
    timeout: float

    @classmethod
    def starting_now(cls, timeout: float | None) -> FirstByteDeadline | None:
        """The deadline of a request sent now; ``None`` when no first-byte timeout is set."""
        return None if timeout is None else cls(trio.current_time() + timeout, timeout)

    def error(self) -> FirstByteTimeoutError:
        """The :class:`~trio_chatsse.FirstByteTimeoutError` of this deadline."""
        logger.debug("first-byte timeout: nothing for %s seconds", self.timeout)
        return FirstByteTimeoutError(
            f"no response from the server for {format_seconds(self.timeout)} (first_byte_timeout)",
            idle_timeout=self.timeout,
        )

    def expired(self) -> NoReturn:
        """Raise the :class:`~trio_chatsse.FirstByteTimeoutError` of this deadline."""
        raise self.error()


class ResponseWait:
    """How long the current attempt of a request may still wait for the server's first byte."""

    def __init__(self, idle_timeout: float, first_byte_timeout: float | None) -> None:
        self._idle_timeout = idle_timeout
        self._first_byte_timeout = first_byte_timeout
        #: The first-byte deadline of the current attempt (``None`` unless a timeout was set).
        self.first_byte: FirstByteDeadline | None = None
        self._deadline = 0.0

    def start(self) -> None:
        """A request is being sent: its wait starts now."""
        self.first_byte = FirstByteDeadline.starting_now(self._first_byte_timeout)
        timeout = self._first_byte_timeout
        self._deadline = trio.current_time() + (self._idle_timeout if timeout is None else timeout)

    def remaining(self) -> float:
        """Seconds left before the current attempt's wait expires."""
        return self._deadline - trio.current_time()

    def error(self) -> IdleTimeoutError:
        """The error of a wait that ran out: first-byte or idle timeout."""
        if self.first_byte is not None:
            return self.first_byte.error()
        return idle_timeout_error(self._idle_timeout, what="response")

    def expired(self) -> NoReturn:
        """Raise the error of a wait that ran out: first-byte or idle timeout."""
        raise self.error()
