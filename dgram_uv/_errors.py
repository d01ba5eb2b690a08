"""Every error dgram_uv raises or emits, built from one table.

All of them are :class:`DgramError` with a string ``.code``.  Argument
errors are also ``TypeError`` or ``ValueError``; errors from the OS or the
resolver are also ``OSError`` and carry ``errno``, ``syscall`` and, where
there is one, ``address`` and ``port``; their ``str()`` reads like Node's
(``bind EADDRINUSE 127.0.0.1:41234``; with port 0, ``bind EADDRNOTAVAIL 1.1.1.1``).
"""

from __future__ import annotations

import errno as _errno

import pyuv  # type: ignore[import-untyped,unused-ignore]


class DgramError(Exception):
    """Base of every error the package raises or emits."""

    code: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class DgramTypeError(DgramError, TypeError):
    """An argument of the wrong type, or a missing one."""


class DgramValueError(DgramError, ValueError):
    """An argument of the right type but out of range."""


class DgramStateError(DgramError):
    """A call the socket's state does not allow (closed, already bound, ...)."""


class DgramOSError(DgramError, OSError):
    """A failure reported by the OS or the resolver, seen through libuv."""

    syscall: str
    address: str | None
    port: int | None

    def __init__(
        self,
        status: int,
        syscall: str,
        address: str | None = None,
        port: int | None = None,
    ) -> None:
        code = uv_error_name(status)
        # Port 0 is "any port" (a bind that let the OS choose): Node leaves it
        # out of the text and of ``err.port`` (``bind EADDRNOTAVAIL 1.1.1.1``).
        if not port:
            port = None
        where = ""
        if address is not None:
            where = f" {address}:{port}" if port is not None else f" {address}"
        message = f"{syscall} {code}{where}"
        OSError.__init__(self, _os_errno(status), message)
        self.args = (message,)
        self.code = code
        self.syscall = syscall
        self.address = address
        self.port = port
        self.uv_status = status

    def __str__(self) -> str:
        return str(self.args[0])


# Misuse errors: code -> (class, message template).  The template's fields
# are filled by keyword from the call site, so every message is written once.
_MISUSE: dict[str, tuple[type[DgramError], str]] = {
    "ERR_INVALID_ARG_TYPE": (DgramTypeError, 'The "{name}" argument must be {expected}. '
                                             "Received {received}"),
    "ERR_MISSING_ARGS": (DgramTypeError, 'The "{name}" argument must be specified'),
    "ERR_SOCKET_BAD_TYPE": (DgramTypeError,
                            "Bad socket type specified. Valid types are: udp4, udp6"),
    "ERR_SOCKET_BAD_PORT": (DgramValueError,
                            "{name} should be >= {low} and < 65536. Received {received}"),
    "ERR_BUFFER_OUT_OF_BOUNDS": (DgramValueError, '"{name}" is outside of buffer bounds'),
    "ERR_SOCKET_BAD_BUFFER_SIZE": (DgramValueError,
                                   "Buffer size must be a positive integer. Received {received}"),
    "ERR_OUT_OF_RANGE": (DgramValueError,
                         'The value of "{name}" is out of range. It must be {range}. '
                         "Received {received}"),
    "ERR_INVALID_ARG_VALUE": (DgramValueError,
                              'The argument "{name}" {reason}. Received {received}'),
    "ERR_SOCKET_ALREADY_BOUND": (DgramStateError, "Socket is already bound"),
    "ERR_SOCKET_DGRAM_NOT_RUNNING": (DgramStateError, "Not running"),
    "ERR_SOCKET_DGRAM_IS_CONNECTED": (DgramStateError, "Already connected"),
    "ERR_SOCKET_DGRAM_NOT_CONNECTED": (DgramStateError, "Not connected"),
    # A send to an address the socket's sendBlockList blocks: neither a bad
    # argument nor a bad state, so the base class (Node's is a plain Error).
    "ERR_IP_BLOCKED": (DgramError, "IP({address}) is blocked by net.BlockList"),
}


def misuse(code: str, **fields: object) -> DgramError:
    """Build the argument or state error ``code`` from the table above."""
    cls, template = _MISUSE[code]
    return cls(code, template.format(**fields))


def describe(value: object) -> str:
    """How a received value is shown in an argument error message."""
    if value is None:
        return "None"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"type {type(value).__name__} ({text})"


# libuv's status codes (negative) -> their names, without the UV_ prefix.
_UV_NAMES = {status: name.removeprefix("UV_") for status, name in pyuv.errno.errorcode.items()}
# Node reports these resolver failures as ENOTFOUND; so do we.
_RESOLVER_NOT_FOUND = {"EAI_NONAME", "EAI_NODATA"}


def uv_error_name(status: int) -> str:
    """The errno-style name of a libuv status (``-98`` -> ``'EADDRINUSE'``)."""
    name = _UV_NAMES.get(status) or _errno.errorcode.get(-status) or f"UNKNOWN({status})"
    return "ENOTFOUND" if name in _RESOLVER_NOT_FOUND else name


def _os_errno(status: int) -> int:
    """The errno for ``OSError.errno``: the system's positive errno where the
    libuv status is one (libuv uses ``-errno`` on Unix); resolver failures
    have none, so they keep libuv's own (negative) code."""
    return -status if -status in _errno.errorcode else status


def uv_status_of(exc: BaseException) -> int:
    """The libuv status carried by a pyuv exception (``args[0]``)."""
    return int(exc.args[0]) if exc.args and isinstance(exc.args[0], int) else -_errno.EINVAL


_UV_EAI_FAIL = pyuv.errno.UV_EAI_FAIL


def lookup_error(outcome: object, syscall: str, host: str, port: int | None) -> DgramError:
    """The error of a failed lookup: ours from a libuv status, or a custom
    lookup's own error (wrapped when it is not a DgramError)."""
    if isinstance(outcome, DgramError):
        return outcome
    if isinstance(outcome, BaseException):
        number = getattr(outcome, "errno", None)
        status = -number if isinstance(number, int) and number > 0 else _UV_EAI_FAIL
        err = DgramOSError(status, syscall, host, port)
        err.__cause__ = outcome
        return err
    return DgramOSError(int(outcome), syscall, host, port)  # type: ignore[call-overload]
