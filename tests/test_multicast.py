"""Multicast delivery, for real, inside a private network namespace.

The test re-runs Python under ``unshare -n`` with ``lo`` up, multicast on and
224.0.0.0/4 routed to it, so no traffic can leave the machine.  Where making
a namespace is not permitted, it skips with the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

SETUP = ("ip link set lo up && ip link set lo multicast on && "
         "ip route add 224.0.0.0/4 dev lo")

SCRIPT = textwrap.dedent("""
    import json, pyuv, dgram_uv
    loop = pyuv.Loop()
    group, result = "239.255.7.7", {"joined": [], "left": []}
    phase = "joined"
    rx = dgram_uv.createSocket({"type": "udp4", "reuseAddr": True}, loop=loop)
    rx.on("message", lambda m, r: result[phase].append(m.decode()))
    rx.bind(0, "0.0.0.0")
    rx.addMembership(group, "127.0.0.1")
    tx = dgram_uv.createSocket("udp4", loop=loop).bind(0, "127.0.0.1")
    tx.setMulticastInterface("127.0.0.1")
    assert tx.setMulticastLoopback(True) is True
    assert tx.setMulticastTTL(1) == 1
    port = rx.address()["port"]

    def step(timer):
        global phase
        if phase == "joined":
            rx.dropMembership(group, "127.0.0.1")
            phase = "left"
            tx.send("after leave", port, group)
        else:
            rx.close(); tx.close(); timer.close()

    tx.send("hello group", port, group)
    tx.send("second", port, group)
    t = pyuv.Timer(loop); t.start(step, 0.5, 0.5)
    guard = pyuv.Timer(loop); guard.start(lambda h: loop.stop(), 5, 0); guard.ref = False
    loop.run()
    print(json.dumps(result))
""")


def run_in_namespace(script: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare or ip (iproute2) is not installed")
    probe = subprocess.run(["unshare", "-n", "sh", "-c", SETUP], capture_output=True,
                           text=True, timeout=20)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace here: {probe.stderr.strip()}")
    return subprocess.run(["unshare", "-n", "sh", "-c", f'{SETUP} && exec "$0" -c "$1"',
                           sys.executable, script], capture_output=True, text=True, timeout=30)


def test_multicast_join_receive_leave() -> None:
    done = run_in_namespace(SCRIPT)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["joined"] == ["hello group", "second"]
    assert result["left"] == []  # nothing arrives after dropMembership


def test_set_membership_forms() -> None:
    script = textwrap.dedent("""
        import pyuv, dgram_uv
        loop = pyuv.Loop()
        s = dgram_uv.createSocket("udp4", loop=loop).bind(0)
        s.setMembership("239.1.1.1", "join")
        s.setMembership("239.1.1.1", "127.0.0.1", "leave")
        s.setMembership("239.1.1.2", "127.0.0.1", "join")
        s.set_membership("239.1.1.2", "leave")
        s.close(); loop.run(); print("ok")
    """)
    done = run_in_namespace(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
