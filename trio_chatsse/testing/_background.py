"""Background Responses in the embedded server: the events of each background response are
kept, served again from any point (``GET /v1/responses/{id}?stream=true&starting_after=N``),
and a cancel is recorded (``POST /v1/responses/{id}/cancel``), as OpenAI's background mode does.
Pure: the server sends what this module decides."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from ._responses import stream_events
from ._script import Script

__all__ = ["BackgroundResponses"]


class BackgroundResponses:
    """The background responses a server has made, by id."""

    def __init__(self) -> None:
        self._events: dict[str, list[bytes]] = {}
        #: The ids of the responses cancelled, in order.
        self.cancelled: list[str] = []
        #: The ``starting_after`` of each resume asked for, in order (``None``: from the start).
        self.resumes: list[int | None] = []

    def remember(self, script: Script, response_id: str, request: Mapping[str, object]) -> None:
        """Keep the events of a background response, as they would stream with no fault."""
        if request.get("background") is not True:
            return
        clean = dataclasses.replace(
            script,
            disconnect_after=None,
            disconnect_mid_event=False,
            stall=0.0,
            error=None,
            drip=False,
            write_size=None,
        )
        self._events[response_id] = stream_events(clean, response_id, request)

    def route(self, method: str, target: str) -> tuple[int, object, list[bytes] | None] | None:
        """The answer to a background route: ``(status, JSON body, None)`` or ``(200, None,
        events to stream)``; ``None`` when ``target`` is not one."""
        url = urlsplit(target)
        parts = url.path.strip("/").split("/")
        if len(parts) < 3 or parts[:2] != ["v1", "responses"]:
            return None
        response_id = parts[2]
        if method == "POST" and parts[3:] == ["cancel"]:
            self.cancelled.append(response_id)
            return 200, {"id": response_id, "object": "response", "status": "cancelled"}, None
        if method != "GET" or len(parts) != 3:
            return None
        events = self._events.get(response_id)
        if events is None:
            message = f"Response with id '{response_id}' not found."
            return 404, {"error": {"message": message, "type": "invalid_request_error"}}, None
        query = parse_qs(url.query)
        after = query.get("starting_after", [None])[0]
        starting_after = int(after) if after is not None and after.lstrip("-").isdigit() else None
        self.resumes.append(starting_after)
        if starting_after is None:
            return 200, None, events
        return 200, None, [e for e in events if _sequence_number(e) > starting_after]


def _sequence_number(event: bytes) -> int:
    payload = json.loads(event.split(b"data: ", 1)[1])
    number = payload.get("sequence_number") if isinstance(payload, dict) else None
    return number if isinstance(number, int) else -1
