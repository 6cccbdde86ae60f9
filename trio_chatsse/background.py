"""Background Responses streams: where one stands, going on with it after a restart, and the
error when it can no longer be streamed (see the Responses API page, "Background mode")."""

from __future__ import annotations

from ._background import resume_responses_stream
from ._errors import ResumeError
from ._parsers import ResponseCursor
from ._public import publish

__all__ = ["ResponseCursor", "ResumeError", "resume_responses_stream"]

publish(globals())
