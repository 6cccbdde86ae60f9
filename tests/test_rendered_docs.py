"""The built HTML reference stays clean (``nox -s docs`` builds it, then runs this file).

Skipped when the docs have not been built, as in the plain test run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HTML = Path(__file__).parent.parent / "docs" / "_build" / "html"
API = HTML / "api.html"

pytestmark = pytest.mark.skipif(not API.exists(), reason="build the docs first (nox -s docs)")


@pytest.mark.parametrize(
    "leak",
    [
        "int([x])",  # a constant documented with int's docstring
        "__init__(**data",  # pydantic's constructor boilerplate
        "ValidationError][pydantic_core",  # its Markdown link, unrendered
        "classmethod __new__",
        "__init__(receive",  # ChatStream's private constructor
        "(*args, **kwargs)",
    ],
)
def test_the_reference_has_no_boilerplate(leak: str) -> None:
    assert leak not in API.read_text()


def test_the_reference_shows_type_tags_bases_and_constants() -> None:
    html = API.read_text()
    assert "response.output_text.delta" in html
    assert "Bases:" in html
    assert "1,600" in html  # the channel's size
    for module in ("sansio", "parts", "structured", "background", "batch", "telemetry"):
        assert f"trio_chatsse.{module}" in html


def test_every_page_was_built() -> None:
    pages = {p.stem for p in HTML.glob("*.html")}
    expected = {"index", "getting-started", "connect", "guide", "responses", "providers", "api"}
    assert expected | {"benchmarks", "design", "reliability", "openai"} <= pages
