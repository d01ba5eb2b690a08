"""snake_case aliases for the camelCase API (``recvStart`` -> ``recv_start``)."""

from __future__ import annotations

import re
from typing import TypeVar

T = TypeVar("T", bound=type)

_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    """``setMulticastTTL`` -> ``set_multicast_ttl``; ``recvStart`` -> ``recv_start``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)  # TTLFoo -> TTL_Foo
    return _HUMP.sub(r"_\1", name).lower()


def with_snake_case_aliases(cls: T) -> T:
    """Class decorator: bind a snake_case name to every public camelCase
    function defined in the class body, so both names are the same function."""
    for name, value in list(vars(cls).items()):
        if name.startswith("_") or not callable(value):
            continue
        alias = snake_case(name)
        if alias != name and alias not in vars(cls):
            setattr(cls, alias, value)
    return cls
