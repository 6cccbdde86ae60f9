"""Typed structured output, redrawn at a fixed rate while the model writes it.

One task reads the stream; another redraws the partial output ten times a second, however
fast the deltas come, and never redraws anything older than the latest. At the end,
``final_output()`` gives the validated ``Recipe`` (or raises a typed error).
"""

from __future__ import annotations

import httpx
import trio
from pydantic import BaseModel

from trio_chatsse import open_chat_stream
from trio_chatsse.testing import Reply, open_chat_server


class Step(BaseModel):
    title: str
    minutes: int


class Recipe(BaseModel):
    name: str
    steps: list[Step]


ANSWER = Recipe(
    name="Onion soup",
    steps=[Step(title="Slice the onions", minutes=10), Step(title="Simmer", minutes=40)],
)


def draw(partial: object) -> str:
    """One line of the UI: the fields that have arrived so far."""
    if partial is None:
        return "(waiting)"
    name = getattr(partial, "name", None) or "…"
    steps = getattr(partial, "steps", None) or []
    titles = ", ".join(getattr(step, "title", None) or "…" for step in steps)
    return f"{name}: {titles}"


async def main() -> None:
    # The embedded server writes the JSON answer in 6-character deltas, 20 ms apart.
    reply = Reply(text=ANSWER.model_dump_json(), fragment_size=6, pace=0.02)
    async with open_chat_server(reply) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            messages = [{"role": "user", "content": "A soup recipe, please."}]
            async with open_chat_stream(
                http, model="any", messages=messages, output_type=Recipe
            ) as stream:
                async with trio.open_nursery() as nursery:

                    async def redraw() -> None:
                        shown = None
                        while True:
                            partial = stream.partial_output()  # reads only the new text
                            if partial != shown:
                                print("draw:", draw(partial))
                                shown = partial
                            await trio.sleep(0.1)

                    nursery.start_soon(redraw)
                    recipe = await stream.final_output()  # reads the rest, validated
                    nursery.cancel_scope.cancel()
    print("final:", draw(recipe), [step.minutes for step in recipe.steps])


if __name__ == "__main__":
    trio.run(main)
