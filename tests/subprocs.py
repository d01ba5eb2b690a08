"""Subprocesses for the tests of the command line and the examples."""

from __future__ import annotations

import queue
import re
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10.0  # seconds; generous, only a failing test ever waits this long


class Proc:
    """A subprocess whose stdout and stderr lines are collected by threads,
    so a test can wait for a line with a deadline instead of blocking."""

    def __init__(self, args: list[str], cwd: Path = ROOT) -> None:
        self.popen = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
        self.lines: dict[str, queue.Queue[str]] = {"stdout": queue.Queue(),
                                                   "stderr": queue.Queue()}
        self.seen: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._threads = [threading.Thread(target=self._pump, args=(name, stream), daemon=True)
                         for name, stream in (("stdout", self.popen.stdout),
                                              ("stderr", self.popen.stderr))]
        for thread in self._threads:
            thread.start()

    def _pump(self, name: str, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines[name].put(line.rstrip("\n"))

    def expect(self, pattern: str, stream: str = "stdout",
               timeout: float = TIMEOUT) -> re.Match[str]:
        """Wait for a line of ``stream`` matching ``pattern`` (re.search)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines[stream].get(timeout=max(left, 0.001))
            except queue.Empty:
                raise AssertionError(f"no {stream} line matching {pattern!r} within {timeout} s; "
                                     f"saw {self.seen}") from None
            self.seen[stream].append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def wait(self, timeout: float = TIMEOUT) -> int:
        """The exit status; the remaining output is then in ``self.seen``."""
        status = self.popen.wait(timeout=timeout)
        for thread in self._threads:
            thread.join(timeout)
        for name, lines in self.lines.items():
            while not lines.empty():
                self.seen[name].append(lines.get_nowait())
        self._close_pipes()
        return status

    def _close_pipes(self) -> None:
        for thread in self._threads:
            thread.join(TIMEOUT)
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()

    def output(self, stream: str) -> str:
        return "\n".join(self.seen[stream])

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(TIMEOUT)
        self._close_pipes()
