"""The parts of the items: a message's text and refusal, reasoning text and summaries,
OpenRouter's reasoning details, token log probabilities."""

from __future__ import annotations

from ._models import (
    OutputText,
    ReasoningDetail,
    ReasoningText,
    Refusal,
    SummaryText,
    TokenLogprob,
    TopLogprob,
)
from ._public import publish

__all__ = [
    "OutputText",
    "ReasoningDetail",
    "ReasoningText",
    "Refusal",
    "SummaryText",
    "TokenLogprob",
    "TopLogprob",
]

publish(globals())
