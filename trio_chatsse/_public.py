"""Public errors print as what you import: ``trio_chatsse.ProviderError``, not the private
module that defines it (trio does the same for its exports)."""

from __future__ import annotations

from typing import Any

__all__ = ["publish"]


def publish(namespace: dict[str, Any]) -> None:
    """Set the ``__module__`` of each exception class in ``namespace["__all__"]`` to the public
    module's name, so that tracebacks, reprs and pickles name the public path.

    Other classes keep theirs: Sphinx reads their attributes' docs from that module's source,
    and pydantic resolves a model's annotations there.
    """
    module = namespace["__name__"]
    for name in namespace["__all__"]:
        value = namespace[name]
        if (
            isinstance(value, type)
            and issubclass(value, BaseException)
            and value.__module__.startswith("trio_chatsse._")
            and value.__name__ == name
        ):
            value.__module__ = module
