"""The failures a new user does not see coming: a 200 that is not an answer, a misspelt
keyword, an error whose traceback reads like trio's insides. Each is a clear, typed error."""

from __future__ import annotations

import traceback
from typing import Any

import pytest

from trio_chatsse import ProviderError, StreamError
from trio_chatsse._openers import OPENERS
from trio_chatsse.testing import ChatServer, Reply

from .helpers import HTTPClient

APIS = ("chat", "responses", "messages")


def request(api: str) -> dict[str, Any]:
    if api == "responses":
        return {"input": "hi"}
    extra = {"max_tokens": 10} if api == "messages" else {}
    return {"messages": [{"role": "user", "content": "hi"}], **extra}


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    "body", [b'{"detail": "Not authenticated"}', b'{"oops": 1}', b"[]", b"Not authenticated"]
)
async def test_a_200_that_is_not_an_answer_is_an_error_quoting_it(
    api: str, body: bytes, chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(Reply(raw_body=body, content_type="application/json"))
    with pytest.raises(StreamError) as info:
        async with OPENERS[api](http, model="m", max_retries=0, **request(api)):
            pass  # pragma: no cover
    message = str(info.value)
    assert body.decode()[:12] in message
    assert "not an answer" in message or "neither an event stream nor an answer" in message


@pytest.mark.parametrize("api", APIS)
async def test_a_whole_answer_and_an_error_object_still_read(
    api: str, chat_server: ChatServer, http: HTTPClient
) -> None:
    chat_server.push(Reply(text="whole", content_type="application/json"))
    async with OPENERS[api](http, model="m", stream=False, **request(api)) as stream:
        await stream.final()
    assert stream.text == "whole"
    error = {"error": {"message": "quota", "type": "server_error"}}
    import json

    chat_server.push(Reply(raw_body=json.dumps(error).encode(), content_type="application/json"))
    with pytest.raises(ProviderError, match="quota"):
        async with OPENERS[api](http, model="m", max_retries=0, **request(api)) as stream:
            await stream.final()


async def test_a_stream_errors_traceback_shows_no_trio_internals(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    error = {"message": "the model crashed", "type": "invalid_request_error"}
    chat_server.push(Reply(text="half an answer", error=error, error_after=3))
    with pytest.raises(ProviderError) as info:
        async with OPENERS["chat"](http, model="m", max_retries=0, **request("chat")) as stream:
            await stream.final()
    assert info.value.__context__ is None
    assert info.value.__cause__ is None
    printed = "".join(traceback.format_exception(info.value))
    assert "EndOfChannel" not in printed
    assert "trio_chatsse.ProviderError: the model crashed" in printed


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("idle_timout", "idle_timeout"),
        ("max_retry", "max_retries"),
        ("temprature", "temperature"),
        ("stream_tool_argument", "stream_tool_arguments"),
    ],
)
async def test_a_misspelt_keyword_is_a_type_error_naming_the_one_meant(
    api: str, typo: str, meant: str, chat_server: ChatServer, http: HTTPClient
) -> None:
    with pytest.raises(TypeError, match=f"{typo!r}: did you mean {meant!r}"):
        async with OPENERS[api](http, model="m", **{typo: 1}, **request(api)):
            pass  # pragma: no cover
    assert chat_server.requests == []


@pytest.mark.parametrize(
    ("api", "typo", "meant"),
    [
        ("chat", "max_token", "max_tokens"),
        ("responses", "max_output_token", "max_output_tokens"),
        ("messages", "stop_sequence", "stop_sequences"),
    ],
)
async def test_a_misspelt_field_of_the_api_is_caught_too(
    api: str, typo: str, meant: str, http: HTTPClient
) -> None:
    with pytest.raises(TypeError, match=f"did you mean {meant!r}"):
        async with OPENERS[api](http, model="m", **{typo: 10}, **request(api)):
            pass  # pragma: no cover


@pytest.mark.parametrize("api", APIS)
async def test_fields_of_other_servers_and_extra_body_pass_as_they_are(
    api: str, chat_server: ChatServer, http: HTTPClient
) -> None:
    fields = {"cache_prompt": True, "top_k": 40, "chat_template_kwargs": {"x": 1}}
    async with OPENERS[api](
        http, model="m", extra_body={"temprature": 0}, **fields, **request(api)
    ) as stream:
        await stream.final()
    sent = chat_server.requests[0]
    assert {key: sent[key] for key in fields} == fields
    assert sent["temprature"] == 0  # extra_body sends anything


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("idle_timeout", "30", "idle_timeout must be a number of seconds, not str"),
        ("first_byte_timeout", "5", "first_byte_timeout must be a number of seconds"),
        ("max_retries", 2.5, "max_retries must be a whole number, not float"),
        ("max_event_size", "1MB", "max_event_size must be a number of bytes"),
        ("headers", [("a", "b")], "headers must be a mapping"),
    ],
)
async def test_an_option_of_the_wrong_type_is_a_type_error_naming_it(
    option: str, value: object, says: str, chat_server: ChatServer, http: HTTPClient
) -> None:
    with pytest.raises(TypeError, match=says):
        async with OPENERS["chat"](http, model="m", **{option: value}, **request("chat")):
            pass  # pragma: no cover
    assert chat_server.requests == []


async def test_a_system_message_goes_to_the_messages_apis_system(
    chat_server: ChatServer, http: HTTPClient
) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    async with OPENERS["messages"](http, model="m", max_tokens=10, messages=messages) as stream:
        await stream.final()
    sent = chat_server.requests[0]
    assert sent["system"] == "Be brief."
    assert sent["messages"] == [{"role": "user", "content": "hi"}]
    with pytest.raises(TypeError, match="not both"):
        async with OPENERS["messages"](
            http, model="m", max_tokens=10, messages=messages, system="Other."
        ):
            pass  # pragma: no cover
    assert len(chat_server.requests) == 1


async def test_a_client_without_base_url_is_a_clear_error_before_any_request(
    http_library: str,
) -> None:
    from .helpers import new_client

    async with new_client(http_library) as http:
        with pytest.raises(ValueError, match="no base_url"):
            async with OPENERS["chat"](http, model="m", **request("chat")):
                pass  # pragma: no cover


async def test_a_refused_connection_says_which_host_and_port(http_library: str) -> None:
    from .helpers import new_client

    async with new_client(http_library, base_url="http://127.0.0.1:9/v1") as http:
        with pytest.raises(StreamError, match=r"could not connect to the server at 127\.0\.0\.1:9"):
            async with OPENERS["chat"](http, model="m", max_retries=0, **request("chat")):
                pass  # pragma: no cover


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"choices": ["a"]}, "choices must be Reply objects"),
        ({"tool_calls": [{"name": "f"}]}, "tool_calls must be ScriptedToolCall objects"),
        ({"text": 42}, "text must be a string"),
    ],
)
def test_a_scripted_reply_is_checked_when_made(fields: dict[str, Any], says: str) -> None:
    with pytest.raises(TypeError, match=says):
        Reply(**fields)


@pytest.mark.parametrize("api", APIS)
async def test_after_an_error_mid_answer_the_text_given_stays_readable(
    api: str, chat_server: ChatServer, http: HTTPClient
) -> None:
    from trio_chatsse import Message, OutputTextDelta

    error = {"message": "the model crashed", "type": "invalid_request_error"}
    chat_server.push(Reply(text="Hello there, this is half", error=error, error_after=6))
    given: list[str] = []
    with pytest.raises(ProviderError):
        async with OPENERS[api](http, model="m", max_retries=0, **request(api)) as stream:
            async for event in stream:
                if isinstance(event, OutputTextDelta):
                    given.append(event.delta)
    assert given  # some text came before the error
    assert stream.text == "".join(given)
    last = stream.output[-1]
    assert isinstance(last, Message)
    assert last.content[0].text == "".join(given)  # type: ignore[union-attr]  # an OutputText
    with pytest.raises(RuntimeError, match="whole answer"):
        stream.assistant_message()  # a partial turn is never passed off as the model's


def test_a_tokens_logprob_is_always_a_float() -> None:
    import math

    from trio_chatsse._wire import token_logprobs
    from trio_chatsse.parts import TokenLogprob

    read = token_logprobs([{"token": "a", "logprob": -0.5}, {"token": "b", "logprob": None}])
    assert read is not None
    assert read[0].logprob == -0.5
    assert isinstance(read[1].logprob, float)
    assert math.isnan(read[1].logprob)
    # A logged line reads back (NaN is written as null).
    line = read[1].model_dump_json()
    assert math.isnan(TokenLogprob.model_validate_json(line).logprob)


@pytest.mark.parametrize(
    ("api", "typo", "meant"),
    [
        ("ollama", "idle_timout", "idle_timeout"),
        ("ollama", "keep_alve", "keep_alive"),
        ("gemini", "max_retry", "max_retries"),
        ("gemini", "safety_setting", "safety_settings"),
    ],
)
async def test_the_native_openers_name_the_option_meant_too(
    api: str, typo: str, meant: str, chat_server: ChatServer, http: HTTPClient
) -> None:
    fields: dict[str, Any] = (
        {"contents": []} if api == "gemini" else {"messages": [{"role": "user", "content": "x"}]}
    )
    with pytest.raises(TypeError, match=f"{typo!r}: did you mean {meant!r}"):
        async with OPENERS[api](http, model="m", **{typo: 1}, **fields):
            pass  # pragma: no cover
    assert chat_server.requests == []
