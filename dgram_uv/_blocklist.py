"""Node's ``net.BlockList``: rules over IPv4 and IPv6 addresses.

Every address is held as one 128-bit integer, an IPv4 address as its
IPv4-mapped form (``::ffff:a.b.c.d``).  That is how Node matches across
families: an IPv4 rule blocks the mapped IPv6 address of what it blocks, and
an IPv6 rule written in mapped form blocks the IPv4 address.  The one place
Node does not follow the mapping is a range: an IPv6 range blocks IPv4
addresses only when both of its ends are IPv4-mapped (otherwise Node finds
them not comparable), and so it is here.

``check`` runs for every datagram a socket with a receive list reads, so a
verdict, once worked out, is kept per address; adding a rule forgets them.
"""

from __future__ import annotations

import socket

from ._aliases import with_snake_case_aliases
from ._errors import describe, misuse

_MAPPED = 0xFFFF << 32  # ::ffff:0:0, the IPv4-mapped block
_FAMILIES: dict[str, int] = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}
_LABELS: dict[int, str] = {socket.AF_INET: "IPv4", socket.AF_INET6: "IPv6"}
_BITS: dict[int, int] = {socket.AF_INET: 32, socket.AF_INET6: 128}
_CACHE_SIZE = 4096  # verdicts kept per family spelling before starting over


def _family(value: object) -> int | None:
    """The ``family`` argument: 'ipv4' or 'ipv6' in any case; None (left out)
    means the address's own."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise misuse("ERR_INVALID_ARG_TYPE", name="family", expected="of type str",
                     received=describe(value))
    family = _FAMILIES.get(value.lower())
    if family is None:
        raise misuse("ERR_INVALID_ARG_VALUE", name="family", reason="must be 'ipv4' or 'ipv6'",
                     received=repr(value))
    return family


def _parse(address: str, family: int | None) -> tuple[int, int] | None:
    """``(value, family)`` for an IP literal of ``family`` (either when None),
    ``value`` on the 128-bit scale; None when it is not one.  A scope
    (``fe80::1%eth0``) is left off, as Node's SocketAddress leaves it out of
    the comparison."""
    if family != socket.AF_INET6:
        try:
            return _MAPPED | int.from_bytes(socket.inet_pton(socket.AF_INET, address)), \
                socket.AF_INET
        except (OSError, ValueError):  # ValueError: NUL or a lone surrogate
            if family == socket.AF_INET:
                return None
    try:
        packed = socket.inet_pton(socket.AF_INET6, address.partition("%")[0])
    except (OSError, ValueError):
        return None
    return int.from_bytes(packed), socket.AF_INET6


def _text(value: int, family: int) -> str:
    """An address as Node's rules show it (inet_ntop's spelling)."""
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, (value & 0xFFFFFFFF).to_bytes(4))
    return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16))


def _address_arg(value: object, name: str, family: int | None) -> tuple[int, int]:
    """An address argument of addAddress/addRange/addSubnet: ``(value, family)``."""
    if not isinstance(value, str):
        raise misuse("ERR_INVALID_ARG_TYPE", name=name, expected="of type str",
                     received=describe(value))
    parsed = _parse(value, family)
    if parsed is None:
        kind = "an IP address" if family is None else f"an {_LABELS[family]} address"
        raise misuse("ERR_INVALID_ARG_VALUE", name=name, reason=f"must be {kind}",
                     received=describe(value))
    return parsed


def _prefix(value: object, family: int) -> int:
    """A subnet prefix: an int from 0 to 32 (IPv4) or 128 (IPv6)."""
    top = _BITS[family]
    if isinstance(value, float):
        # A number but not an int (NaN included): Node's validateInt32 calls
        # that out of range, not of the wrong type.
        raise misuse("ERR_OUT_OF_RANGE", name="prefix", range=f"an integer >= 0 and <= {top}",
                     received=value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise misuse("ERR_INVALID_ARG_TYPE", name="prefix", expected="of type int",
                     received=describe(value))
    if not 0 <= value <= top:
        raise misuse("ERR_OUT_OF_RANGE", name="prefix", range=f">= 0 and <= {top}",
                     received=value)
    return value


@with_snake_case_aliases
class BlockList:
    """Addresses, ranges and subnets to block, as Node's ``net.BlockList``.

    ``family`` is 'ipv4' or 'ipv6' (any case).  Node's default is 'ipv4';
    here a left-out family is the address's own, so ``addAddress('::1')`` and
    ``check('::1')`` work without it.  Given, it is kept to: an IPv6 address
    with 'ipv4' is a bad argument to the add methods and not blocked for
    ``check``.
    """

    __slots__ = ("_exact", "_ranges", "_rules", "_subnets", "_verdicts")

    def __init__(self) -> None:
        self._rules: list[tuple[str, tuple[int, ...], str]] = []  # (kind, key, text), oldest first
        self._exact: set[int] = set()
        # (low, high, whether it applies to IPv4 addresses); see the module's notes.
        self._ranges: list[tuple[int, int, bool]] = []
        self._subnets: dict[int, set[int]] = {}  # mask -> networks (masked) under it
        # family argument as given -> address -> verdict.
        self._verdicts: dict[object, dict[object, bool]] = {}

    def _add(self, kind: str, key: tuple[int, ...], text: str) -> bool:
        """Record a rule; False when the same one (same family too) is
        already there: Node lists a repeated rule once."""
        if any(rule[0] == kind and rule[1] == key for rule in self._rules):
            return False
        self._rules.append((kind, key, text))
        self._verdicts.clear()
        return True

    def addAddress(self, address: str, family: str | None = None) -> None:
        """Block one address."""
        value, kind = _address_arg(address, "address", _family(family))
        if self._add("Address", (value, kind), f"Address: {_LABELS[kind]} {_text(value, kind)}"):
            self._exact.add(value)

    def addRange(self, start: str, end: str, family: str | None = None) -> None:
        """Block every address from ``start`` to ``end``, both included."""
        wanted = _family(family)
        low, low_kind = _address_arg(start, "start", wanted)
        high, high_kind = _address_arg(end, "end", wanted if wanted is not None else low_kind)
        if low > high:
            raise misuse("ERR_INVALID_ARG_VALUE", name="start", reason="must come before end",
                         received=describe(start))
        # An IPv4 address is compared with a range only through its mapped
        # form, which Node does only when both ends are in the mapped block.
        for_ipv4 = low >> 32 == _MAPPED >> 32 and high >> 32 == _MAPPED >> 32
        text = (f"Range: {_LABELS[low_kind]} {_text(low, low_kind)}-"
                f"{_text(high, high_kind)}")
        if self._add("Range", (low, high, low_kind), text):
            self._ranges.append((low, high, for_ipv4))

    def addSubnet(self, net: str, prefix: int, family: str | None = None) -> None:
        """Block the ``prefix``-bit network of ``net`` (``'10.0.0.0', 8``)."""
        value, kind = _address_arg(net, "network", _family(family))
        bits = _prefix(prefix, kind)
        if kind == socket.AF_INET:
            bits += 96  # the same network in the mapped block
        mask = ((1 << bits) - 1) << (128 - bits)
        # Node shows the network as given, not masked: 'Subnet: IPv4 1.1.1.0/16'.
        if self._add("Subnet", (value & mask, bits, kind), f"Subnet: {_LABELS[kind]} "
                     f"{_text(value, kind)}/{prefix}"):
            self._subnets.setdefault(mask, set()).add(value & mask)

    def check(self, address: str, family: str | None = None) -> bool:
        """Whether ``address`` is blocked.  Not an IP address (of ``family``,
        when given): False, as in Node."""
        try:
            return self._verdicts[family][address]  # the per-datagram case: two lookups
        except Exception:  # KeyError; TypeError (unhashable) or what an odd __hash__
            pass  # raises: the checks below give the coded error
        if not isinstance(address, str):
            raise misuse("ERR_INVALID_ARG_TYPE", name="address", expected="of type str",
                         received=describe(address))
        wanted = _family(family)  # raises for a bad family, before it is a cache key
        parsed = _parse(address, wanted)
        verdict = parsed is not None and self._blocks(*parsed)
        verdicts = self._verdicts.setdefault(family, {})
        if len(verdicts) >= _CACHE_SIZE:
            verdicts.clear()
        verdicts[str(address)] = verdict
        return verdict

    def _blocks(self, value: int, family: int) -> bool:
        if value in self._exact:
            return True
        ipv4 = family == socket.AF_INET
        for low, high, for_ipv4 in self._ranges:
            if low <= value <= high and (for_ipv4 or not ipv4):
                return True
        return any(value & mask in networks for mask, networks in self._subnets.items())

    @property
    def rules(self) -> list[str]:
        """The rules as Node lists them, the newest first
        (``'Address: IPv4 1.1.1.1'``, ``'Range: IPv4 10.0.0.1-10.0.0.10'``,
        ``'Subnet: IPv6 8592:757c:efae:4e45::/64'``)."""
        return [text for _, _, text in reversed(self._rules)]

    def __repr__(self) -> str:
        return f"BlockList(rules={self.rules!r})"
