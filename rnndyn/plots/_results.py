"""Recognising the results the plots draw, by their fields.

The drawing layer does not import the analyses that make its inputs, so a
result is recognised by the fields a plot reads (any object with them is
drawn), and anything else is refused with one :class:`ArgumentTypeError` that
names the argument, the expected result and where it comes from.
"""

from __future__ import annotations

from rnndyn._validate import _describe
from rnndyn.errors import ArgumentTypeError


def has_fields(obj, fields) -> bool:
    """Whether ``obj`` has every attribute in ``fields`` (and is not a type)."""
    return not isinstance(obj, type) and all(hasattr(obj, f) for f in fields)


def require(obj, fields, argname: str, what: str, source: str = ""):
    """``obj`` if it has ``fields``; else an ArgumentTypeError ``"argname: expected a what (from source), got …"``."""
    if not has_fields(obj, fields):
        origin = f" (from {source})" if source else ""
        raise ArgumentTypeError(f"{argname}: expected a {what}{origin}, got {_describe(obj)}")
    return obj
