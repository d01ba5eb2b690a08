"""The event emitter mixin: luvit's core.Emitter with Node's error rule.

Listeners for an event are kept in a tuple that is replaced, never mutated,
when a listener is added or removed.  ``emit`` iterates the tuple it found
when it began, so listeners added or removed by a listener take effect from
the next emit (luvit's in-place compaction could skip or repeat a listener),
and the receive path can read the current tuple with one dict lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from ._aliases import with_snake_case_aliases
from ._errors import DgramError, describe, misuse
from ._validators import MISSING, require

Listener = Callable[..., Any]


class _Once:
    """A ``once`` registration: removes itself, then calls the original."""

    __slots__ = ("emitter", "fn", "name")

    def __init__(self, emitter: Emitter, name: str, fn: Listener) -> None:
        self.emitter = emitter
        self.name = name
        self.fn = fn

    def __call__(self, *args: Any) -> Any:
        self.emitter._remove(self.name, self)
        return self.fn(*args)


def _original(entry: Listener) -> Listener:
    return entry.fn if isinstance(entry, _Once) else entry


def _check_name(name: object) -> None:
    """An event name is any hashable value (usually a str); it keys a dict."""
    require(name, "name")
    try:
        hash(name)
    except TypeError:
        raise misuse("ERR_INVALID_ARG_TYPE", name="name", expected="hashable (usually a str)",
                     received=describe(name)) from None


def _check_listener(fn: object) -> Listener:
    require(fn, "listener")
    if not callable(fn):
        raise misuse("ERR_INVALID_ARG_TYPE", name="listener", expected="callable",
                     received=describe(fn))
    return fn


class _LazyTable:
    """A non-data descriptor: an instance's own ``_events`` wins over it."""

    def __get__(self, owner: object, _type: type | None = None) -> Any:
        if owner is None:
            return self
        table: dict[Any, tuple[Listener, ...]] = {}
        owner.__dict__["_events"] = table
        return table


@with_snake_case_aliases
class Emitter:
    """Named events with listeners; usable on its own or as a mixin.

    A class that mixes it in need not call ``Emitter.__init__`` (luvit's
    ``Emitter:extend()`` habit): the listener table is made on first use.
    """

    _events: dict[Any, tuple[Listener, ...]]

    def __init__(self) -> None:
        self._events = {}

    # The table of an emitter whose __init__ was not run is made by this
    # class attribute, on first use, and then lives in the instance's
    # __dict__, which hides it.  Not __getattr__: a class that defines one
    # makes every attribute lookup on its instances take the slow path
    # (22 against 6 ns on a Socket here, on every send and receive).
    _events = _LazyTable()  # type: ignore[assignment]

    def on(self, name: Any = MISSING, fn: Any = MISSING) -> Self:
        """Call ``fn(*args)`` on every ``emit(name, *args)``; returns self."""
        _check_name(name)
        self._add(name, _check_listener(fn))
        return self

    def once(self, name: Any = MISSING, fn: Any = MISSING) -> Self:
        """Call ``fn`` on the next ``emit(name, ...)`` only; returns self."""
        _check_name(name)
        self._add(name, _Once(self, name, _check_listener(fn)))
        return self

    def emit(self, name: Any = MISSING, *args: Any) -> bool:
        """Call the listeners registered when this emit began, in order.

        Returns True if there were any.  An ``'error'`` with no listener is
        raised (Node), never dropped (luvit).  A listener's exception
        propagates to the caller.
        """
        try:
            listeners = self._events.get(name)
        except TypeError:  # unhashable: checked only on failure, emit stays cheap
            _check_name(name)
            raise
        if not listeners:
            require(name, "name")
            if name == "error":
                raise _as_exception(args[0] if args else None)
            return False
        for fn in listeners:
            fn(*args)
        return True

    def removeListener(self, name: Any = MISSING, fn: Any = MISSING) -> Self:
        """Remove the most recent registration of ``fn`` (a ``once`` one is
        found by its original function); returns self."""
        _check_name(name)
        require(fn, "listener")
        listeners = self._events.get(name, ())
        for entry in reversed(listeners):
            # == rather than `is`: each access to obj.method makes a new bound method.
            if entry == fn or _original(entry) == fn:
                self._remove(name, entry)
                break
        return self

    off = removeListener

    def removeAllListeners(self, name: Any = None) -> Self:
        """Remove every listener of ``name``, or of every event; returns self."""
        if name is not None:
            _check_name(name)
        if name is None:
            self._events.clear()
        else:
            self._events.pop(name, None)
        return self

    def listeners(self, name: Any = MISSING) -> list[Listener]:
        """A new list of the functions listening to ``name``."""
        _check_name(name)
        return [_original(entry) for entry in self._events.get(name, ())]

    def listenerCount(self, name: Any = MISSING) -> int:
        """How many listeners ``name`` has."""
        _check_name(name)
        return len(self._events.get(name, ()))

    def propagate(self, name: Any = MISSING, target: Any = MISSING) -> Emitter:
        """Re-emit every ``name`` event on ``target``; returns ``target``."""
        _check_name(name)
        require(target, "target")
        if not callable(getattr(target, "emit", None)):
            raise misuse("ERR_INVALID_ARG_TYPE", name="target", expected="an emitter",
                         received=describe(target))
        self.on(name, lambda *args: target.emit(name, *args))
        return target  # type: ignore[no-any-return]

    def wrap(self, name: Any = MISSING) -> None:
        """luvit's wrap: replace method ``name`` with ``fn(err, *args)`` that
        emits ``'error'`` when ``err`` is set, else calls the method with
        ``*args``."""
        require(name, "name")
        if not isinstance(name, str):
            raise misuse("ERR_INVALID_ARG_TYPE", name="name", expected="of type str",
                         received=describe(name))
        method = getattr(self, name, None)
        if not callable(method):
            raise misuse("ERR_INVALID_ARG_VALUE", name="name", reason="must name a method",
                         received=repr(name))

        def wrapped(err: object, *args: Any) -> Any:
            if err:
                return self.emit("error", err)
            return method(*args)

        setattr(self, name, wrapped)

    # The listener tuples are replaced, never mutated (see the module doc).
    def _add(self, name: str, entry: Listener) -> None:
        self._events[name] = (*self._events.get(name, ()), entry)

    def _remove(self, name: str, entry: Listener) -> None:
        listeners = list(self._events.get(name, ()))
        if entry in listeners:
            # Remove the last occurrence: the most recent registration.
            del listeners[len(listeners) - 1 - listeners[::-1].index(entry)]
        if listeners:
            self._events[name] = tuple(listeners)
        else:
            self._events.pop(name, None)


def _as_exception(err: object) -> BaseException:
    if isinstance(err, BaseException):
        return err
    return DgramError("ERR_UNHANDLED_ERROR", f"Unhandled error. ({err!r})")
