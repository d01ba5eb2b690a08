"""The soak script (benchmarks/soak.py), shortened for CI, and proof that its
checks can fail: a run with datagrams made to go missing, and one with an
impossible memory bound, must exit non-zero."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"


def soak(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    # A separate process: its VmRSS is the soak's alone, not pytest's.
    return subprocess.run([sys.executable, str(SOAK), *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_soak_short_run() -> None:
    result = soak("-n", "200000")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "sent 200,000 received 200,000 lost 0" in out, out
    callbacks = re.search(r"send callbacks: ([\d,]+) of ([\d,]+), errors 0", out)
    assert callbacks and callbacks.group(1) == callbacks.group(2), out
    rss = re.search(r"after warm-up \([\d,]+\) (\d+), end (\d+), growth ([+-]\d+)", out)
    assert rss, out
    warm, end, growth = (int(g) for g in rss.groups())
    assert warm > 0 and end - warm == growth <= 2048, out
    print(out)  # the figures, for -s runs


def test_soak_reports_lost_datagrams() -> None:
    # Every 1000th datagram is dropped by the receiver (a test hook).
    result = soak("-n", "20000", "--drop-every", "1000", "--stall-seconds", "1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "lost 20 " in result.stdout and "FAIL: datagrams lost" in result.stdout


def test_soak_reports_a_stall() -> None:
    # The last datagram of the first burst never comes: the watchdog ends the run.
    result = soak("-n", "20000", "--burst", "64", "--drop-every", "64",
                  "--stall-seconds", "0.5")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "(stalled)" in result.stdout


def test_soak_reports_memory_growth() -> None:
    result = soak("-n", "20000", "--max-growth-kb", "-100000")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "FAIL: VmRSS grew" in result.stdout
