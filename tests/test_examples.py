"""Each example in examples/ runs, on loopback, and finishes by itself.

The examples are run as subprocesses with the test's interpreter, in their
test modes (--idle, --once, --demo, ...), every one bounded by a timeout.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from subprocs import TIMEOUT, Proc

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXIT_SKIPPED = 77  # multicast_chat.py: the system refused multicast


def start(procs: list[Proc], script: str, *args: str) -> Proc:
    proc = Proc([sys.executable, str(EXAMPLES / script), *args])
    procs.append(proc)
    return proc


def run(script: str, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port bound by a socket that never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_echo_server_and_client(procs: list[Proc], host: str) -> None:
    server = start(procs, "echo_server.py", "--host", host, "--port", "0", "--idle", "1")
    port = server.expect(r"^listening on .*:(\d+)$").group(1)
    client = run("echo_client.py", port, "hello", "world", "--host", host)
    assert client.returncode == 0, client.stderr
    assert client.stdout.splitlines() == [f"echo from {host} port {port}: 'hello'",
                                          f"echo from {host} port {port}: 'world'"]
    # --idle 1: the server closes itself after a second without traffic.
    assert server.wait() == 0
    assert re.search(r" sent b'hello'$", server.output("stdout"), re.M)


def test_echo_server_reports_a_port_in_use(silent_port: int) -> None:
    result = run("echo_server.py", "--port", str(silent_port))
    assert result.returncode == 1
    assert result.stderr == f"echo_server: bind EADDRINUSE 127.0.0.1:{silent_port}\n"


def test_echo_client_gives_up_on_a_silent_server(silent_port: int) -> None:
    result = run("echo_client.py", str(silent_port), "anyone?", "--timeout", "0.3")
    assert result.returncode == 1
    assert result.stderr == "echo_client: 1 echo(es) missing after 0.3 s\n"


def test_multicast_chat_once() -> None:
    result = run("multicast_chat.py", "--once", "--name", "tester", "--port", "0")
    if result.returncode == EXIT_SKIPPED:
        # The join (or a multicast option) failed with an OS error: say which.
        pytest.skip(result.stderr.strip())
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\[127\.0\.0\.1:\d+\] tester: hello, group\n", result.stdout)


def test_multicast_chat_reads_lines_from_a_pipe() -> None:
    chat = subprocess.run([sys.executable, str(EXAMPLES / "multicast_chat.py"), "--name", "p",
                           "--port", "0"], input="first\n\nsecond", cwd=ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT)
    if chat.returncode == EXIT_SKIPPED:
        pytest.skip(chat.stderr.strip())
    assert chat.returncode == 0, chat.stderr
    said = [line.split("] ", 1)[1] for line in chat.stdout.splitlines()]
    assert said == ["p: first", "p: second", "p left"]  # the blank line is not sent


def test_request_retry_demo_retries_then_succeeds() -> None:
    result = run("request_retry.py", "--demo", "--drop", "2", "--retries", "3",
                 "--timeout", "0.2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("no answer")] == [
        "no answer within 0.2 s, sending again (attempt 2 of 4)",
        "no answer within 0.2 s, sending again (attempt 3 of 4)",
    ]
    assert lines[-1] == "answer: answer for example.test"


def test_request_retry_gives_up_with_an_error(silent_port: int) -> None:
    result = run("request_retry.py", "--port", str(silent_port), "--retries", "2",
                 "--timeout", "0.2")
    assert result.returncode == 1
    assert result.stderr == (f"request_retry: no answer from 127.0.0.1:{silent_port} "
                             "after 3 attempts (0.2 s each)\n")
    assert result.stdout.count("sending again") == 2


def test_request_retry_client_against_server_process(procs: list[Proc]) -> None:
    server = start(procs, "request_retry.py", "--serve", "0", "--drop", "1")
    port = server.expect(r"^server: listening on .*:(\d+)$").group(1)
    result = run("request_retry.py", "--port", port, "--name", "a.test", "--timeout", "0.2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "answer: answer for a.test"
    server.expect(r"^server: dropping query 1 of 1$")


def test_luvit_port_echo(procs: list[Proc]) -> None:
    server = start(procs, "luvit_port_echo.py", "0", "127.0.0.1", "1")
    port = server.expect(r"^echo server on 127\.0\.0\.1:(\d+)$").group(1)
    client = run("echo_client.py", port, "from luvit")
    assert client.returncode == 0, client.stderr
    server.expect(r"^echo 10 bytes to 127\.0\.0\.1:\d+$")
    assert server.wait() == 0
    assert server.output("stdout").endswith("idle for 1 s, closing")


def test_luvit_port_maps_every_lua_statement() -> None:
    """Each call of echo.lua is quoted in a comment of the port."""
    lua = (EXAMPLES / "luvit" / "echo.lua").read_text()
    port = (EXAMPLES / "luvit_port_echo.py").read_text()
    for needle in ("require('dgram')", "dgram.createSocket('udp4')", "server:on('message'",
                   "server:send(msg, rinfo.port, rinfo.ip", "server:on('error'",
                   "server:setTimeout(IDLE * 1000", "server:bind(PORT, HOST)",
                   "server:address()"):
        assert needle in lua
        assert re.search(rf"#.*{re.escape(needle)}", port), needle


def test_luvit_echo_lua_runs_under_luvit(procs: list[Proc]) -> None:
    luvit = shutil.which("luvit")
    if luvit is None:
        pytest.skip("luvit is not installed here; echo.lua is checked against its Python port")
    server = Proc([luvit, str(EXAMPLES / "luvit" / "echo.lua"), "0", "127.0.0.1", "1"])
    procs.append(server)
    port = server.expect(r"^echo server on 127\.0\.0\.1:(\d+)$").group(1)
    client = run("echo_client.py", port, "to luvit")
    assert client.returncode == 0, client.stderr
    assert server.wait() == 0


def readme_snippets() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"^```python\n(.*?)^```$", text, re.M | re.S)


@pytest.mark.parametrize("index", range(len(readme_snippets())))
def test_readme_python_snippets_run(index: int) -> None:
    """Every Python block of README.md runs and finishes by itself."""
    code = readme_snippets()[index]
    if "41234" in code:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", 41234))
            except OSError as err:
                pytest.skip(f"the snippet's port 41234 is busy here: {err}")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
