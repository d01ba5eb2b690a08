"""The dgram-uv command line, run as ``python -m dgram_uv`` subprocesses on loopback.

Every subprocess is bounded: ``subprocess.run`` gets a timeout, and a
long-running one (listen, echo) is read through :class:`Proc`, whose waits
all have deadlines and which kills the process if a test leaves it behind.
``Proc`` is shared with test_examples.py.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dgram_uv import _cli
from subprocs import TIMEOUT, Proc

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "dgram_uv"]


def start(procs: list[Proc], *args: str) -> Proc:
    proc = Proc([*CLI, *args])
    procs.append(proc)
    return proc


def run_cli(*args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def listening_port(proc: Proc, label: str = "listening") -> int:
    """The port from the ``listening on HOST:PORT`` line on stderr."""
    return int(proc.expect(rf"^{label} on .*:(\d+)$", "stderr").group(1))


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port bound by a socket that never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# -- listen and send ------------------------------------------------------------

def test_listen_and_send_round_trip(procs: list[Proc]) -> None:
    listener = start(procs, "listen", "0", "--count", "1")
    port = listening_port(listener)
    sent = run_cli("send", "127.0.0.1", str(port), "hello")
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout == ""
    listener.expect(r"^127\.0\.0\.1:\d+ b'hello'$")
    assert listener.wait() == 0


def test_listen_on_ipv6_loopback(procs: list[Proc]) -> None:
    listener = start(procs, "listen", "0", "--host", "::1", "--count", "1")
    port = listening_port(listener)
    assert run_cli("send", "::1", str(port), "six").returncode == 0
    listener.expect(r"^\[::1\]:\d+ b'six'$")
    assert listener.wait() == 0


def test_listen_json_lines_parse(procs: list[Proc]) -> None:
    listener = start(procs, "listen", "0", "--json", "--count", "3")
    port = listening_port(listener)
    payloads = [b"caf\xc3\xa9", b"\xff\x00binary", b""]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.bind(("127.0.0.1", 0))
        for payload in payloads:
            sender.sendto(payload, ("127.0.0.1", port))
        sender_port = sender.getsockname()[1]
        assert listener.wait() == 0
    records = [json.loads(line) for line in listener.seen["stdout"]]
    assert len(records) == 3
    for record in records:
        assert set(record) == {"address", "family", "port", "size", "encoding", "data"}
        assert (record["address"], record["family"], record["port"]) == (
            "127.0.0.1", "IPv4", sender_port)
    assert records[0] | {"port": 0} == {"address": "127.0.0.1", "family": "IPv4", "port": 0,
                                        "size": 5, "encoding": "utf-8", "data": "café"}
    assert records[1]["encoding"] == "base64"
    assert base64.b64decode(records[1]["data"]) == payloads[1]
    assert records[1]["size"] == len(payloads[1])
    assert (records[2]["size"], records[2]["encoding"], records[2]["data"]) == (0, "utf-8", "")


def test_echo_and_send_wait_reply(procs: list[Proc]) -> None:
    server = start(procs, "echo", "0", "--verbose")
    port = listening_port(server, "echo server")
    reply = run_cli("send", "127.0.0.1", str(port), "ping", "--wait-reply", "5")
    assert reply.returncode == 0, reply.stderr
    assert re.fullmatch(rf"127\.0\.0\.1:{port} b'ping'\n", reply.stdout)
    server.expect(r"^127\.0\.0\.1:\d+ b'ping'$")  # --verbose logs what it echoed
    as_json = run_cli("send", "127.0.0.1", str(port), "pong", "--wait-reply", "5", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["data"] == "pong"


def test_echo_count_exits_after_replying(procs: list[Proc]) -> None:
    server = start(procs, "echo", "0", "--count", "1")
    port = listening_port(server, "echo server")
    reply = run_cli("send", "127.0.0.1", str(port), "once", "--wait-reply", "5")
    assert reply.returncode == 0, reply.stderr
    assert server.wait() == 0


def test_send_wait_reply_times_out_with_status_1(silent_port: int) -> None:
    began = time.monotonic()
    result = run_cli("send", "127.0.0.1", str(silent_port), "anyone?", "--wait-reply", "0.3")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"dgram-uv: no reply from 127.0.0.1:{silent_port} within 0.3 s\n"
    assert time.monotonic() - began < TIMEOUT / 2


def test_send_without_wait_exits_at_once(silent_port: int) -> None:
    result = run_cli("send", "127.0.0.1", str(silent_port), "fire and forget")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# -- errors ------------------------------------------------------------------------

def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dgram-uv: error: ")
    return lines[0]


@pytest.mark.parametrize("args", [["listen", "70000"], ["echo", "65536"],
                                  ["send", "127.0.0.1", "0", "x"],
                                  ["send", "127.0.0.1", "65536", "x"]])
def test_bad_port_is_a_clear_error(args: list[str]) -> None:
    line = one_error_line(run_cli(*args))
    assert "ERR_SOCKET_BAD_PORT" in line
    assert re.search(r"Port should be >= [01] and < 65536\. Received \d+", line)


def test_non_numeric_port_is_refused_by_the_parser() -> None:
    result = run_cli("listen", "abc")
    assert result.returncode == 2
    assert "invalid int value: 'abc'" in result.stderr
    assert "Traceback" not in result.stderr


def test_address_in_use_is_a_clear_error(silent_port: int) -> None:
    line = one_error_line(run_cli("listen", str(silent_port)))
    assert line == f"dgram-uv: error: bind EADDRINUSE 127.0.0.1:{silent_port}"


def test_bad_wait_reply_and_count() -> None:
    line = one_error_line(run_cli("send", "127.0.0.1", "9", "x", "--wait-reply", "0"))
    assert "--wait-reply must be a positive number of seconds" in line
    result = run_cli("listen", "0", "--count", "-1")
    assert result.returncode == 2
    assert "--count must be 0 or more" in result.stderr


def test_unknown_host_is_a_clear_error() -> None:
    # .invalid never resolves (RFC 2606); the resolver may say ENOTFOUND, or
    # EAI_AGAIN where there is no DNS at all: either way one line, status 2.
    line = one_error_line(run_cli("send", "no-such-host.invalid", "9", "x", timeout=30))
    assert line.startswith("dgram-uv: error: getaddrinfo ")
    assert "no-such-host.invalid" in line


# -- help ----------------------------------------------------------------------------

@pytest.mark.parametrize("command", [[], ["listen"], ["send"], ["echo"], ["bench"]])
def test_help(command: list[str]) -> None:
    result = run_cli(*command, "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    prog = " ".join(["dgram-uv", *command])
    assert result.stdout.startswith(f"usage: {prog}")


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "dgram-uv"
    if not script.exists():
        pytest.skip("dgram-uv console script not installed (run `make install`)")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.returncode == 0
    assert "listen" in result.stdout


def test_no_command_is_a_usage_error() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "usage: dgram-uv" in result.stderr


# -- signals -------------------------------------------------------------------------

@pytest.mark.parametrize(("command", "label", "signum"), [
    ("listen", "listening", signal.SIGINT),
    ("echo", "echo server", signal.SIGINT),
    ("listen", "listening", signal.SIGTERM),
])
def test_signal_exits_cleanly(procs: list[Proc], command: str, label: str,
                              signum: signal.Signals) -> None:
    proc = start(procs, command, "0")
    listening_port(proc, label)
    proc.popen.send_signal(signum)
    assert proc.wait() == 128 + signum
    assert "Traceback" not in proc.output("stderr")
    assert "KeyboardInterrupt" not in proc.output("stderr")


def test_sigint_while_waiting_for_a_reply(silent_port: int, procs: list[Proc]) -> None:
    proc = start(procs, "send", "127.0.0.1", str(silent_port), "x", "--wait-reply", "30")
    time.sleep(0.5)  # past start-up, inside the loop
    proc.popen.send_signal(signal.SIGINT)
    assert proc.wait() == 130
    assert proc.output("stderr") == ""


# -- in-process: formatting, bench, signal handlers ------------------------------------

def test_formats() -> None:
    rinfo4 = {"address": "127.0.0.1", "family": "IPv4", "port": 5000, "size": 5}
    rinfo6 = {"address": "::1", "family": "IPv6", "port": 5000, "size": 2}
    assert _cli.format_text(b"hello", rinfo4) == "127.0.0.1:5000 b'hello'"
    assert _cli.format_text(b"\n\x00", rinfo6) == "[::1]:5000 b'\\n\\x00'"
    assert json.loads(_cli.format_json(b"\x80", rinfo6 | {"size": 1})) == {
        "address": "::1", "family": "IPv6", "port": 5000, "size": 1,
        "encoding": "base64", "data": "gA=="}


def test_bench_without_runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "benchmarks" / "run.py"
    monkeypatch.setattr(_cli, "BENCH_RUNNER", missing)
    assert _cli.main(["bench", "--not-an-option"]) == 2
    err = capsys.readouterr().err
    assert err == (f"dgram-uv: error: no benchmark runner at {missing} "
                   "(bench needs a source checkout of dgram_uv)\n")


def test_bench_passes_arguments_through(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    runner = tmp_path / "run.py"
    record = tmp_path / "argv.json"
    runner.write_text(
        "import json, sys\n"
        "def main(argv=None):\n"
        f"    open({str(record)!r}, 'w').write(json.dumps(argv))\n"
        "    if argv == ['--exit']:\n"
        "        sys.exit(3)\n"
        "    return 7\n")
    monkeypatch.setattr(_cli, "BENCH_RUNNER", runner)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the runner's folder is added to it
    monkeypatch.delitem(sys.modules, "dgram_uv_bench_run", raising=False)
    assert _cli.main(["bench", "--only", "send", "-n", "3"]) == 7
    assert json.loads(record.read_text()) == ["--only", "send", "-n", "3"]
    assert _cli.main(["bench", "--exit"]) == 3  # SystemExit from the runner: its code


def test_main_in_process_restores_python_sigint_handler(silent_port: int) -> None:
    before = signal.getsignal(signal.SIGINT)
    assert _cli.main(["send", "127.0.0.1", str(silent_port), "x"]) == 0
    assert signal.getsignal(signal.SIGINT) is before
    # ... and it is really installed again, not just remembered by Python.
    if before is signal.default_int_handler:
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
            time.sleep(0.1)
