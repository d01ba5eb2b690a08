"""Running a script in a private network namespace, for the tests that send
to multicast groups or link-local addresses.

``unshare -n`` gives a namespace whose only interface is its own ``lo``, so
nothing a script sends can leave the machine.  Where namespaces are not
permitted, or the kernel refuses a set-up step, the calling test skips with
the reason; it never pretends.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP_FAILED = 97  # the exit status that says "the set-up, not the script, failed"

# IPv4 multicast: lo up, multicast on, the whole range routed to it.
SETUP4 = ("ip link set lo up && ip link set lo multicast on && "
          "ip route add 224.0.0.0/4 dev lo")
# IPv6 multicast: ::1 is lo's only address in a fresh namespace, so add a
# second source; a plain route via lo becomes a reject route, so the SSM
# range gets a *local* route (delivery still goes through each socket's
# membership and source filter).
SETUP6 = ("ip link set lo up && ip link set lo multicast on && "
          "ip -6 addr add fd00::2/128 dev lo nodad && "
          "ip -6 route add local ff3e::/96 dev lo table local")
# A link-local address on lo, for bind(0, 'fe80::1%lo').
SETUP_LINK_LOCAL = "ip link set lo up && ip addr add fe80::1/64 dev lo"


def run_in_namespace(setup: str, script: str) -> dict[str, Any]:
    """Run ``script`` with this Python in a fresh network namespace after
    ``setup``; return the JSON its last line prints.  The environment is
    inherited (so ``DGRAM_UV_RECEIVER`` picks the receiver there too)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare or ip (iproute2) is not installed")
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"],
                           capture_output=True, text=True, timeout=20)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace here: {probe.stderr.strip()}")
    command = f'{{ {setup} ; }} || exit {SETUP_FAILED}; exec "$0" -c "$1"'
    done = subprocess.run(["unshare", "-n", "sh", "-c", command, sys.executable, script],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    if done.returncode == SETUP_FAILED:
        pytest.skip(f"the namespace refused {setup!r}: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
