"""Sphinx configuration: Google docstrings via napoleon, autodoc, nitpicky, -W in nox."""

from __future__ import annotations

import trio_chatsse

project = "trio_chatsse"
author = "trio_chatsse developers"
copyright = "2026, trio_chatsse developers"
release = trio_chatsse.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinxcontrib.autodoc_pydantic"]
autodoc_pydantic_model_show_json = False
autodoc_pydantic_model_show_config_summary = False
autodoc_pydantic_model_show_validator_summary = False
autodoc_pydantic_model_show_validator_members = False
autodoc_pydantic_model_show_field_summary = False
autodoc_pydantic_model_undoc_members = True
autodoc_pydantic_model_hide_paramlist = True
autodoc_pydantic_model_signature_prefix = "class"
autodoc_pydantic_field_list_validators = False
autodoc_pydantic_field_show_constraints = False
autodoc_pydantic_field_signature_prefix = ""
autodoc_pydantic_model_member_order = "bysource"
autodoc_pydantic_field_doc_policy = "docstring"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# "mixed": a class's signature is its constructor's, shown once; no separate __init__ entry.
autodoc_class_signature = "mixed"
# Types are shown for the documented parameters only: an async context manager's return
# annotation (an AsyncGenerator) would mislead.
autodoc_typehints_description_target = "documented"
nitpicky = True
# The machines this project builds on reach no documentation sites, so intersphinx
# inventories cannot be fetched: names of other projects are left unlinked instead.
nitpick_ignore_regex = [
    (
        "py:.*",
        r"(trio|httpx|httpx2|pydantic|h11|typing|collections|contextlib|enum|argparse|opentelemetry|pathlib)\..*",
    ),
    (
        "py:.*",
        r"(Event|Item|ToolCallsOnStop|ReasoningPolicy|ReplySource|_AnyEvent|Mapping|Sequence|Callable|HTTPResponse|HTTPClient|AsyncClient|StreamKwargs|Unpack|JsonValue|OutputT|BaseModel)",
    ),
    ("py:.*", r"(AsyncIterable|AsyncIterator|AsyncGenerator|Literal|TextIO|Protocol)"),
    ("py:.*", r"(AbstractAsyncContextManager|NoReturn|trace\..*|metrics\..*)"),
    (
        "py:.*",
        r"(datetime|NoneType|pydantic_core\..*|annotated_types\..*|FieldInfo|ComputedFieldInfo)",
    ),
    ("py:.*", r"trio_chatsse\.(testing\.)?_.*"),
    ("py:.*", r"(types\.Annotated|Field|.*=.*)"),
]
html_theme = "furo"
html_static_path = ["_static"]
html_css_files = ["layout.css"]
html_title = "trio_chatsse"
exclude_patterns = ["_build"]
