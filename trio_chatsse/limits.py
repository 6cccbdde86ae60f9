"""Rate limits shared by streams, in one process or, through Redis, in many (see the pages
"Many streams" and "Many processes, many machines")."""

from __future__ import annotations

from ._errors import LimiterUnavailableError
from ._limiter import Limiter, Permit
from ._public import publish

__all__ = ["Limiter", "LimiterUnavailableError", "Permit"]

publish(globals())
