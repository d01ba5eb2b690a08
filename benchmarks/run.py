"""dgram_uv benchmarks: one command, one table, one plot (issue 6).

    python benchmarks/run.py [--quick] [--only flood selfsend drain pingpong] [--out PATH]

Four benchmarks, each comparing dgram_uv with its peers on loopback only:

  flood     a C sendmmsg sender offers 64/512/1400-byte datagrams faster than
            any receiver reads; each receiver counts 'message' events for a
            fixed window.  dgram_uv, Node's dgram, LuaJIT+luv (luvit's shape),
            raw pyuv, uvloop and asyncio DatagramProtocols.
  selfsend  Node's benchmark/dgram single-buffer / offset-length /
            multi-buffer shape: one socket sends to itself in bursts of 100
            from its send callbacks.  dgram_uv and Node.
  drain     a reader's queue is filled with N datagrams while it is not
            reading, then it reads the queue empty: ns per datagram, with no
            competing sender.  Plus a C recvmmsg floor.
  pingpong  two sockets in one process, one 64-byte datagram in flight:
            round trips/s and p50/p99 round-trip time.

Every contestant runs as its own process (benchmarks/contestants/), driven
through a small line protocol on stdin/stdout, with a timeout on every step.
Contestants are alternated round by round (A B C, A B C, ...) and medians are
reported, because the machine is shared and noisy.  Results go to
benchmarks/results/latest.json and latest.png.

Also importable: ``main(argv) -> int`` (``python -m dgram_uv bench`` loads
this file by path and calls it).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONTESTANTS = HERE / "contestants"
BUILD = HERE / ".build"
RESULTS = HERE / "results"
HOST = "127.0.0.1"  # loopback only, always
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)

BENCHMARKS = ("flood", "selfsend", "drain", "pingpong")


class BenchError(Exception):
    """One run of one contestant failed; the message says why."""


# --- parameters --------------------------------------------------------------


@dataclass
class Params:
    quick: bool
    rounds: int
    flood_sizes: list[int]
    flood_warmup: float
    flood_seconds: float
    selfsend_cases: list[tuple[str, int, int]]  # (form, len, chunks)
    selfsend_num: int
    selfsend_warmup: float
    selfsend_seconds: float
    drain_count: int
    drain_size: int
    drain_rcvbuf: int
    drain_rounds: int
    pingpong_size: int
    pingpong_warmup: float
    pingpong_seconds: float

    @classmethod
    def make(cls, quick: bool, rounds: int | None) -> Params:
        if quick:
            return cls(
                quick=True,
                rounds=rounds or 2,
                flood_sizes=[64],
                flood_warmup=0.3,
                flood_seconds=1.0,
                selfsend_cases=[("single", 64, 1), ("offset", 1024, 1), ("multi", 1024, 8)],
                selfsend_num=100,
                selfsend_warmup=0.2,
                selfsend_seconds=0.8,
                drain_count=50_000,
                drain_size=64,
                drain_rcvbuf=64 << 20,
                drain_rounds=rounds or 2,
                pingpong_size=64,
                pingpong_warmup=0.2,
                pingpong_seconds=1.0,
            )
        cases = [("single", n, 1) for n in (1, 64, 256, 1024)]
        cases += [("offset", n, 1) for n in (1, 64, 256, 1024)]
        cases += [("multi", n, c) for c in (1, 8) for n in (64, 256, 1024)]
        return cls(
            quick=False,
            rounds=rounds or 3,
            flood_sizes=[64, 512, 1400],
            flood_warmup=0.5,
            flood_seconds=2.0,
            selfsend_cases=cases,
            selfsend_num=100,
            selfsend_warmup=0.3,
            selfsend_seconds=1.2,
            drain_count=200_000,
            drain_size=64,
            # A 64-byte datagram costs ~830 bytes of receive-buffer accounting
            # (skb truesize) on loopback; the kernel doubles the value set, so
            # 128 MiB holds ~320k of them.
            drain_rcvbuf=128 << 20,
            drain_rounds=rounds or 5,
            pingpong_size=64,
            pingpong_warmup=0.3,
            pingpong_seconds=2.0,
        )


# --- the machine and the tools -------------------------------------------------


@dataclass
class Env:
    python: str
    node: str | None
    luajit: str | None
    luajit_note: str | None
    taskset: str | None
    sender_cpu: int | None
    receiver_cpu: int | None
    pin_note: str

    def pin(self, argv: list[str], role: str) -> list[str]:
        """Prefix argv with taskset, sender and receivers on different cores."""
        cpu = self.sender_cpu if role == "sender" else self.receiver_cpu
        if self.taskset is None or cpu is None:
            return argv
        return [self.taskset, "-c", str(cpu), *argv]


def _capture(argv: Sequence[str], timeout: float = 20) -> str:
    """stdout of a short command, or '' if it is missing or fails."""
    try:
        out = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (out.stdout or out.stderr).strip() if out.returncode == 0 else ""


def _luv_works(luajit: str) -> bool:
    return bool(_capture([luajit, "-e", "print(require('luv').version_string())"]))


def ensure_luajit(install: bool, log: Callable[[str], None]) -> tuple[str | None, str | None]:
    """Find LuaJIT with luv; with ``install`` (make bench), apt-get it if missing.

    Returns (path or None, note explaining why it is missing).
    """
    luajit = shutil.which("luajit")
    if luajit and _luv_works(luajit):
        return luajit, None
    if install and shutil.which("apt-get") and os.geteuid() == 0:
        log("installing luajit and lua-luv with apt-get (once)")
        cmd = ["apt-get", "install", "-y", "-q", "luajit", "lua-luv"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for attempt in range(2):
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
            except subprocess.TimeoutExpired:
                break
            if done.returncode == 0:
                break
            if attempt == 0:  # stale or missing package lists
                with contextlib.suppress(subprocess.TimeoutExpired):
                    subprocess.run(
                        ["apt-get", "update", "-q"], capture_output=True, timeout=600, env=env
                    )
        luajit = shutil.which("luajit")
        if luajit and _luv_works(luajit):
            return luajit, None
    if not luajit:
        return None, "luajit not installed (apt-get install luajit lua-luv)"
    return None, "luajit has no luv module (apt-get install lua-luv)"


def build_c(log: Callable[[str], None]) -> dict[str, Path]:
    """Compile the C helpers into benchmarks/.build/ (when their source is newer)."""
    BUILD.mkdir(exist_ok=True)
    gcc = shutil.which("gcc") or shutil.which("cc")
    built: dict[str, Path] = {}
    for name in ("udp_blast", "recvmmsg_drain"):
        src = CONTESTANTS / f"{name}.c"
        exe = BUILD / name
        if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
            if gcc is None:
                raise SystemExit("gcc is needed to build the benchmark's C sender")
            log(f"building {exe.relative_to(REPO)}")
            subprocess.run(
                [gcc, "-O2", "-Wall", "-Wextra", "-o", str(exe), str(src)],
                check=True,
                timeout=120,
            )
        built[name] = exe
    return built


def detect_env(install: bool, log: Callable[[str], None]) -> Env:
    luajit, luajit_note = ensure_luajit(install, log)
    taskset = shutil.which("taskset")
    cpus = sorted(os.sched_getaffinity(0))
    if taskset and len(cpus) >= 2:
        sender_cpu, receiver_cpu = cpus[0], cpus[1]
        note = (
            f"sender pinned to CPU {sender_cpu}, receivers and single-process "
            f"benchmarks to CPU {receiver_cpu} (taskset)"
        )
    else:
        sender_cpu = receiver_cpu = None
        note = "not pinned (" + ("one CPU" if taskset else "no taskset") + ")"
    return Env(
        python=sys.executable,
        node=shutil.which("node"),
        luajit=luajit,
        luajit_note=luajit_note,
        taskset=taskset,
        sender_cpu=sender_cpu,
        receiver_cpu=receiver_cpu,
        pin_note=note,
    )


def machine_info() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "mem_total_mib": mem_kb // 1024,
        "loadavg_start": list(os.getloadavg()),
        "rmem_max": _read_int("/proc/sys/net/core/rmem_max"),
        "rmem_default": _read_int("/proc/sys/net/core/rmem_default"),
        "euid": os.geteuid(),
    }


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def versions(env: Env) -> dict[str, Any]:
    out: dict[str, Any] = {"python": platform.python_version(), "python_exe": sys.executable}
    probe = (
        "import json, pyuv\n"
        "d = {'pyuv': pyuv.__version__, 'pyuv_libuv': pyuv.LIBUV_VERSION}\n"
        "try:\n import uvloop; d['uvloop'] = uvloop.__version__\n"
        "except Exception as e: d['uvloop'] = 'unavailable: %s' % e\n"
        "try:\n import dgram_uv; d['dgram_uv'] = getattr(dgram_uv, '__version__', '?')\n"
        "except Exception as e: d['dgram_uv'] = 'unavailable: %s' % e\n"
        # Which receive path dgram_uv runs on: its compiled recvmmsg helper or
        # pyuv's start_recv (a private flag, so only reported when present).
        "try:\n from dgram_uv import _batch; d['dgram_uv_recvmmsg_helper'] = _batch.AVAILABLE\n"
        "except Exception: pass\n"
        "print(json.dumps(d))\n"
    )
    raw = _capture([env.python, "-c", probe])
    with contextlib.suppress(ValueError):
        out.update(json.loads(raw))
    out["dgram_uv_git"] = _capture(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = _capture(["git", "-C", str(REPO), "status", "--porcelain", "--", "dgram_uv"])
    out["dgram_uv_git_dirty"] = bool(dirty)
    if env.node:
        raw = _capture(
            [
                env.node,
                "-p",
                "JSON.stringify({node: process.version, uv: process.versions.uv,"
                " v8: process.versions.v8})",
            ]
        )
        with contextlib.suppress(ValueError):
            node = json.loads(raw)
            out["node"], out["node_libuv"], out["node_v8"] = node["node"], node["uv"], node["v8"]
    if env.luajit:
        out["luajit"] = _capture([env.luajit, "-v"])
        out["luv_libuv"] = _capture([env.luajit, "-e", "print(require('luv').version_string())"])
        out["lua_luv_package"] = _capture(["dpkg-query", "-W", "-f=${Version}", "lua-luv"])
    out["gcc"] = _capture(["gcc", "-dumpfullversion"])
    return out


# --- child processes -----------------------------------------------------------


class Child:
    """A contestant process with line-oriented stdin/stdout and hard deadlines.

    Each child gets its own session so that a timeout kills it and anything
    it started (taskset execs in place; node has helper threads, not
    processes), by process-group id, never by name.
    """

    def __init__(self, argv: list[str], name: str, pass_fds: Sequence[int] = ()) -> None:
        self.name = name
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            pass_fds=tuple(pass_fds),
            cwd=str(REPO),
        )
        self._buf = b""

    def readline(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"{self.name}: no answer within {timeout:.0f} s{self._stderr()}")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                self.proc.wait(timeout=5)
                code = self.proc.returncode
                how = f"status {code}" if code >= 0 else f"killed by {signal.Signals(-code).name}"
                raise BenchError(f"{self.name}: exited ({how}){self._stderr()}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def expect(self, word: str, timeout: float) -> list[str]:
        """Wait for a line starting with ``word``; return its fields."""
        line = self.readline(timeout)
        fields = line.split()
        if not fields or fields[0] != word:
            raise BenchError(f"{self.name}: expected {word}, got {line[:200]!r}{self._stderr()}")
        return fields

    def write(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def _stderr(self) -> str:
        """The tail of the child's stderr, once it has exited, for error messages."""
        if self.proc.poll() is None:
            self.kill()
        assert self.proc.stderr is not None
        try:
            err = self.proc.stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            err = ""
        if not err:
            return ""
        # The last line (the exception, for a traceback) first: the table clips.
        tail = " | ".join(reversed(err.splitlines()[-3:]))
        return f": {tail[-400:]}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)

    def close(self) -> None:
        self.kill()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@contextlib.contextmanager
def child(argv: list[str], name: str, pass_fds: Sequence[int] = ()) -> Iterator[Child]:
    c = Child(argv, name, pass_fds)
    try:
        yield c
    finally:
        c.close()


def kv(fields: Sequence[str]) -> dict[str, int]:
    """``RESULT a=1 b=2`` fields -> {'a': 1, 'b': 2}."""
    out: dict[str, int] = {}
    for item in fields:
        if "=" in item:
            k, v = item.split("=", 1)
            out[k] = int(float(v))
    return out


def run_sender(
    env: Env, exe: Path, port: int, size: int, *, seconds: float = 0, count: int = 0
) -> dict[str, int]:
    mode = ["--seconds", f"{seconds}"] if seconds else ["--count", str(count)]
    argv = env.pin([str(exe), HOST, str(port), str(size), *mode], "sender")
    timeout = (seconds or 10) + 30
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"sender: no exit within {timeout:.0f} s") from exc
    res = kv(done.stdout.split())
    if "sent" not in res:
        raise BenchError(f"sender failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    if count and res["sent"] != count:
        raise BenchError(f"sender sent {res['sent']} of {count} datagrams")
    return res


# --- contestants ---------------------------------------------------------------


@dataclass
class Contestant:
    name: str
    label: str
    argv: Callable[[str], list[str]] | None  # mode -> argv; None = unavailable
    unavailable: str = ""
    needs_fd: bool = False  # drain: the harness creates and sizes the socket


def contestants(env: Env, exe: dict[str, Path]) -> dict[str, Contestant]:
    py = str(CONTESTANTS / "py_udp.py")

    def python(impl: str) -> Callable[[str], list[str]]:
        return lambda mode: [env.python, py, mode, "--impl", impl]

    out = {
        impl: Contestant(impl, label, python(impl))
        for impl, label in (
            ("dgram_uv", "dgram_uv"),
            ("pyuv", "raw pyuv"),
            ("uvloop", "uvloop"),
            ("asyncio", "asyncio"),
        )
    }
    node_js = str(CONTESTANTS / "node_udp.js")
    node = env.node
    out["node"] = Contestant(
        "node",
        "Node dgram",
        (lambda mode: [node, node_js, mode]) if node else None,
        "" if node else "node not found on PATH",
        needs_fd=True,
    )
    lua = str(CONTESTANTS / "luv_udp.lua")
    luajit = env.luajit
    out["luvit"] = Contestant(
        "luvit",
        "LuaJIT+luv",
        (lambda mode: [luajit, lua, mode]) if luajit else None,
        env.luajit_note or "",
    )
    out["recvmmsg"] = Contestant(
        "recvmmsg", "C recvmmsg floor", lambda mode: [str(exe["recvmmsg_drain"])]
    )
    return out


# --- measurement bookkeeping -------------------------------------------------------


@dataclass
class Entry:
    """All runs of one contestant in one case."""

    contestant: str
    label: str
    runs: list[dict[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def median(self, key: str) -> float | None:
        values = [r[key] for r in self.runs if key in r]
        return statistics.median(values) if values else None

    def to_json(self, keys: Sequence[str]) -> dict[str, Any]:
        return {
            "label": self.label,
            "ok": bool(self.runs),
            "runs": self.runs,
            "medians": {k: self.median(k) for k in keys},
            "errors": self.errors,
            "notes": self.notes,
        }


def alternate(
    names: Sequence[str],
    rounds: int,
    table: dict[str, Contestant],
    once: Callable[[Contestant], dict[str, float]],
    progress: Callable[[str], None],
    what: str,
) -> dict[str, Entry]:
    """Run every contestant once per round, in the same order each round.

    A B C A B C ...: drift in the machine's load hits all of them alike, and
    the medians ignore a round that one noisy moment spoiled.
    """
    entries = {n: Entry(n, table[n].label) for n in names}
    for n in names:
        if table[n].argv is None:
            entries[n].errors.append(f"skipped: {table[n].unavailable}")
    live = [n for n in names if table[n].argv is not None]
    for r in range(rounds):
        for n in live:
            t0 = time.monotonic()
            try:
                res = once(table[n])
                entries[n].runs.append(res)
                status = "ok"
            except Exception as exc:  # any failure of one run is that run's result
                reason = str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"
                entries[n].errors.append(reason)
                status = f"FAILED: {reason[:150]}"
            progress(
                f"  {what:<22} round {r + 1}/{rounds} {table[n].label:<16} "
                f"{time.monotonic() - t0:5.1f} s  {status}"
            )
    return entries


# --- benchmark 1: flood receive --------------------------------------------------

FLOOD_NAMES = ("dgram_uv", "node", "luvit", "pyuv", "uvloop", "asyncio")


def bench_flood(
    p: Params, env: Env, table: dict[str, Contestant], exe: dict[str, Path], progress: Any
) -> dict[str, Any]:
    cases = []
    for size in p.flood_sizes:

        def once(c: Contestant, size: int = size) -> dict[str, float]:
            assert c.argv is not None
            argv = [*c.argv("flood"), "--warmup", str(p.flood_warmup)]
            argv += ["--seconds", str(p.flood_seconds)]
            with child(env.pin(argv, "receiver"), c.label) as rx:
                port = int(rx.expect("PORT", 30)[1])
                # The sender outlives the receiver's window; it stops when the
                # receiver has gone (ECONNREFUSED) or at its own deadline.
                sender_seconds = p.flood_warmup + p.flood_seconds + 1.0
                sender = run_sender(env, exe["udp_blast"], port, size, seconds=sender_seconds)
                res = kv(rx.expect("RESULT", 30)[1:])
            count = res["count"]
            if count <= 0:
                raise BenchError(f"{c.label}: received nothing")
            if res["bytes"] != count * size:
                raise BenchError(f"{c.label}: bytes {res['bytes']} != {count} x {size}")
            if res["port_sum"] != count * sender["port"]:
                raise BenchError(f"{c.label}: sender port sum mismatch")
            return {
                "datagrams_per_s": count / res["elapsed_ns"] * 1e9,
                "offered_per_s": sender["sent"] / sender["elapsed_ns"] * 1e9,
                "count": count,
                "window_s": res["elapsed_ns"] / 1e9,
            }

        entries = alternate(FLOOD_NAMES, p.rounds, table, once, progress, f"flood {size} B")
        for e in entries.values():
            rate, offered = e.median("datagrams_per_s"), e.median("offered_per_s")
            if rate and offered:
                e.notes.append(f"sender offered {fmt_rate(offered)}/s")
                if rate >= 0.9 * offered:
                    e.notes.append("SENDER-BOUND: received >= 90% of offered")
        cases.append(
            {
                "case": f"{size} B",
                "params": {"size": size},
                "primary": "datagrams_per_s",
                "higher_is_better": True,
                "contestants": {
                    n: e.to_json(["datagrams_per_s", "offered_per_s"]) for n, e in entries.items()
                },
            }
        )
    return {
        "title": "Flood receive",
        "unit": "datagrams/s",
        "description": "received datagrams/s under a sendmmsg flood (GSO-batched sender)",
        "cases": cases,
    }


# --- benchmark 2: self-send (Node's benchmark/dgram shape) ----------------------------

SELFSEND_NAMES = ("dgram_uv", "node")


def selfsend_label(form: str, length: int, chunks: int) -> str:
    if form == "multi":
        return f"multi {chunks}x{round(length / chunks)} B"
    return f"{form} {length} B"


def bench_selfsend(
    p: Params, env: Env, table: dict[str, Contestant], exe: dict[str, Path], progress: Any
) -> dict[str, Any]:
    cases = []
    for form, length, chunks in p.selfsend_cases:
        dgram_len = round(length / chunks) * chunks if form == "multi" else length

        def once(
            c: Contestant,
            form: str = form,
            length: int = length,
            chunks: int = chunks,
            dgram_len: int = dgram_len,
        ) -> dict[str, float]:
            assert c.argv is not None
            argv = [*c.argv("selfsend"), "--form", form, "--len", str(length)]
            argv += ["--chunks", str(chunks), "--num", str(p.selfsend_num)]
            argv += ["--warmup", str(p.selfsend_warmup), "--seconds", str(p.selfsend_seconds)]
            with child(env.pin(argv, "receiver"), c.label) as proc:
                timeout = p.selfsend_warmup + p.selfsend_seconds + 30
                res = kv(proc.expect("RESULT", timeout)[1:])
            secs = res["elapsed_ns"] / 1e9
            if res["sent"] <= 0:
                raise BenchError(f"{c.label}: no send completed")
            return {
                "sends_per_s": res["sent"] / secs,
                "received_per_s": res["received"] / secs,
                "gbit_per_s": res["received"] * dgram_len * 8 / secs / 1e9,
                "send_errors": res["errors"],
            }

        label = selfsend_label(form, length, chunks)
        entries = alternate(SELFSEND_NAMES, p.rounds, table, once, progress, f"selfsend {label}")
        for e in entries.values():
            errs = [r["send_errors"] for r in e.runs if r.get("send_errors")]
            if errs:
                e.notes.append(f"send callbacks with an error: up to {max(errs):.0f} per run")
        cases.append(
            {
                "case": label,
                "params": {
                    "form": form,
                    "len": length,
                    "chunks": chunks,
                    "datagram_len": dgram_len,
                    "num": p.selfsend_num,
                },
                "primary": "sends_per_s",
                "higher_is_better": True,
                "contestants": {
                    n: e.to_json(["sends_per_s", "received_per_s", "gbit_per_s"])
                    for n, e in entries.items()
                },
            }
        )
    return {
        "title": "Self-send",
        "unit": "sends/s",
        "description": "one socket sending to itself in bursts of 100 from its send callbacks",
        "cases": cases,
    }


# --- benchmark 3: drain a full queue -----------------------------------------------

DRAIN_NAMES = ("dgram_uv", "node", "luvit", "pyuv", "uvloop", "asyncio", "recvmmsg")


def udp_queue_stats(port: int) -> tuple[int, int] | None:
    """(rx_queue bytes, drops) of the IPv4 UDP socket bound to ``port``."""
    needle = f":{port:04X}"
    with contextlib.suppress(OSError), open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if len(parts) > 12 and parts[1].endswith(needle):
                rx_queue = int(parts[4].split(":")[1], 16)
                return rx_queue, int(parts[-1])
    return None


def harness_socket(rcvbuf: int) -> socket.socket:
    """A bound UDP socket with a forced receive buffer, for readers (Node)
    that cannot pass net.core.rmem_max themselves; it is handed over by fd."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((HOST, 0))
    return s


def bench_drain(
    p: Params, env: Env, table: dict[str, Contestant], exe: dict[str, Path], progress: Any
) -> dict[str, Any]:
    n, size = p.drain_count, p.drain_size

    def once(c: Contestant) -> dict[str, float]:
        assert c.argv is not None
        argv = c.argv("drain")
        pass_fds: tuple[int, ...] = ()
        held: socket.socket | None = None
        if c.needs_fd:
            held = harness_socket(p.drain_rcvbuf)
            pass_fds = (held.fileno(),)
            argv += ["--fd", str(held.fileno())]
        elif c.name == "recvmmsg":
            argv += [str(p.drain_rcvbuf)]
        else:
            argv += ["--rcvbuf", str(p.drain_rcvbuf)]
        try:
            with child(env.pin(argv, "receiver"), c.label, pass_fds) as rx:
                if held is not None:
                    held.close()  # the child has its own copy now
                    held = None
                fields = rx.expect("PORT", 30)
                port, rcvbuf = int(fields[1]), int(fields[2])
                sender = run_sender(env, exe["udp_blast"], port, size, count=n)
                stats = udp_queue_stats(port)
                rx.write(f"GO {n}")
                res = kv(rx.expect("RESULT", 120)[1:])
        finally:
            if held is not None:
                held.close()
        count = res["count"]
        if count != n:
            dropped = f", kernel dropped {stats[1]} while filling" if stats else ""
            raise BenchError(
                f"{c.label}: read {count} of {n} datagrams (SO_RCVBUF {rcvbuf}{dropped})"
            )
        if res["bytes"] != n * size or res["port_sum"] != n * sender["port"]:
            raise BenchError(f"{c.label}: byte or port sums do not match what was sent")
        return {
            "ns_per_datagram": res["elapsed_ns"] / count,
            "datagrams_per_s": count / res["elapsed_ns"] * 1e9,
            "rcvbuf": rcvbuf,
            "queued_bytes": stats[0] if stats else -1,
        }

    entries = alternate(DRAIN_NAMES, p.drain_rounds, table, once, progress, f"drain {n}x{size} B")
    return {
        "title": "Drain",
        "unit": "ns/datagram",
        "description": f"read {n} queued {size}-byte datagrams with nobody sending",
        "cases": [
            {
                "case": f"{n} x {size} B",
                "params": {"count": n, "size": size, "rcvbuf_requested": p.drain_rcvbuf},
                "primary": "ns_per_datagram",
                "higher_is_better": False,
                "contestants": {
                    k: e.to_json(["ns_per_datagram", "datagrams_per_s"]) for k, e in entries.items()
                },
            }
        ],
    }


# --- benchmark 4: ping-pong latency --------------------------------------------------

PINGPONG_NAMES = ("dgram_uv", "node", "pyuv")


def bench_pingpong(
    p: Params, env: Env, table: dict[str, Contestant], exe: dict[str, Path], progress: Any
) -> dict[str, Any]:
    size = p.pingpong_size

    def once(c: Contestant) -> dict[str, float]:
        assert c.argv is not None
        argv = [*c.argv("pingpong"), "--size", str(size)]
        argv += ["--warmup", str(p.pingpong_warmup), "--seconds", str(p.pingpong_seconds)]
        with child(env.pin(argv, "receiver"), c.label) as proc:
            timeout = p.pingpong_warmup + p.pingpong_seconds + 30
            res = kv(proc.expect("RESULT", timeout)[1:])
        if res["count"] <= 0:
            raise BenchError(f"{c.label}: no round trip completed")
        if res["bytes"] != res["count"] * size:
            raise BenchError(f"{c.label}: byte count mismatch")
        return {
            "round_trips_per_s": res["count"] / res["elapsed_ns"] * 1e9,
            "p50_us": res["p50_ns"] / 1e3,
            "p99_us": res["p99_ns"] / 1e3,
        }

    entries = alternate(PINGPONG_NAMES, p.rounds, table, once, progress, f"pingpong {size} B")
    return {
        "title": "Ping-pong",
        "unit": "round trips/s",
        "description": f"two sockets in one process, one {size}-byte datagram in flight",
        "cases": [
            {
                "case": f"{size} B",
                "params": {"size": size},
                "primary": "round_trips_per_s",
                "higher_is_better": True,
                "contestants": {
                    k: e.to_json(["round_trips_per_s", "p50_us", "p99_us"])
                    for k, e in entries.items()
                },
            }
        ],
    }


RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "flood": bench_flood,
    "selfsend": bench_selfsend,
    "drain": bench_drain,
    "pingpong": bench_pingpong,
}


# --- the table -------------------------------------------------------------------


def fmt_rate(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.0f}"


def figure_text(bench: str, med: dict[str, float | None]) -> str:
    """One contestant's medians as the table's 'result' cell."""
    if bench == "flood":
        return f"{fmt_rate(med['datagrams_per_s'] or 0)} dgram/s"
    if bench == "selfsend":
        return (
            f"{fmt_rate(med['sends_per_s'] or 0)} sends/s, "
            f"{fmt_rate(med['received_per_s'] or 0)} recv/s, "
            f"{med['gbit_per_s'] or 0:.3f} Gbit/s"
        )
    if bench == "drain":
        return f"{med['ns_per_datagram'] or 0:.0f} ns/dgram"
    return (
        f"{fmt_rate(med['round_trips_per_s'] or 0)} rt/s, "
        f"p50 {med['p50_us'] or 0:.1f} us, p99 {med['p99_us'] or 0:.1f} us"
    )


def speed_vs_node(case: dict[str, Any], name: str) -> float | None:
    """How many times faster than Node (>1 faster), on the case's primary figure."""
    key = case["primary"]
    mine = case["contestants"][name]["medians"].get(key)
    node = case["contestants"].get("node", {}).get("medians", {}).get(key)
    if not mine or not node:
        return None
    return mine / node if case["higher_is_better"] else node / mine


def table_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for bench, section in results["benchmarks"].items():
        for case in section["cases"]:
            for name, entry in case["contestants"].items():
                runs = len(entry["runs"])
                attempts = runs + sum(1 for e in entry["errors"] if not e.startswith("skipped"))
                if entry["ok"]:
                    figure = figure_text(bench, entry["medians"])
                    ratio = speed_vs_node(case, name)
                    vs = "" if name == "node" or ratio is None else f"{ratio:.2f}x"
                    notes = list(entry["notes"])
                    if entry["errors"]:
                        notes.append(f"{len(entry['errors'])} run(s) failed: {entry['errors'][0]}")
                else:
                    figure, vs = "FAILED", ""
                    notes = [entry["errors"][0] if entry["errors"] else "no result"]
                rows.append(
                    [
                        section["title"],
                        case["case"],
                        entry["label"],
                        figure,
                        vs,
                        f"{runs}/{attempts}",
                        "; ".join(notes),
                    ]
                )
    return rows


def render_table(results: dict[str, Any]) -> str:
    head = ["benchmark", "case", "contestant", "median", "speed vs Node", "runs", "notes"]
    rows = table_rows(results)
    # Notes can be long (failure reasons): clip them in the terminal table;
    # the JSON keeps them whole.
    rows = [[*r[:-1], r[-1] if len(r[-1]) <= 110 else r[-1][:107] + "..."] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    previous = None
    for r in rows:
        if previous is not None and r[0] != previous:
            out.append("")
        previous = r[0]
        out.append(line(r))
    return "\n".join(out)


# --- the plot ----------------------------------------------------------------------

COLORS = {
    "dgram_uv": "#d62728",
    "node": "#2ca02c",
    "luvit": "#1f77b4",
    "pyuv": "#ff7f0e",
    "uvloop": "#9467bd",
    "asyncio": "#8c564b",
    "recvmmsg": "#7f7f7f",
}


def render_plot(results: dict[str, Any], path: Path) -> str | None:
    """Write the PNG; return why not, if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return f"no plot: {exc} (pip install -e '.[bench]')"

    from matplotlib.patches import Patch

    sections = results["benchmarks"]
    n = len(sections)
    fig, axes = plt.subplots(n, 1, figsize=(13, 3.6 * n), squeeze=False)
    for ax, (bench, section) in zip(axes[:, 0], sections.items(), strict=True):
        cases = section["cases"]
        names: list[str] = []
        labels: dict[str, str] = {}
        for case in cases:
            for name, entry in case["contestants"].items():
                if name not in names:
                    names.append(name)
                    labels[name] = entry["label"]
        width = 0.8 / max(1, len(names))
        values: list[float] = []
        for j, name in enumerate(names):
            for i, case in enumerate(cases):
                entry = case["contestants"].get(name)
                if entry is None:
                    continue
                value = entry["medians"].get(case["primary"])
                x = i + (j - (len(names) - 1) / 2) * width
                if not value:
                    ax.annotate(
                        "failed",
                        (x, 0),
                        xycoords=("data", "axes fraction"),
                        ha="center",
                        va="bottom",
                        fontsize=7,
                        rotation=90,
                        color=COLORS.get(name, "k"),
                    )
                    continue
                values.append(value)
                ax.bar([x], [value], width, color=COLORS.get(name, "k"))
                ratio = speed_vs_node(case, name)
                if name != "node" and ratio is not None:
                    ax.annotate(
                        f"{ratio:.2f}x",
                        (x, value),
                        ha="center",
                        va="bottom",
                        fontsize=7,
                        rotation=90 if len(names) > 3 else 0,
                    )
        # One slow outlier (asyncio) would flatten every other bar: go
        # logarithmic when the spread is wide.
        if values and max(values) > 15 * min(values):
            ax.set_yscale("log")
        if bench == "flood":
            top = max(values, default=0)
            for i, case in enumerate(cases):
                offered = [
                    e["medians"].get("offered_per_s")
                    for e in case["contestants"].values()
                    if e["medians"].get("offered_per_s")
                ]
                if not offered:
                    continue
                y = statistics.median(offered)
                if y <= 3 * top:
                    ax.hlines(y, i - 0.45, i + 0.45, colors="k", linestyles="dashed", lw=1)
                    ax.annotate(
                        "sender offered", (i + 0.45, y), fontsize=7, ha="right", va="bottom"
                    )
                else:
                    ax.annotate(
                        f"sender offered {fmt_rate(y)}/s",
                        (i, 0.93),
                        xycoords=("data", "axes fraction"),
                        fontsize=7,
                        ha="center",
                    )
        ax.set_xticks(range(len(cases)))
        crowded = len(cases) > 6
        ax.set_xticklabels(
            [c["case"] for c in cases],
            fontsize=8,
            rotation=25 if crowded else 0,
            ha="right" if crowded else "center",
        )
        better = "higher" if cases and cases[0]["higher_is_better"] else "lower"
        ax.set_ylabel(f"{section['unit']} ({better} is better)", fontsize=8)
        ax.set_title(
            f"{section['title']}: {section['description']}  (labels: speed vs Node)", fontsize=10
        )
        handles = [Patch(color=COLORS.get(k, "k"), label=labels[k]) for k in names]
        ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1))
        ax.margins(y=0.25)
    fig.suptitle(
        f"dgram_uv benchmarks, {results['started'][:16]}  "
        f"({'quick' if results['parameters']['quick'] else 'full'} run, medians)",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


# --- main --------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="dgram_uv vs Node, LuaJIT+luv, pyuv, uvloop and asyncio on loopback UDP.",
    )
    parser.add_argument("--quick", action="store_true", help="a short run (under two minutes)")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help=f"run only these benchmarks: {', '.join(BENCHMARKS)} (space or comma separated)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS / "latest.json",
        help="where the JSON goes (the PNG goes beside it); default benchmarks/results/latest.json",
    )
    parser.add_argument("--rounds", type=int, help="rounds per case (default 3, quick 2)")
    parser.add_argument(
        "--setup",
        action="store_true",
        help="install missing system tools (luajit, lua-luv) with apt-get; `make bench` passes it",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    only = [x for item in (args.only or []) for x in item.split(",") if x]
    unknown = sorted(set(only) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {BENCHMARKS}")
    args.only = [b for b in BENCHMARKS if b in only] if only else list(BENCHMARKS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()

    def progress(msg: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    params = Params.make(args.quick, args.rounds)
    exe = build_c(progress)
    env = detect_env(args.setup, progress)
    table = contestants(env, exe)
    progress(f"pinning: {env.pin_note}")
    if env.luajit_note:
        progress(f"LuaJIT+luv contestant skipped: {env.luajit_note}")

    results: dict[str, Any] = {
        "schema": 1,
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": ["benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])],
        "machine": machine_info(),
        "versions": versions(env),
        "pinning": env.pin_note,
        "parameters": {k: v for k, v in vars(params).items()},
        "benchmarks": {},
    }
    for bench in args.only:
        progress(f"{bench} ...")
        results["benchmarks"][bench] = RUNNERS[bench](params, env, table, exe, progress)
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    results["machine"]["loadavg_end"] = list(os.getloadavg())

    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    png = out.with_suffix(".png")
    plot_problem = render_plot(results, png)

    print()
    print(render_table(results))
    print()
    print(
        f"{env.pin_note}; {'quick' if params.quick else 'full'} run, medians of "
        f"{params.rounds} rounds (drain {params.drain_rounds}); "
        f"speed vs Node > 1 means faster than Node."
    )
    print(f"wrote {out}" + (f" and {png}" if plot_problem is None else f" ({plot_problem})"))
    print(f"total {results['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
