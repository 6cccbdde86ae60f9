"""Layer 1: a pydantic JSON schema made valid for the servers' strict structured-output mode.

OpenAI's strict mode (Structured Outputs, "Supported schemas"; the Messages API's
``output_config.format`` follows the same subset) accepts a schema only when:

- every object says ``"additionalProperties": false`` and lists every property in
  ``required`` (a field with a default becomes required: the model writes a value; a
  ``X | None`` field stays nullable, as pydantic writes it, so the model may write ``null``);
- a ``$ref`` stands alone (pydantic puts ``description`` beside one: the definition is inlined
  with it, as openai-python's ``to_strict_json_schema`` does) and ``allOf`` of one schema is
  that schema;
- it has no ``default`` (informative only) and no ``discriminator`` / ``oneOf`` (a union is
  ``anyOf``);
- no object takes arbitrary keys (``dict[str, X]``): there is no strict form of one, so it is
  an error here, before any request, rather than a 400 from the server.

``$defs`` stay where pydantic puts them (at the root), and recursive ``$ref`` s stay references.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["schema_name", "strict_json_schema"]

_NAME_CHARACTERS = re.compile(r"[^a-zA-Z0-9_-]")


def schema_name(title: str) -> str:
    """The ``name`` a request gives its schema: the characters the APIs accept, at most 64."""
    return _NAME_CHARACTERS.sub("_", title)[:64] or "output"


def strict_json_schema(schema: Mapping[str, object]) -> dict[str, object]:
    """Return ``schema`` rewritten by the rules above (a new dict; ``schema`` is unchanged).

    Raises:
        ValueError: The schema has a part strict mode cannot express (an object with
            arbitrary keys), or its root is not an object.
    """
    root = dict(schema)
    definitions = root.get("$defs")
    defs: Mapping[str, object] = definitions if isinstance(definitions, Mapping) else {}
    strict = _strict(root, defs, "#")
    if strict.get("type") != "object":
        raise ValueError("strict structured output needs an object at the root of its schema")
    return strict


def _strict(node: Mapping[str, object], defs: Mapping[str, object], path: str) -> dict[str, object]:
    node = _resolve_ref_with_siblings(node, defs)
    out: dict[str, object] = {}
    for key, value in node.items():
        if key in ("default", "discriminator"):
            continue
        if key == "oneOf":
            key = "anyOf"
        if key in ("properties", "$defs") and isinstance(value, Mapping):
            out[key] = {
                name: _strict(sub, defs, f"{path}/{key}/{name}")
                if isinstance(sub, Mapping)
                else sub
                for name, sub in value.items()
            }
        elif key in ("anyOf", "allOf", "prefixItems") and isinstance(value, list):
            out[key] = [
                _strict(sub, defs, f"{path}/{key}/{i}") if isinstance(sub, Mapping) else sub
                for i, sub in enumerate(value)
            ]
        elif key == "items" and isinstance(value, Mapping):
            out[key] = _strict(value, defs, f"{path}/items")
        else:
            out[key] = value
    all_of = out.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        del out["allOf"]
        out = {**all_of[0], **out}
    if out.get("type") == "object" or "properties" in out:
        extra = out.get("additionalProperties")
        if isinstance(extra, Mapping) or extra is True or "patternProperties" in out:
            raise ValueError(
                f"the schema at {path} takes arbitrary keys (a dict field): strict structured "
                "output has no form of it; use a list of models, or output_strict=False"
            )
        properties = out.get("properties")
        out["additionalProperties"] = False
        out["required"] = list(properties) if isinstance(properties, Mapping) else []
        out.setdefault("properties", {})
    return out


def _resolve_ref_with_siblings(
    node: Mapping[str, object], defs: Mapping[str, object]
) -> Mapping[str, object]:
    """A ``$ref`` with other keys beside it, as the definition merged with those keys."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or len(node) == 1 or not ref.startswith("#/$defs/"):
        return node
    target = defs.get(ref.removeprefix("#/$defs/"))
    if not isinstance(target, Mapping):
        return node
    siblings = {k: v for k, v in node.items() if k != "$ref"}
    return {**target, **siblings}
