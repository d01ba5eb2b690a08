"""The Emitter mixin: luvit's surface, Node's unhandled-error rule, snapshot emits."""

from __future__ import annotations

import pytest

from dgram_uv import DgramError, DgramTypeError, Emitter


def test_on_emit_passes_arguments_and_reports_listeners() -> None:
    e = Emitter()
    seen: list[tuple[object, ...]] = []
    assert e.on("x", lambda *a: seen.append(a)) is e
    assert e.emit("x", 1, "two") is True
    assert e.emit("nobody") is False
    assert seen == [(1, "two")]


def test_listeners_called_in_registration_order() -> None:
    e = Emitter()
    order: list[int] = []
    e.on("x", lambda: order.append(1)).on("x", lambda: order.append(2))
    e.emit("x")
    assert order == [1, 2]


def test_once_fires_once_and_is_found_by_original_function() -> None:
    e = Emitter()
    calls: list[int] = []

    def fn(n: int) -> None:
        calls.append(n)

    e.once("x", fn)
    assert e.listeners("x") == [fn]
    e.emit("x", 1)
    e.emit("x", 2)
    assert calls == [1]
    e.once("x", fn)
    e.removeListener("x", fn)
    assert e.listenerCount("x") == 0


def test_remove_listener_removes_one_registration() -> None:
    e = Emitter()
    calls: list[str] = []

    def fn() -> None:
        calls.append("fn")

    e.on("x", fn).on("x", fn)
    e.off("x", fn)
    e.emit("x")
    assert calls == ["fn"]
    assert e.remove_listener is not None  # snake_case alias exists
    e.remove_listener("x", fn)
    assert e.listener_count("x") == 0


def test_remove_bound_method() -> None:
    class Holder:
        def __init__(self) -> None:
            self.n = 0

        def hit(self) -> None:
            self.n += 1

    e, h = Emitter(), Holder()
    e.on("x", h.hit)
    e.removeListener("x", h.hit)  # a new bound-method object, equal to the first
    e.emit("x")
    assert h.n == 0


def test_remove_all_listeners() -> None:
    e = Emitter()
    e.on("a", print).on("b", print)
    e.removeAllListeners("a")
    assert e.listenerCount("a") == 0 and e.listenerCount("b") == 1
    e.removeAllListeners()
    assert e.listenerCount("b") == 0


def test_listeners_returns_a_new_list() -> None:
    e = Emitter()
    e.on("x", print)
    copy = e.listeners("x")
    copy.clear()
    assert e.listeners("x") == [print]


def test_emit_uses_listeners_registered_when_it_began() -> None:
    e = Emitter()
    calls: list[str] = []

    def first() -> None:
        calls.append("first")
        e.removeListener("x", first)
        e.on("x", late)
        e.emit("y")  # a nested emit must not disturb the outer one

    def second() -> None:
        calls.append("second")

    def late() -> None:
        calls.append("late")

    e.on("x", first).on("x", second)
    e.emit("x")
    assert calls == ["first", "second"]
    e.emit("x")
    assert calls == ["first", "second", "second", "late"]


def test_unhandled_error_is_raised_never_dropped() -> None:
    e = Emitter()
    err = DgramError("ECODE", "boom")
    with pytest.raises(DgramError) as info:
        e.emit("error", err)
    assert info.value is err
    with pytest.raises(DgramError) as info2:
        e.emit("error", "just a string")
    assert "just a string" in str(info2.value)
    seen: list[object] = []
    e.on("error", seen.append)
    assert e.emit("error", err) is True
    assert seen == [err]


def test_listener_exception_propagates_out_of_emit() -> None:
    e = Emitter()
    e.on("x", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        e.emit("x")


def test_non_callable_listener_is_a_type_error() -> None:
    e = Emitter()
    with pytest.raises(DgramTypeError) as info:
        e.on("x", 42)  # type: ignore[arg-type]
    assert info.value.code == "ERR_INVALID_ARG_TYPE"
    assert isinstance(info.value, TypeError)
    with pytest.raises(DgramTypeError):
        e.once("x", None)  # type: ignore[arg-type]


def test_propagate_re_emits_on_target() -> None:
    source, target = Emitter(), Emitter()
    seen: list[tuple[object, ...]] = []
    target.on("data", lambda *a: seen.append(a))
    assert source.propagate("data", target) is target
    source.emit("data", 1, 2)
    assert seen == [(1, 2)]
    with pytest.raises(DgramTypeError):
        source.propagate("data", object())  # type: ignore[arg-type]


def test_wrap_turns_err_first_calls_into_error_events() -> None:
    class Thing(Emitter):
        def __init__(self) -> None:
            super().__init__()
            self.got: list[int] = []

        def write(self, n: int) -> str:
            self.got.append(n)
            return "written"

    t = Thing()
    errors: list[object] = []
    t.on("error", errors.append)
    t.wrap("write")
    assert t.write(None, 5) == "written"
    t.write("bad thing", 6)
    assert t.got == [5]
    assert errors == ["bad thing"]


def test_emitter_as_a_mixin() -> None:
    class Widget(Emitter):
        def __init__(self) -> None:
            Emitter.__init__(self)

    w = Widget()
    hits: list[int] = []
    w.on("hit", hits.append).emit("hit", 3)
    assert hits == [3]


def test_a_mixin_without_init_gets_its_own_table_and_fast_lookups() -> None:
    """An emitter whose __init__ was never run makes its listener table on
    first use, one per instance; and Emitter defines no __getattr__, which
    would put every attribute lookup of a Socket on CPython's slow path."""

    class Bare(Emitter):
        def __init__(self) -> None:
            self.hits: list[int] = []

    a, b = Bare(), Bare()
    a.on("x", a.hits.append)
    a.emit("x", 1)
    b.emit("x", 2)
    assert a.hits == [1] and b.hits == []
    assert a._events is not b._events and "_events" in vars(a)
    assert not hasattr(Emitter, "__getattr__")
