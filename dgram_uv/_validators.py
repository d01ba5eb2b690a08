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

from ._blocklist import BlockList
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
    ERR_MISSING_ARGS (docs/api.md) rather than Python's own binding TypeError."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def require(value: object, name: str) -> None:
    """Raise ERR_MISSING_ARGS when the required argument ``name`` was left out."""
    if value is MISSING:
        raise misuse("ERR_MISSING_ARGS", name=name)


def check_int(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise misuse("ERR_INVALID_ARG_TYPE", name=name, expected="of type int",
                     received=describe(value))
    return value


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


# Hosts check_host() has passed (and None), so that the per-datagram call is
# one dict lookup; emptied when it grows large.  Only what is valid whatever
# the caller is kept: '' depends on ``empty_is_default`` and is never cached.
_HOSTS: dict[object, str | None] = {None: None}


def check_host(value: object, name: str = "address", *,
               empty_is_default: bool = True) -> str | None:
    """A host: an IP literal (a scoped IPv6 one too) or a name to resolve;
    None means the default address.

    ``''`` also means the default, as in Node (``send(msg, port, '')``,
    ``bind(port, '')`` and ``connect(port, '')`` all take their default host);
    pass ``empty_is_default=False`` where an empty string is simply bad (an
    interface address).  A str that cannot be encoded (a lone surrogate) or
    holds a NUL is ERR_INVALID_ARG_VALUE, since no resolver could take it.
    A str subclass comes back as a plain str.
    """
    try:
        return _HOSTS[value]  # send() runs this per datagram: the common case first
    except Exception:  # KeyError; TypeError (unhashable) or what an odd __hash__
        pass  # raises: so not a str, and the checks below say what it is
    if not isinstance(value, str):
        raise misuse("ERR_INVALID_ARG_TYPE", name=name, expected="of type str",
                     received=describe(value))
    if not value:
        if empty_is_default:
            return None
        raise misuse("ERR_INVALID_ARG_VALUE", name=name, reason="must not be empty",
                     received="''")
    if "\x00" in value:
        raise misuse("ERR_INVALID_ARG_VALUE", name=name,
                     reason="must be a host name or address", received=describe(value))
    if not value.isascii():
        _utf8(value, name)  # a lone surrogate: refused with the argument's name
    host = str(value)
    if len(_HOSTS) >= 4096:
        _HOSTS.clear()
        _HOSTS[None] = None
    _HOSTS[host] = host
    return host


def check_callback(value: object, name: str = "callback") -> Callback:
    if value is None:
        return None
    if not callable(value):
        raise misuse("ERR_INVALID_ARG_TYPE", name=name, expected="callable or None",
                     received=describe(value))
    return value


def check_buffer_size(value: object, name: str) -> int:
    size = check_int(value, name)
    if size <= 0 or size > 2**31 - 1:
        raise misuse("ERR_SOCKET_BAD_BUFFER_SIZE", received=size)
    return size


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
    if not isinstance(value, str):
        raise misuse("ERR_INVALID_ARG_TYPE", name="op", expected="'join' or 'leave'",
                     received=describe(value))
    if value not in ("join", "leave"):
        raise misuse("ERR_INVALID_ARG_VALUE", name="op", reason="must be 'join' or 'leave'",
                     received=repr(value))
    return str(value)


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
        if value.get("lookup") is not None:
            options["lookup"] = check_callable(value["lookup"], "lookup")
        for key in ("receiveBlockList", "sendBlockList"):
            if value.get(key) is not None:
                options[key] = check_blocklist(value[key], key)
    if not isinstance(kind, str) or kind not in SOCKET_TYPES:
        raise misuse("ERR_SOCKET_BAD_TYPE")
    return SOCKET_TYPES[kind], options


def check_fd(value: object, name: str = "fd") -> int:
    """A descriptor to adopt: an int >= 0."""
    check_int(value, name)
    if value < 0:  # type: ignore[operator]
        raise misuse("ERR_OUT_OF_RANGE", name=name, range=">= 0", received=value)
    return value  # type: ignore[return-value]


def bind_arguments(port: object, host: object, options: object,
                   callback: object) -> tuple[int, str | None, Any, Callback, int | None]:
    """Tell bind()'s forms apart; returns ``(port, host, options, callback, fd)``.

    * luvit's ``bind(port, host=None, options=None, callback=None)``, where a
      callable in the ``host`` or ``options`` place is the callback;
    * Node's ``bind(callback)`` and ``bind(port, callback)``;
    * Node's ``bind({'port', 'address', 'exclusive', 'fd'}, callback)``.
    """
    fd = None
    if callable(port) and host is None and options is None and callback is None:
        port, callback = 0, port  # Node's bind(callback)
    elif isinstance(port, dict):
        given = port
        if callback is None and callable(host):
            callback = host
        elif callback is None and host is not None:
            callback = host  # refused below, with its name
        host, options = given.get("address"), None
        port = given.get("port", 0)
        if given.get("fd") is not None:
            fd = check_fd(given["fd"])
            if given.get("port") is not None or given.get("address") is not None:
                raise misuse("ERR_INVALID_ARG_VALUE", name="options",
                             reason="takes either fd or port and address",
                             received=describe(given))
    if callable(host):
        host, options, callback = None, None, host
    elif callable(options):
        options, callback = None, options
    return (check_port(port, allow_zero=True), check_host(host), options,
            check_callback(callback), fd)


def check_callable(value: object, name: str) -> Callable[..., Any]:
    if not callable(value):
        raise misuse("ERR_INVALID_ARG_TYPE", name=name, expected="callable",
                     received=describe(value))
    return value


def check_blocklist(value: object, name: str) -> BlockList:
    if not isinstance(value, BlockList):
        raise misuse("ERR_INVALID_ARG_TYPE", name=name, expected="a dgram_uv.BlockList",
                     received=describe(value))
    return value


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


# -- the datagram ------------------------------------------------------------

_CHUNK_TYPES = "bytes-like or str"
_PAYLOAD_TYPES = "bytes-like, str, or a flat list or tuple of them"


def _utf8(text: str, name: str) -> bytes:
    """``text`` as UTF-8.  A lone surrogate cannot be encoded: that is a bad
    value of the argument, not a UnicodeEncodeError escaping from send()."""
    try:
        return str.encode(text)  # str's own method, whatever a subclass defines
    except UnicodeEncodeError as exc:
        raise misuse("ERR_INVALID_ARG_VALUE", name=name,
                     reason="must be encodable as UTF-8",
                     received=f"a lone surrogate at index {exc.start}") from None


def _bytes_like(data: object, name: str, expected: str) -> bytes:
    """A copy of what a buffer-protocol object holds (taken now, so later
    changes to it do not reach the datagram)."""
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise misuse("ERR_INVALID_ARG_TYPE", name=name, expected=expected,
                     received=describe(data)) from None
    except (ValueError, BufferError):
        # A released memoryview (ValueError), or an exporter that refuses
        # to give its buffer now: the right type, unusable as it stands.
        raise misuse("ERR_INVALID_ARG_VALUE", name=name,
                     reason="must be a buffer that can be read",
                     received=describe(data)) from None
    with view:  # released at once, so a bytearray can be resized again
        return bytes(view)


def _chunk(part: object, name: str) -> bytes:
    """One element of a list or tuple of chunks: bytes-like or str, not
    another list (Node takes an array of buffers and strings, flat)."""
    if type(part) is bytes:
        return part
    if isinstance(part, str):
        return _utf8(part, name)
    if isinstance(part, list | tuple):
        raise misuse("ERR_INVALID_ARG_TYPE", name=name, expected=_CHUNK_TYPES,
                     received=f"type {type(part).__name__} (lists do not nest)")
    return _bytes_like(part, name, _CHUNK_TYPES)


def payload(data: object, name: str = "msg") -> Payload:
    """The datagram: bytes-like, str (UTF-8) or a list/tuple of them,
    gathered into one bytes object, copied at call time.

    The list is flat, as Node's array of buffers is: an element that is
    itself a list or tuple is ERR_INVALID_ARG_TYPE naming it (``msg[2]``).
    So a list that contains itself is refused at its first level, never
    walked into a RecursionError.  Text that UTF-8 cannot encode and a
    released memoryview are ERR_INVALID_ARG_VALUE.
    """
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        return _utf8(data, name)
    if isinstance(data, list | tuple):
        return b"".join([_chunk(part, f"{name}[{index}]") for index, part in enumerate(data)])
    return _bytes_like(data, name, _PAYLOAD_TYPES)


def _slice(data: object, offset: object, length: object) -> Payload:
    """Node's (buf, offset, length) form: ``length`` bytes from ``offset``.

    ``buf`` is bytes-like or, as in Node v20, a str, whose offset and length
    count bytes of its UTF-8 encoding.  A list is refused: Node slices one
    buffer, never an array of them.
    """
    if isinstance(data, list | tuple):
        raise misuse("ERR_INVALID_ARG_TYPE", name="buffer",
                     expected="bytes-like or str with offset and length",
                     received=describe(data))
    if type(data) is bytes:
        buf = data
    elif isinstance(data, str):
        buf = _utf8(data, "buffer")
    else:
        buf = _bytes_like(data, "buffer", "bytes-like or str with offset and length")
    start = check_int(offset, "offset")
    size = check_int(length, "length")
    if not 0 <= start <= len(buf):
        raise misuse("ERR_BUFFER_OUT_OF_BOUNDS", name="offset")
    if not 0 <= size <= len(buf) - start:
        raise misuse("ERR_BUFFER_OUT_OF_BOUNDS", name="length")
    return buf[start:start + size]


# -- send()'s call forms -----------------------------------------------------

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


def normalize_send(data: object, args: tuple[Any, ...], keywords: dict[str, Any],
                   connected: bool = False) -> tuple[Payload, Any, Any, Any]:
    """Tell send()'s forms apart and return ``(payload, port, host, callback)``.

    Counting the positional arguments after ``data``, not a trailing callback
    (a callable, or None):

    * not connected: fewer than three is luvit's ``send(data, port, host=None)``;
      three or four is Node's ``send(buf, offset, length, port, host=None)``.
      So ``send(buf, 9, 123)`` is port 9 with a bad host, as in Node.
    * ``connected``: none is ``send(data)``; two or more whose second is an
      int is Node's ``send(buf, offset, length)``; a port or host after those (or a lone
      port) comes back as given, for the socket to refuse with
      ERR_SOCKET_DGRAM_IS_CONNECTED, as Node does.

    Port, host and callback are returned unvalidated (the socket's state
    decides what they may be).  This runs for every datagram sent: keep it lean.
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
    # luvit's form, the common case, first; ``not connected`` is decided
    # before ``count < 2`` since a connected send rarely comes with a port.
    if count < 3 and (not connected or count < 2 or type(args[1]) is not int):
        if type(data) is not bytes:
            data = payload(data)
        return data, args[0] if count else None, args[1] if count == 2 else None, callback
    if count > 4:
        raise misuse("ERR_INVALID_ARG_TYPE", name="address", expected="of type str",
                     received=describe(args[4]))
    return (_slice(data, args[0], args[1]), args[2] if count > 2 else None,
            args[3] if count == 4 else None, callback)
