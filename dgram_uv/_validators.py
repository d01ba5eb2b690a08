"""Argument validation and normalisation.

Each validator names the argument it checks, raises the coded error from
_errors.py when it is bad, and returns the normalised value.  ``send``'s two
call forms (luvit's and Node 0.8's) are told apart in exactly one place,
:func:`normalize_send`.
"""

from __future__ import annotations

import math
import socket
from collections.abc import Callable
from typing import Any

from ._errors import describe, misuse

Payload = bytes
Callback = Callable[..., Any] | None

SOCKET_TYPES = {"udp4": socket.AF_INET, "udp6": socket.AF_INET6}

# Options createSocket() takes in a dict type, and whether each is a flag.
_SOCKET_FLAGS = ("reuseAddr", "reusePort", "ipv6Only")
_SOCKET_SIZES = ("recvBufferSize", "sendBufferSize")

# bind() options, with luvit's lower-case (luv) spellings mapped to Node's.
_BIND_FLAG_NAMES = {
    "reuseAddr": "reuseAddr", "reuseaddr": "reuseAddr",
    "reusePort": "reusePort", "reuseport": "reusePort",
    "ipv6Only": "ipv6Only", "ipv6only": "ipv6Only",
}


class _Missing:
    """The default of a required parameter, so that leaving it out gives
    ERR_MISSING_ARGS (API.md) rather than Python's own binding TypeError."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def require(value: object, name: str) -> None:
    """Raise ERR_MISSING_ARGS when the required argument ``name`` was left out."""
    if value is MISSING:
        raise misuse("ERR_MISSING_ARGS", name=name)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(value: object, name: str) -> int:
    if not _is_int(value):
        raise misuse("ERR_INVALID_ARG_TYPE", name=name, expected="of type int",
                     received=describe(value))
    return value  # type: ignore[return-value]


def check_flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise misuse("ERR_INVALID_ARG_TYPE", name=name, expected="of type bool",
                     received=describe(value))
    return value


def check_port(value: object, name: str = "port", *, allow_zero: bool) -> int:
    """A port: 0-65535 for bind, 1-65535 for send and connect."""
    low = 0 if allow_zero else 1
    if type(value) is int and low <= value <= 65535:  # the common case, first
        return value
    if value is None:
        if allow_zero:
            return 0
        raise misuse("ERR_SOCKET_BAD_PORT", name=name.capitalize(), low=low, received="None")
    check_int(value, name)
    raise misuse("ERR_SOCKET_BAD_PORT", name=name.capitalize(), low=low, received=value)


def check_host(value: object, name: str = "address") -> str | None:
    """A host: an IP literal or a name to resolve; None means the default."""
    if value is None:
        return None
    if type(value) is str and value and "\x00" not in value:  # the common case, first
        return value
    if not isinstance(value, str):
        raise misuse("ERR_INVALID_ARG_TYPE", name=name, expected="of type str",
                     received=describe(value))
    if not value or "\x00" in value:
        raise misuse("ERR_INVALID_ARG_VALUE", name=name, reason="must be a host name or address",
                     received=repr(value))
    return value


def check_callback(value: object, name: str = "callback") -> Callback:
    if value is not None and not callable(value):
        raise misuse("ERR_INVALID_ARG_TYPE", name=name, expected="callable or None",
                     received=describe(value))
    return value  # type: ignore[return-value]


def check_buffer_size(value: object, name: str) -> int:
    check_int(value, name)
    if value <= 0 or value > 2**31 - 1:  # type: ignore[operator]
        raise misuse("ERR_SOCKET_BAD_BUFFER_SIZE", received=value)
    return value  # type: ignore[return-value]


def check_ttl(value: object, name: str = "ttl") -> int:
    """A TTL must be an int; its range is the OS's to judge (EINVAL), as in Node."""
    return check_int(value, name)


def check_msecs(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise misuse("ERR_INVALID_ARG_TYPE", name="msecs", expected="of type int or float",
                     received=describe(value))
    if not math.isfinite(value) or value < 0:
        raise misuse("ERR_OUT_OF_RANGE", name="msecs", range=">= 0 and finite",
                     received=value)
    return float(value)


def check_membership_op(value: object) -> str:
    if value not in ("join", "leave"):
        if not isinstance(value, str):
            raise misuse("ERR_INVALID_ARG_TYPE", name="op", expected="'join' or 'leave'",
                         received=describe(value))
        raise misuse("ERR_INVALID_ARG_VALUE", name="op", reason="must be 'join' or 'leave'",
                     received=repr(value))
    return value  # type: ignore[return-value]


def socket_type(value: object) -> tuple[int, dict[str, Any]]:
    """createSocket's type: 'udp4', 'udp6' or a dict with 'type' and options.

    Returns the address family and the validated options (Node's names).
    """
    options: dict[str, Any] = {}
    kind = value
    if isinstance(value, dict):
        kind = value.get("type")
        for key in _SOCKET_FLAGS:
            if value.get(key) is not None:
                options[key] = check_flag(value[key], key)
        for key in _SOCKET_SIZES:
            if value.get(key) is not None:
                options[key] = check_buffer_size(value[key], key)
    if not isinstance(kind, str) or kind not in SOCKET_TYPES:
        raise misuse("ERR_SOCKET_BAD_TYPE")
    return SOCKET_TYPES[kind], options


def bind_options(value: object, defaults: dict[str, Any]) -> dict[str, bool]:
    """bind()'s options dict, over the socket's own: Node's or luvit's keys."""
    flags = {key: bool(defaults.get(key, False)) for key in _SOCKET_FLAGS}
    if value is None:
        return flags
    if not isinstance(value, dict):
        raise misuse("ERR_INVALID_ARG_TYPE", name="options", expected="a dict or None",
                     received=describe(value))
    for key, flag in value.items():
        name = _BIND_FLAG_NAMES.get(key)
        if name is not None and flag is not None:
            flags[name] = check_flag(flag, key)
    return flags


def payload(data: object, name: str = "msg") -> Payload:
    """The datagram: bytes-like, str (UTF-8) or a list/tuple of them,
    gathered into one bytes object, copied at call time."""
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, list | tuple):
        return b"".join(payload(part, name) for part in data)
    try:
        return bytes(memoryview(data))  # type: ignore[arg-type]
    except TypeError:
        raise misuse("ERR_INVALID_ARG_TYPE", name=name,
                     expected="bytes-like, str, or a list or tuple of them",
                     received=describe(data)) from None


def _slice(data: object, offset: object, length: object) -> Payload:
    """Node 0.8's (buf, offset, length) form: ``length`` bytes from ``offset``."""
    if isinstance(data, str | list | tuple):
        raise misuse("ERR_INVALID_ARG_TYPE", name="buffer", expected="bytes-like with offset",
                     received=describe(data))
    buf = payload(data, "buffer")
    check_int(offset, "offset")
    check_int(length, "length")
    if not 0 <= offset <= len(buf):  # type: ignore[operator]
        raise misuse("ERR_BUFFER_OUT_OF_BOUNDS", name="offset")
    if not 0 <= length <= len(buf) - offset:  # type: ignore[operator]
        raise misuse("ERR_BUFFER_OUT_OF_BOUNDS", name="length")
    return buf[offset:offset + length]  # type: ignore[operator,misc]


_SEND_KEYWORDS = ("port", "host", "callback")


def _fold_keywords(args: tuple[Any, ...], keywords: dict[str, Any]) -> tuple[Any, ...]:
    """send(..., port=, host=, callback=) as the positional luvit call it
    stands for; a keyword that repeats a positional argument is refused."""
    unknown = set(keywords) - set(_SEND_KEYWORDS)
    if unknown:
        raise misuse("ERR_INVALID_ARG_TYPE", name=sorted(unknown)[0],
                     expected="not given (unknown keyword)", received="a value")
    # How many positional arguments may precede each keyword in luvit's form.
    given = len(args) - (1 if args and callable(args[-1]) else 0)
    for key, room in (("port", 0), ("host", 1)):
        if key in keywords and given > room:
            raise misuse("ERR_INVALID_ARG_TYPE", name=key, expected="given once",
                         received="both a positional and a keyword value")
    if "callback" in keywords and given < len(args):
        raise misuse("ERR_INVALID_ARG_TYPE", name="callback", expected="given once",
                     received="both a positional and a keyword value")
    return args + tuple(keywords[key] for key in _SEND_KEYWORDS if key in keywords)


def normalize_send(data: object, args: tuple[Any, ...],
                   keywords: dict[str, Any]) -> tuple[Payload, Any, Any, Any]:
    """Tell send()'s two forms apart and return ``(payload, port, host, callback)``.

    * luvit: ``send(data, port, host=None, callback=None)``
    * Node 0.8: ``send(buf, offset, length, port, host=None, callback=None)``

    Node 0.8's form is recognised when three or more positional arguments
    follow the data, not counting a trailing callback (a callable, or None).
    So ``send(buf, 9, 123)`` is port 9 with a bad host, as in Node.  Port,
    host and callback are returned unvalidated (the socket's state decides
    what they may be).  This runs for every datagram sent: keep it lean.
    """
    if keywords:
        args = _fold_keywords(args, keywords)
    count = len(args)
    callback = None
    if count:
        last = args[-1]
        if last is None or callable(last):
            callback = last
            count -= 1
    if count < 3:
        if type(data) is not bytes:
            data = payload(data)
        return data, args[0] if count else None, args[1] if count == 2 else None, callback
    if count > 4:
        raise misuse("ERR_INVALID_ARG_TYPE", name="address", expected="of type str",
                     received=describe(args[4]))
    return _slice(data, args[0], args[1]), args[2], args[3] if count == 4 else None, callback
