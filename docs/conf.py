"""Sphinx configuration: Google docstrings via napoleon, autodoc, nitpicky, -W in nox."""

from __future__ import annotations

import trio_chatsse

project = "trio_chatsse"
author = "trio_chatsse developers"
copyright = "2026, trio_chatsse developers"
release = trio_chatsse.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_class_signature = "separated"
nitpicky = True
# The machines this project builds on reach no documentation sites, so intersphinx
# inventories cannot be fetched: names of other projects are left unlinked instead.
nitpick_ignore_regex = [
    (
        "py:.*",
        r"(trio|httpx|httpx2|pydantic|h11|typing|collections|contextlib|enum|argparse|opentelemetry)\..*",
    ),
    (
        "py:.*",
        r"(Event|Item|ToolCallsOnStop|ReasoningPolicy|ReplySource|_AnyEvent|Mapping|Sequence|Callable|HTTPResponse|HTTPClient|JsonValue)",
    ),
    ("py:.*", r"(AsyncIterable|AsyncIterator|AsyncGenerator|Literal|TextIO|Protocol)"),
    ("py:.*", r"(AbstractAsyncContextManager|NoReturn)"),
    (
        "py:.*",
        r"(datetime|NoneType|pydantic_core\..*|annotated_types\..*|FieldInfo|ComputedFieldInfo)",
    ),
    ("py:.*", r"trio_chatsse\._.*"),
    ("py:.*", r"(types\.Annotated|Field|.*=.*)"),
]
html_theme = "furo"
html_title = "trio_chatsse"
exclude_patterns = ["_build"]
