"""Structured output beyond ``output_type=``: the schema sent, the partial form, the errors of
a final output (see the guide's "Structured output")."""

from __future__ import annotations

from ._errors import OutputRefusedError, OutputValidationError
from ._public import publish
from ._schema import strict_json_schema
from ._structured import partial_model

__all__ = ["OutputRefusedError", "OutputValidationError", "partial_model", "strict_json_schema"]

publish(globals())
