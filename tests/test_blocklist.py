"""BlockList: Node's net.BlockList, its cases from test/parallel/test-blocklist.js
(rewritten here), plus what dgram_uv adds (inferred family, snake_case names,
the verdict cache)."""

from __future__ import annotations

import timeit
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from dgram_uv import DgramError
from dgram_uv._blocklist import BlockList

V6 = "8592:757c:efae:4e45:fb5d:d62a:0d00:8e17"


def code_of(call: Callable[[], object]) -> str:
    with pytest.raises(DgramError) as info:
        call()
    return info.value.code


def test_bad_argument_types_and_values() -> None:
    blocks: Any = BlockList()  # Any: the calls below break the annotations on purpose
    bads: tuple[Any, ...] = (1, [], {}, 1.5, b"1.1.1.1")
    for bad in bads:
        assert code_of(partial(blocks.addAddress, bad)) == "ERR_INVALID_ARG_TYPE"
        assert code_of(partial(blocks.addAddress, "1.1.1.1", bad)) == "ERR_INVALID_ARG_TYPE"
        assert code_of(partial(blocks.addRange, bad, "1.1.1.2")) == "ERR_INVALID_ARG_TYPE"
        assert code_of(partial(blocks.addRange, "1.1.1.1", bad)) == "ERR_INVALID_ARG_TYPE"
        assert code_of(partial(blocks.addRange, "1.1.1.1", "1.1.1.2", bad)) == \
            "ERR_INVALID_ARG_TYPE"
        assert code_of(partial(blocks.check, bad)) == "ERR_INVALID_ARG_TYPE"
    assert code_of(lambda: blocks.addAddress("1.1.1.1", "foo")) == "ERR_INVALID_ARG_VALUE"
    assert code_of(lambda: blocks.addRange("1.1.1.1", "1.1.1.2", "foo")) == \
        "ERR_INVALID_ARG_VALUE"
    assert code_of(lambda: blocks.addAddress("not an address")) == "ERR_INVALID_ARG_VALUE"
    assert code_of(lambda: blocks.addAddress("::1", "ipv4")) == "ERR_INVALID_ARG_VALUE"
    assert code_of(lambda: blocks.addAddress("\ud800")) == "ERR_INVALID_ARG_VALUE"
    assert code_of(lambda: blocks.addRange("1.1.1.1", "::5")) == "ERR_INVALID_ARG_VALUE"
    assert code_of(lambda: blocks.check("1.1.1.1", 1)) == "ERR_INVALID_ARG_TYPE"
    assert code_of(lambda: blocks.check("1.1.1.1", "ipv5")) == "ERR_INVALID_ARG_VALUE"
    assert blocks.rules == []  # nothing half-added


def test_addresses_across_families() -> None:
    blocks = BlockList()
    blocks.addAddress("1.1.1.1")
    blocks.addAddress(V6, "ipv6")
    blocks.addAddress("::ffff:1.1.1.2", "ipv6")

    assert blocks.check("1.1.1.1")
    assert not blocks.check("1.1.1.1", "ipv6")  # not an IPv6 literal
    assert not blocks.check(V6, "ipv4")  # not an IPv4 literal
    assert blocks.check(V6, "ipv6")
    # An IPv4 rule blocks the IPv4-mapped address, and a mapped rule the IPv4 one.
    assert blocks.check("::ffff:1.1.1.1", "ipv6")
    assert blocks.check("::ffff:1.1.1.1", "IPV6")
    assert blocks.check("1.1.1.2")
    assert not blocks.check("1.2.3.4")
    assert not blocks.check("::1", "ipv6")


def test_family_left_out_is_the_addresss_own() -> None:
    # Node reads a left-out family as 'ipv4' (so check(V6) is False there);
    # here it is the address's own, as the contract's check(addr) has it.
    blocks = BlockList()
    blocks.addAddress(V6)
    assert blocks.check(V6)
    assert blocks.check("8592:757C:EFAE:4E45:FB5D:D62A:D00:8E17")  # same address, spelled so
    assert blocks.rules == ["Address: IPv6 8592:757c:efae:4e45:fb5d:d62a:d00:8e17"]


def test_a_repeated_rule_is_listed_once() -> None:
    blocks = BlockList()
    blocks.addAddress("1.1.1.1")
    blocks.addAddress("1.1.1.1")
    assert blocks.rules == ["Address: IPv4 1.1.1.1"]
    blocks.addSubnet("8592:757c:efae:4e45::", 64, "ipv6")
    blocks.addSubnet("8592:757c:efae:4e45::", 64, "ipv6")
    assert blocks.rules == ["Subnet: IPv6 8592:757c:efae:4e45::/64", "Address: IPv4 1.1.1.1"]


def test_ranges() -> None:
    blocks = BlockList()
    blocks.addRange("1.1.1.1", "1.1.1.10")
    blocks.addRange("::1", "::f", "ipv6")

    assert not blocks.check("1.1.1.0")
    assert all(blocks.check(f"1.1.1.{n}") for n in range(1, 11))
    assert not blocks.check("1.1.1.11")
    assert not blocks.check("::0", "ipv6")
    assert all(blocks.check(f"::{n:x}", "ipv6") for n in range(1, 16))
    assert not blocks.check("::10", "ipv6")


def test_range_must_run_upwards() -> None:
    blocks = BlockList()
    assert code_of(lambda: blocks.addRange("1.1.1.2", "1.1.1.1")) == "ERR_INVALID_ARG_VALUE"
    blocks.addRange("1.1.1.1", "1.1.1.1")  # one address is a range
    assert blocks.check("1.1.1.1") and not blocks.check("1.1.1.2")


def test_ipv4_range_checked_with_mapped_addresses() -> None:
    # Node's regression test for nodejs/node#39074.
    blocks = BlockList()
    blocks.addRange("10.0.0.2", "10.0.0.10")
    assert blocks.check("10.0.0.2") and blocks.check("10.0.0.10")
    for outside in ("192.168.0.3", "2.2.2.2", "255.255.255.255", "10.0.0.1"):
        assert not blocks.check(outside)
    assert blocks.check("::ffff:0a00:0002", "ipv6")
    assert blocks.check("::ffff:0a00:000a", "ipv6")
    for outside in ("::ffff:c0a8:0003", "::ffff:0202:0202", "::ffff:ffff:ffff", "::a00:2"):
        assert not blocks.check(outside, "ipv6")


def test_ipv6_range_blocks_ipv4_only_with_mapped_ends() -> None:
    # Node compares an IPv4 address with an IPv6 range's ends only when they
    # are IPv4-mapped; otherwise they are "not comparable" and nothing matches.
    wide = BlockList()
    wide.addRange("::", "ffff::", "ipv6")
    assert not wide.check("1.2.3.4")
    assert wide.check("::ffff:1.2.3.4", "ipv6")  # as IPv6, a plain comparison
    mapped = BlockList()
    mapped.addRange("::ffff:1.2.3.0", "::ffff:1.2.3.255", "ipv6")
    assert mapped.check("1.2.3.4") and not mapped.check("1.2.4.0")


def test_subnets() -> None:
    blocks = BlockList()
    blocks.addSubnet("1.1.1.0", 16)
    blocks.addSubnet("8592:757c:efae:4e45::", 64, "ipv6")

    assert blocks.check("1.1.0.1")
    assert blocks.check("1.1.1.1")
    assert not blocks.check("1.2.0.1")
    assert blocks.check("::ffff:1.1.0.1", "ipv6")
    assert not blocks.check("::1.1.0.1", "ipv6")  # IPv4-compatible is not mapped
    assert blocks.check("8592:757c:efae:4e45:f::", "ipv6")
    assert blocks.check("8592:757c:efae:4e45::f", "ipv6")
    assert not blocks.check("8592:757c:efae:4f45::f", "ipv6")


def test_ipv6_subnet_over_the_mapped_block_blocks_ipv4() -> None:
    blocks = BlockList()
    blocks.addSubnet("::ffff:0:0", 96, "ipv6")
    assert blocks.check("8.8.8.8") and blocks.check("::ffff:8.8.8.8", "ipv6")
    assert not blocks.check("::8.8.8.8", "ipv6")
    everything = BlockList()
    everything.addSubnet("::", 0, "ipv6")
    assert everything.check("8.8.8.8") and everything.check("2001:db8::1")


def test_subnet_boundaries_off_a_byte() -> None:
    blocks = BlockList()
    blocks.addSubnet("10.0.0.0", 27)
    blocks.addSubnet("8592:757c:efaf::", 51, "ipv6")
    assert all(blocks.check(f"10.0.0.{n}") for n in range(32))
    assert not blocks.check("10.0.0.32")
    assert blocks.check("8592:757c:efaf:0:0:0:0:0", "ipv6")
    assert blocks.check("8592:757c:efaf:1fff:ffff:ffff:ffff:ffff", "ipv6")
    assert not blocks.check("8592:757c:efaf:2fff:ffff:ffff:ffff:ffff", "ipv6")


def test_prefix_edges() -> None:
    blocks = BlockList()
    blocks.addSubnet("0.0.0.0", 0)
    assert blocks.check("255.255.255.255") and not blocks.check("::1")
    one = BlockList()
    one.addSubnet("1.2.3.4", 32)
    one.addSubnet("::5", 128)
    assert one.check("1.2.3.4") and not one.check("1.2.3.5")
    assert one.check("::5") and not one.check("::4")


def test_bad_subnet_arguments() -> None:
    blocks: Any = BlockList()  # Any: the calls below break the annotations on purpose
    assert code_of(lambda: blocks.addSubnet(1, 8)) == "ERR_INVALID_ARG_TYPE"
    assert code_of(lambda: blocks.addSubnet("1.1.1.1", "")) == "ERR_INVALID_ARG_TYPE"
    assert code_of(lambda: blocks.addSubnet("1.1.1.1", True)) == "ERR_INVALID_ARG_TYPE"
    assert code_of(lambda: blocks.addSubnet("1.1.1.1", float("nan"))) == "ERR_OUT_OF_RANGE"
    assert code_of(lambda: blocks.addSubnet("1.1.1.1", 8.5)) == "ERR_OUT_OF_RANGE"
    assert code_of(lambda: blocks.addSubnet("", 1, 1)) == "ERR_INVALID_ARG_TYPE"
    assert code_of(lambda: blocks.addSubnet("", 1, "")) == "ERR_INVALID_ARG_VALUE"
    for net, prefix, family in (("1.1.1.1", -1, "ipv4"), ("1.1.1.1", 33, "ipv4"),
                                ("::", -1, "ipv6"), ("::", 129, "ipv6")):
        assert code_of(partial(blocks.addSubnet, net, prefix, family)) == "ERR_OUT_OF_RANGE"
    assert blocks.rules == []


def test_check_of_something_that_is_not_an_address_is_false() -> None:
    blocks = BlockList()
    blocks.addSubnet("::", 0, "ipv6")
    blocks.addSubnet("0.0.0.0", 0)
    for text in ("", "localhost", "1.1.1", "\ud800", "1.1.1.1\x00"):
        assert not blocks.check(text)


def test_rules_newest_first_as_node_lists_them() -> None:
    blocks = BlockList()
    blocks.addAddress("1.1.1.1")
    blocks.addRange("10.0.0.1", "10.0.0.10")
    blocks.addSubnet("8592:757c:efae:4e45::", 64, "IpV6")  # family in any case
    assert blocks.rules == [
        "Subnet: IPv6 8592:757c:efae:4e45::/64",
        "Range: IPv4 10.0.0.1-10.0.0.10",
        "Address: IPv4 1.1.1.1",
    ]
    assert blocks.check("1.1.1.1")
    assert blocks.check("10.0.0.5")
    assert blocks.check("::ffff:10.0.0.5", "ipv6")
    assert blocks.check("8592:757c:efae:4e45::f", "ipv6")
    assert not blocks.check("123.123.123.123")
    assert not blocks.check("8592:757c:efaf:4e45:fb5d:d62a:0d00:8e17", "ipv6")
    assert not blocks.check("::ffff:123.123.123.123", "ipv6")
    blocks.rules.clear()  # a copy: the list cannot be changed through it
    assert len(blocks.rules) == 3
    assert "Address: IPv4 1.1.1.1" in repr(blocks)


def test_mapped_rule_text_is_inet_ntops() -> None:
    blocks = BlockList()
    blocks.addAddress("::ffff:1.1.1.2", "ipv6")
    blocks.addSubnet("1.1.1.0", 16)  # shown as given, not masked
    assert blocks.rules == ["Subnet: IPv4 1.1.1.0/16", "Address: IPv6 ::ffff:1.1.1.2"]


def test_scoped_sender_is_checked_by_its_address() -> None:
    # A link-local sender's rinfo address carries its %scope (docs/api.md).
    blocks = BlockList()
    blocks.addAddress("fe80::1", "ipv6")
    assert blocks.check("fe80::1%lo", "ipv6")
    assert blocks.check("fe80::1%eth0")


def test_snake_case_aliases() -> None:
    # Set by with_snake_case_aliases, so read with getattr (mypy cannot see them).
    for camel, snake in (("addAddress", "add_address"), ("addRange", "add_range"),
                         ("addSubnet", "add_subnet")):
        assert getattr(BlockList, snake) is getattr(BlockList, camel)
    blocks: Any = BlockList()
    blocks.add_subnet("192.0.2.0", 24)
    assert blocks.check("192.0.2.77")


def test_a_new_rule_reaches_cached_verdicts() -> None:
    blocks = BlockList()
    assert not blocks.check("192.0.2.1")
    assert not blocks.check("192.0.2.1")  # now from the cache
    blocks.addAddress("192.0.2.1")
    assert blocks.check("192.0.2.1")
    assert blocks.check("192.0.2.1", "IPv4") and blocks.check("192.0.2.1", "ipv4")


def test_many_distinct_addresses_keep_the_cache_bounded() -> None:
    blocks = BlockList()
    blocks.addSubnet("10.0.0.0", 8)
    for n in range(10_000):
        assert blocks.check(f"10.{n >> 8 & 255}.{n & 255}.1")
    assert all(len(verdicts) <= 4096 for verdicts in blocks._verdicts.values())


def test_check_is_cheap_per_datagram() -> None:
    # The receive path asks this for every datagram: a repeated sender must
    # be a cache hit, close to the cost of a dict lookup, whatever the rules.
    blocks = BlockList()
    for n in range(50):
        blocks.addRange(f"10.{n}.0.0", f"10.{n}.0.255")
        blocks.addSubnet(f"2001:db8:{n:x}::", 48, "ipv6")
    check = blocks.check
    check("192.0.2.1", "ipv4")
    hit = min(timeit.repeat(lambda: check("192.0.2.1", "ipv4"), number=20_000, repeat=5))
    base = min(timeit.repeat(lambda: {"a": 1}.get("a"), number=20_000, repeat=5))
    assert hit < base * 10, (hit, base)
