"""The socket's state machine, all of it: states, moves, and the error an
illegal move raises.

Two independent axes, as in Node's lib/dgram.js:

* binding: UNBOUND -> BINDING -> BOUND, back to UNBOUND when a bind fails,
  and CLOSED from anywhere (final);
* connection: DISCONNECTED -> CONNECTING -> CONNECTED, back to
  DISCONNECTED on ``disconnect()`` or a failed connect.

A move that is not in a table raises the coded error listed for it.
"""

from __future__ import annotations

from enum import Enum

from ._errors import DgramError, misuse


class BindState(Enum):
    UNBOUND = "unbound"
    BINDING = "binding"  # waiting for a host name to resolve
    BOUND = "bound"
    CLOSED = "closed"


class ConnectState(Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"


U, B, OK, X = BindState.UNBOUND, BindState.BINDING, BindState.BOUND, BindState.CLOSED

# (state, event) -> next state.
BIND_MOVES: dict[tuple[BindState, str], BindState] = {
    (U, "bind"): B,
    (U, "bound"): OK,  # an IP literal binds at once, with no BINDING step
    (B, "bound"): OK,
    (B, "bind_failed"): U,
    (U, "close"): X,
    (B, "close"): X,
    (OK, "close"): X,
}

# (state, event) -> the error code of the refusal, for moves that are misuse.
BIND_REFUSALS: dict[tuple[BindState, str], str] = {
    (B, "bind"): "ERR_SOCKET_ALREADY_BOUND",
    (OK, "bind"): "ERR_SOCKET_ALREADY_BOUND",
}

D, C, CC = ConnectState.DISCONNECTED, ConnectState.CONNECTING, ConnectState.CONNECTED

CONNECT_MOVES: dict[tuple[ConnectState, str], ConnectState] = {
    (D, "connect"): C,
    (C, "connected"): CC,
    (C, "connect_failed"): D,
    (CC, "disconnect"): D,
}

CONNECT_REFUSALS: dict[tuple[ConnectState, str], str] = {
    (C, "connect"): "ERR_SOCKET_DGRAM_IS_CONNECTED",
    (CC, "connect"): "ERR_SOCKET_DGRAM_IS_CONNECTED",
    (D, "disconnect"): "ERR_SOCKET_DGRAM_NOT_CONNECTED",
    (C, "disconnect"): "ERR_SOCKET_DGRAM_NOT_CONNECTED",
}


def _refusal(code: str | None, what: str) -> DgramError:
    if code is None:  # not misuse: a bug in the socket itself
        raise AssertionError(f"no move for {what}")
    return misuse(code)


def next_bind_state(state: BindState, event: str) -> BindState:
    """The state after ``event``; raises the coded error for an illegal move."""
    if state is X:
        raise misuse("ERR_SOCKET_DGRAM_NOT_RUNNING")
    try:
        return BIND_MOVES[state, event]
    except KeyError:
        raise _refusal(BIND_REFUSALS.get((state, event)), f"{event!r} in {state}") from None


def next_connect_state(state: ConnectState, event: str) -> ConnectState:
    """The state after ``event``; raises the coded error for an illegal move."""
    try:
        return CONNECT_MOVES[state, event]
    except KeyError:
        raise _refusal(CONNECT_REFUSALS.get((state, event)), f"{event!r} in {state}") from None
