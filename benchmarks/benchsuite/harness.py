"""The harness of the dgram_uv benchmarks: machine, tools, children, rounds.

Everything a benchmark module needs and nothing specific to one benchmark:

- finding (and with ``--setup`` installing) the tools: node, LuaJIT + luv,
  taskset; pinning sender and receivers to different cores;
- compiling the C helpers in ``benchmarks/contestants/*.c`` that the selected
  benchmarks name, into ``benchmarks/.build/``;
- the child-process protocol (:class:`Child`: line-oriented stdin/stdout, a
  deadline on every step, killed by process group);
- the standard contestants (dgram_uv, Node, LuaJIT+luv, raw pyuv, uvloop,
  asyncio) and :func:`alternate`, which runs them round by round;
- :class:`Benchmark`, the record each module in ``benchsuite/benches/``
  exports as ``BENCHMARK``, and :func:`discover`, which finds them.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
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

HERE = Path(__file__).resolve().parent.parent  # benchmarks/
REPO = HERE.parent
CONTESTANTS = HERE / "contestants"
BUILD = HERE / ".build"
RESULTS = HERE / "results"
HOST = "127.0.0.1"  # loopback only, always
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)

Progress = Callable[[str], None]


class BenchError(Exception):
    """One run of one contestant failed; the message says why."""


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


def build_c(names: Sequence[str], log: Callable[[str], None]) -> dict[str, Path]:
    """Compile contestants/NAME.c into benchmarks/.build/NAME (when the source is newer)."""
    BUILD.mkdir(exist_ok=True)
    gcc = shutil.which("gcc") or shutil.which("cc")
    built: dict[str, Path] = {}
    for name in dict.fromkeys(names):
        src = CONTESTANTS / f"{name}.c"
        exe = BUILD / name
        if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
            if gcc is None:
                raise SystemExit(f"gcc is needed to build the benchmark's C helper {name}")
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
    sender_cpu: int | None = None
    receiver_cpu: int | None = None
    if taskset and len(cpus) >= 2:
        sender_cpu, receiver_cpu = cpus[0], cpus[1]
        note = (
            f"sender pinned to CPU {sender_cpu}, receivers and single-process "
            f"benchmarks to CPU {receiver_cpu} (taskset)"
        )
    else:
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


def contestants(env: Env) -> dict[str, Contestant]:
    """The contestants every benchmark may use; C floors belong to their benchmark."""
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


# --- the benchmark registry --------------------------------------------------------


@dataclass
class Context:
    """What a benchmark's ``run`` gets: the run's options and the machine."""

    quick: bool
    rounds: int | None  # --rounds, or None for the benchmark's own default
    env: Env
    table: dict[str, Contestant]
    exe: dict[str, Path]
    progress: Progress

    def rounds_or(self, full: int, quick: int = 2) -> int:
        return self.rounds or (quick if self.quick else full)


@dataclass(frozen=True)
class Benchmark:
    """One benchmark, as its module in ``benchsuite/benches/`` declares it.

    ``run`` returns the section of the results: ``title``, ``unit``,
    ``description``, ``parameters`` and ``cases``; each case has ``case``,
    ``primary`` (the key the ratios use), ``higher_is_better``,
    ``contestants`` (name -> :meth:`Entry.to_json`) and optionally ``floor``
    (the name of the C contestant the "vs C floor" column divides by) and
    ``also_vs_node`` (more keys to compare with Node, shown in the notes).
    ``figure`` turns one contestant's medians into the table's cell.
    """

    name: str
    order: int  # position in the table and the default run order
    summary: str  # one line for --help
    run: Callable[[Context], dict[str, Any]]
    figure: Callable[[dict[str, float | None]], str]
    helpers: tuple[str, ...] = ()  # C programs (contestants/NAME.c) it needs
    # Extra drawing on the benchmark's axes (matplotlib Axes, section, top value).
    plot_extra: Callable[[Any, dict[str, Any], float], None] | None = None


def discover() -> dict[str, Benchmark]:
    """Every ``BENCHMARK`` in ``benchsuite/benches/*.py``, in their order.

    Adding a benchmark is adding one module there: nothing else lists them.
    """
    from . import benches

    found: list[Benchmark] = []
    for info in pkgutil.iter_modules(benches.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{benches.__name__}.{info.name}")
        spec = getattr(module, "BENCHMARK", None)
        if isinstance(spec, Benchmark):
            found.append(spec)
    found.sort(key=lambda b: (b.order, b.name))
    return {b.name: b for b in found}


def case_json(
    label: str,
    params: dict[str, Any],
    primary: str,
    higher_is_better: bool,
    entries: dict[str, Entry],
    keys: Sequence[str],
    **extra: Any,
) -> dict[str, Any]:
    """One case of a section, in the shape the report reads."""
    return {
        "case": label,
        "params": params,
        "primary": primary,
        "higher_is_better": higher_is_better,
        **extra,
        "contestants": {n: e.to_json(keys) for n, e in entries.items()},
    }


def proc_cpu_ns(pid: int) -> int | None:
    """User + system CPU time of process ``pid`` (all its threads), in ns."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def fmt_rate(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.0f}"
