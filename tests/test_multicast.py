"""Multicast through the Socket methods, delivered for real, in a private
network namespace (tests/netns.py), with each receiver.

Any-source groups (addMembership / dropMembership / setMembership) and
source-specific ones (add/dropSourceSpecificMembership), over IPv4 and IPv6.
A Linux detail the scripts rely on: a socket with no membership of a group
gets that group's datagrams whenever another socket on its port joined it
(IP_MULTICAST_ALL, on by default); so each "nothing arrives" check is made
with every socket's membership of that group in a known state.
"""

from __future__ import annotations

import textwrap

import pytest

from netns import SETUP4, SETUP6, run_in_namespace

pytestmark = pytest.mark.usefixtures("receiver_kind")

# What every script starts with: a loop, sockets that record what they get,
# and a bounded way to let the datagrams in flight arrive.
PRELUDE = textwrap.dedent("""
    import json, pyuv, dgram_uv
    loop = pyuv.Loop()
    sockets = []

    def receiver(kind, got, port=0, host=None):
        s = dgram_uv.createSocket({"type": kind, "reuseAddr": True}, loop=loop)
        s.on("message", lambda m, r: got.append([m.decode(), r["address"]]))
        s.bind(port, host or ("0.0.0.0" if kind == "udp4" else "::"))
        sockets.append(s)
        return s

    def sender(kind, host, iface):
        s = dgram_uv.createSocket(kind, loop=loop).bind(0, host)
        s.setMulticastInterface(iface)
        sockets.append(s)
        return s

    def settle(seconds=0.3):
        timer = pyuv.Timer(loop)
        timer.start(lambda t: loop.stop(), seconds, 0)
        loop.run()
        timer.close()

    def finish(result):
        for s in sockets:
            s.close()
        settle(0.05)
        print(json.dumps(result))
""")

ANY_SOURCE4 = PRELUDE + textwrap.dedent("""
    group, result = "239.255.7.7", {}
    got = []
    rx = receiver("udp4", got)
    assert rx.addMembership(group, "127.0.0.1") is rx
    tx = sender("udp4", "127.0.0.1", "127.0.0.1")
    assert tx.setMulticastLoopback(True) is True
    assert tx.setMulticastTTL(1) == 1
    port = rx.address()["port"]
    tx.send("hello group", port, group)
    tx.send("second", port, group)
    settle()
    result["joined"], got[:] = list(got), []
    assert rx.dropMembership(group, "127.0.0.1") is rx
    tx.send("after leave", port, group)
    settle()
    result["left"], got[:] = list(got), []
    rx.setMembership(group, "join")  # the luvit form, interface by route
    tx.send("joined again", port, group)
    settle()
    result["again"] = list(got)
    rx.setMembership(group, "127.0.0.1", "leave")
    finish(result)
""")


def test_any_source_join_receive_leave_ipv4() -> None:
    """Node's test-dgram-multicast-loopback / luvit's test-dgram-multicast:
    a joined group's datagrams arrive, none after the leave, again after a
    second join."""
    out = run_in_namespace(SETUP4, ANY_SOURCE4)
    assert out["joined"] == [["hello group", "127.0.0.1"], ["second", "127.0.0.1"]]
    assert out["left"] == []
    assert out["again"] == [["joined again", "127.0.0.1"]]


ANY_SOURCE6 = PRELUDE + textwrap.dedent("""
    result = {}
    got = {"plain": [], "scoped_iface": [], "scoped_group": []}
    tx = sender("udp6", "::1", "::%lo")
    # One socket per form, each on its own port, so that no socket sees a
    # group another one joined.
    plain = receiver("udp6", got["plain"])
    plain.addMembership("ff3e::11")  # no interface: the kernel's choice
    by_iface = receiver("udp6", got["scoped_iface"])
    by_iface.addMembership("ff3e::12", "::%lo")  # Node's form: the scope names it
    by_group = receiver("udp6", got["scoped_group"])
    by_group.addMembership("ff3e::13%lo")  # the group's own scope is ignored, as in libuv
    for s, group in ((plain, "ff3e::11"), (by_iface, "ff3e::12"), (by_group, "ff3e::13")):
        tx.send("to " + group, s.address()["port"], group)
    settle()
    result["joined"] = {k: list(v) for k, v in got.items()}
    by_iface.dropMembership("ff3e::12", "::%lo")
    tx.send("after leave", by_iface.address()["port"], "ff3e::12")
    settle()
    result["after_leave"] = list(got["scoped_iface"])
    finish(result)
""")


def test_any_source_ipv6_interface_forms() -> None:
    """Node's addMembership(group, '::%lo') picks the interface by its scope."""
    out = run_in_namespace(SETUP6, ANY_SOURCE6)
    assert out["joined"] == {"plain": [["to ff3e::11", "::1"]],
                             "scoped_iface": [["to ff3e::12", "::1"]],
                             "scoped_group": [["to ff3e::13", "::1"]]}
    assert out["after_leave"] == [["to ff3e::12", "::1"]]  # nothing new


SOURCE_SPECIFIC = PRELUDE + textwrap.dedent("""
    KIND, GROUP, SOURCES, IFACE = CASE
    got = {"a": [], "b": []}
    a = receiver(KIND, got["a"])
    port = a.address()["port"]
    b = receiver(KIND, got["b"], port)  # the control: the other source reaches the port
    senders = {source: sender(KIND, source, IFACE) for source in SOURCES}

    def both(sources=SOURCES):
        for source in sources:
            senders[source].send("from " + source, port, GROUP)
        settle()
        out = {k: list(v) for k, v in got.items()}
        for v in got.values():
            v.clear()
        return out

    result = {}
    assert a.addSourceSpecificMembership(SOURCES[0], GROUP, IFACE) is a
    assert b.addSourceSpecificMembership(SOURCES[1], GROUP, IFACE) is b
    result["joined"] = both()
    try:
        a.addSourceSpecificMembership(SOURCES[0], GROUP, IFACE)
    except dgram_uv.DgramOSError as err:
        result["join_twice"] = [err.code, err.syscall]
    assert a.dropSourceSpecificMembership(SOURCES[0], GROUP, IFACE) is a
    result["a_dropped"] = both(SOURCES[:1])  # only a's old source
    try:
        a.dropSourceSpecificMembership(SOURCES[0], GROUP, IFACE)
    except dgram_uv.DgramOSError as err:
        result["drop_twice"] = [err.code, err.syscall]
    b.dropSourceSpecificMembership(SOURCES[1], GROUP, IFACE)
    result["both_dropped"] = both()
    result["usable"] = a.address()["port"] == port  # a failed call left it open
    finish(result)
""")


@pytest.mark.parametrize(("setup", "case"), [
    (SETUP4, ("udp4", "232.1.1.1", ["127.0.0.1", "127.0.0.2"], "127.0.0.1")),
    (SETUP6, ("udp6", "ff3e::1234", ["::1", "fd00::2"], "::%lo")),
], ids=["ipv4", "ipv6"])
def test_source_specific_only_the_joined_source_arrives(setup: str, case: tuple[object, ...]
                                                        ) -> None:
    """Node's test-dgram-membership's source-specific half, delivered: a
    socket joined for one source gets only that source's datagrams; after the
    drop, nothing; joining twice or dropping twice is an OS error and the
    socket stays usable."""
    out = run_in_namespace(setup, f"CASE = {case!r}\n" + SOURCE_SPECIFIC)
    first, second = case[2]  # type: ignore[misc]
    assert out["joined"] == {"a": [[f"from {first}", first]], "b": [[f"from {second}", second]]}
    assert out["a_dropped"] == {"a": [], "b": []}
    assert out["both_dropped"] == {"a": [], "b": []}
    assert out["join_twice"][1] == "addSourceSpecificMembership"
    assert out["join_twice"][0] in {"EADDRNOTAVAIL", "EADDRINUSE", "EINVAL"}
    assert out["drop_twice"][1] == "dropSourceSpecificMembership"
    assert out["drop_twice"][0] in {"EADDRNOTAVAIL", "EINVAL", "ENOENT"}
    assert out["usable"] is True
