"""The state machine: legal moves, and the coded error of each illegal one."""

from __future__ import annotations

import pytest

from dgram_uv import DgramStateError
from dgram_uv._states import (
    BIND_MOVES,
    BIND_REFUSALS,
    CONNECT_REFUSALS,
    BindState,
    ConnectState,
    next_bind_state,
    next_connect_state,
)


@pytest.mark.parametrize(("move", "after"), list(BIND_MOVES.items()))
def test_legal_bind_moves(move: tuple[BindState, str], after: BindState) -> None:
    assert next_bind_state(*move) is after


@pytest.mark.parametrize(("move", "code"), list(BIND_REFUSALS.items()))
def test_refused_bind_moves(move: tuple[BindState, str], code: str) -> None:
    with pytest.raises(DgramStateError) as info:
        next_bind_state(*move)
    assert info.value.code == code


@pytest.mark.parametrize("event", ["bind", "bound", "close", "bind_failed"])
def test_closed_is_final(event: str) -> None:
    with pytest.raises(DgramStateError) as info:
        next_bind_state(BindState.CLOSED, event)
    assert info.value.code == "ERR_SOCKET_DGRAM_NOT_RUNNING"


@pytest.mark.parametrize(("move", "code"), list(CONNECT_REFUSALS.items()))
def test_refused_connect_moves(move: tuple[ConnectState, str], code: str) -> None:
    with pytest.raises(DgramStateError) as info:
        next_connect_state(*move)
    assert info.value.code == code


def test_connect_cycle() -> None:
    s = next_connect_state(ConnectState.DISCONNECTED, "connect")
    s = next_connect_state(s, "connected")
    assert s is ConnectState.CONNECTED
    assert next_connect_state(s, "disconnect") is ConnectState.DISCONNECTED


def test_an_unlisted_move_is_a_bug_not_misuse() -> None:
    with pytest.raises(AssertionError):
        next_bind_state(BindState.UNBOUND, "bind_failed")
