"""The models: immutable, tagged with Responses API names, round-trip through JSON."""

from __future__ import annotations

import pydantic
import pytest

import trio_chatsse
from trio_chatsse import (
    ChatSSEError,
    Completed,
    ContextWindowExceeded,
    FunctionCall,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    HTTPStatusError,
    IdleTimeoutError,
    Message,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ProviderError,
    RateLimitError,
    Reasoning,
    ReasoningContentDelta,
    RefusalDelta,
    StreamError,
    TokenUsage,
)
from trio_chatsse._models import constructor
from trio_chatsse.parts import OutputText, ReasoningDetail, ReasoningText, Refusal
from trio_chatsse.sansio import EVENT_ADAPTER

EVENTS: list[trio_chatsse.Event] = [
    OutputItemAdded(item=Message()),
    OutputItemAdded(item=Reasoning()),
    OutputTextDelta(delta="hi"),
    RefusalDelta(delta="no"),
    ReasoningContentDelta(delta="hmm"),
    OutputItemDone(item=Message(content=[OutputText(text="hi"), Refusal(refusal="no")])),
    OutputItemDone(item=Reasoning(content=[ReasoningText(text="hmm")])),
    OutputItemDone(item=FunctionCall(call_id="c", name="f", arguments="{}")),
    OutputItemAdded(item=FunctionCall(call_id="c", name="f", arguments=""), output_index=2),
    FunctionCallArgumentsDelta(delta='{"a"', output_index=2, call_id="c"),
    FunctionCallArgumentsDone(arguments='{"a": 1}', name="f", output_index=2, call_id="c"),
    OutputItemDone(
        item=FunctionCall(
            call_id="c",
            name="f",
            arguments='{"a": 1}',
            provider_fields={"extra_content": {"google": {"thought_signature": "s=="}}},
        ),
        output_index=2,
    ),
    OutputItemDone(
        item=Reasoning(
            content=[ReasoningText(text="hmm")],
            text_field="reasoning",
            details=[
                ReasoningDetail(type="reasoning.text", text="hmm", signature="sig", index=0),
                ReasoningDetail.model_validate(
                    {"type": "reasoning.encrypted", "data": "x", "k": 1}
                ),
            ],
        ),
        output_index=0,
    ),
    OutputItemDone(
        item=Message(content=[OutputText(text="hi")], provider_fields={"extra_content": {"g": 1}}),
        output_index=1,
    ),
    Completed(
        response_id="r",
        token_usage=TokenUsage(input_tokens=1, total_tokens=1),
        finish_reason="stop",
    ),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: str(e.type))
def test_round_trip(event: trio_chatsse.Event) -> None:
    assert type(event).model_validate(event.model_dump()) == event
    assert EVENT_ADAPTER.validate_json(event.model_dump_json()) == event


def test_type_tags_follow_the_responses_api() -> None:
    assert [e.type for e in EVENTS] == [
        "response.output_item.added",
        "response.output_item.added",
        "response.output_text.delta",
        "response.refusal.delta",
        "response.reasoning_text.delta",
        "response.output_item.done",
        "response.output_item.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [
        Message().type,
        Reasoning().type,
        FunctionCall(call_id="", name="", arguments="").type,
    ] == [
        "message",
        "reasoning",
        "function_call",
    ]


def test_models_are_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        OutputTextDelta(delta="a").delta = "b"  # type: ignore[misc]  # frozen: the point


def test_base_error_is_abstract_and_every_error_derives_from_it() -> None:
    with pytest.raises(TypeError, match="abstract"):
        ChatSSEError("x")
    for kind in (
        HTTPStatusError,
        RateLimitError,
        ContextWindowExceeded,
        ProviderError,
        StreamError,
        IdleTimeoutError,
    ):
        assert issubclass(kind, ChatSSEError)


def test_error_bodies_are_quoted_bounded() -> None:
    error = HTTPStatusError("HTTP 500", status_code=500, body="x" * 10_000)
    assert len(error.body) < 2100


def test_public_names_are_all_exported() -> None:
    for name in trio_chatsse.__all__:
        assert hasattr(trio_chatsse, name), name
    assert not [n for n in trio_chatsse.__all__ if n.startswith("_") and n != "__version__"]


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (trio_chatsse.OutputTextDelta, {"delta": "x"}),
        (trio_chatsse.OutputTextDelta, {"delta": "x", "output_index": 2}),
        (
            trio_chatsse.FunctionCallArgumentsDelta,
            {"delta": "{", "output_index": 0, "call_id": "c"},
        ),
    ],
)
def test_the_hot_path_constructor_builds_what_the_class_builds(
    model: type[pydantic.BaseModel], fields: dict[str, object]
) -> None:
    built = constructor(model)(fields)
    expected = model(**fields)
    assert type(built) is model
    assert built == expected
    assert built.model_fields_set == expected.model_fields_set
    assert built.model_dump_json() == expected.model_dump_json()
    with pytest.raises(pydantic.ValidationError):
        constructor(model)({**fields, "delta": 1})  # validated all the same
