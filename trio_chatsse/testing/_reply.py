"""The public :class:`Reply`: a script, and the methods that write it in each wire form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

from . import _chat, _gemini, _messages, _ollama, _responses
from ._script import Script

__all__ = ["Reply"]


@final
@dataclass(frozen=True)
class Reply(Script):
    """One scripted response of the :class:`ChatServer`, and the faults to inject into it.

    The streamed form looks like OpenAI's: a role-only first chunk, reasoning fragments,
    text fragments, tool-call fragments (id and name only in the first fragment of each),
    a finish chunk, a usage chunk with ``"choices": []``, then ``data: [DONE]``. Each SSE
    event is written to the socket in one write, as providers flush them.
    """

    def chunks(
        self, response_id: str = "chatcmpl-test", *, logprobs: int | None = None
    ) -> list[dict[str, object]]:
        """The ``chat.completion.chunk`` objects of the streamed form.

        Args:
            response_id: The completion's id.
            logprobs: Give each text and refusal fragment a ``logprobs`` entry (one token per
                fragment) with this many ``top_logprobs`` (the server does when the request
                sets ``logprobs: true``, with its ``top_logprobs``).
        """
        return _chat.chunks(self, response_id, logprobs=logprobs)

    def completion(self, response_id: str = "chatcmpl-test") -> dict[str, object]:
        """The non-streamed ``chat.completion`` object of the same answer."""
        return _chat.completion(self, response_id)

    def response_events(
        self,
        response_id: str = "resp_test",
        *,
        encrypted: bool = False,
        logprobs: int | None = None,
    ) -> list[dict[str, object]]:
        """The events of the Responses API form, as OpenAI streams them: created,
        in_progress, each item (reasoning as a summary, the message, the function calls) added,
        streamed and done, then ``response.completed`` (``incomplete`` for a ``length`` or
        ``content_filter`` finish, ``failed`` for ``error``), each with a ``sequence_number``.

        Args:
            response_id: The response's id.
            encrypted: Give the reasoning item an ``encrypted_content`` (the server does when
                the request's ``include`` asks for ``reasoning.encrypted_content``).
            logprobs: Give each text delta its token (one per fragment) and the done text
                part all of them, with this many ``top_logprobs`` (the server does when the
                request's ``include`` asks for ``message.output_text.logprobs``).
        """
        return _responses.response_events(self, response_id, encrypted=encrypted, logprobs=logprobs)

    def response(
        self, response_id: str = "resp_test", *, encrypted: bool = False
    ) -> dict[str, object]:
        """The non-streamed Responses API ``response`` object of the same answer."""
        return _responses.response_object(self, response_id, encrypted=encrypted)

    def message_events(self, message_id: str = "msg_test") -> list[dict[str, object]]:
        """The events of the Anthropic Messages API form, as Anthropic streams them:
        ``message_start``, a ``ping``, each content block (thinking with its signature, text,
        each tool use) started, streamed and stopped, ``message_delta`` and ``message_stop``."""
        return _messages.message_events(self, message_id)

    def message(self, message_id: str = "msg_test") -> dict[str, object]:
        """The non-streamed Messages API ``message`` object of the same answer."""
        return _messages.message_object(self, message_id)

    def ollama_lines(self) -> list[dict[str, object]]:
        """The lines of Ollama's native ``/api/chat`` form, as Ollama streams them: a line per
        piece of thinking and of text, the tool calls whole in one line, then the last line with
        ``done: true``, ``done_reason`` and the counts."""
        return _ollama.chat_lines(self)

    def ollama_answer(self) -> dict[str, object]:
        """The non-streamed Ollama ``/api/chat`` answer of the same reply."""
        return _ollama.chat_object(self)

    def gemini_events(self) -> list[dict[str, object]]:
        """The events of Gemini's native ``streamGenerateContent`` form, as Gemini streams
        them: thought pieces, text pieces, the calls in one event (the signature on the first),
        then the ``finishReason`` with the counts (no calls: an empty text part closes, with the
        signature)."""
        return _gemini.gemini_events(self)
