"""A nursery for background tasks whose body's exception comes out as itself.

Used by the trio shell (the reader task) and by the embedded test server (its listener), so
neither imports the other.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import trio

__all__ = ["open_background_nursery"]


@asynccontextmanager
async def open_background_nursery() -> AsyncGenerator[trio.Nursery, None]:
    """A nursery for background tasks that is cancelled when the block exits.

    Unlike a bare nursery, an exception raised by the block (``Cancelled`` included) comes
    out as itself, not inside an ``ExceptionGroup``: the background tasks here record their
    errors instead of raising them.
    """
    body_error: BaseException | None = None
    async with trio.open_nursery() as nursery:
        try:
            yield nursery
        except BaseException as exc:  # noqa: ASYNC103  # re-raised below, after the nursery
            # Raised again below, outside the nursery, so that the caller gets their own
            # exception (or Cancelled) as itself rather than inside an ExceptionGroup.
            body_error = exc
        finally:
            nursery.cancel_scope.cancel()
    if body_error is not None:
        raise body_error
