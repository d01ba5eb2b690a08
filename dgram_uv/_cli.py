"""The ``dgram-uv`` command line (``python -m dgram_uv``), built on the library.

Subcommands: ``listen`` prints datagrams, ``send`` sends one (and can wait
for a reply), ``echo`` runs an echo server, ``bench`` runs benchmarks/run.py.
Each command gets a fresh ``pyuv.Loop``; SIGINT and SIGTERM are watched with
``pyuv.Signal`` handles on that loop, close the sockets and end the command
with status 128 + signal number (130 for Ctrl-C), without a traceback.

Exit statuses: 0 done; 1 ``send --wait-reply`` got no reply in time;
2 bad arguments or an error from dgram_uv (one line on stderr,
``dgram-uv: error: ...``); 130 / 143 interrupted by SIGINT / SIGTERM.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib.util
import ipaddress
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pyuv

from . import DgramError, Socket, createSocket

PROG = "dgram-uv"
EXIT_OK, EXIT_NO_REPLY, EXIT_ERROR = 0, 1, 2
# Where `bench` finds the benchmark runner: the repository this package sits in.
BENCH_RUNNER = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


class CommandError(Exception):
    """A failure to report as ``dgram-uv: error: ...`` with exit status 2."""


# -- output ---------------------------------------------------------------

def format_peer(rinfo: dict[str, Any]) -> str:
    """``127.0.0.1:5000`` or ``[::1]:5000``."""
    host = rinfo["address"]
    return f"[{host}]:{rinfo['port']}" if ":" in host else f"{host}:{rinfo['port']}"


def format_text(msg: bytes, rinfo: dict[str, Any]) -> str:
    """One readable line: ``127.0.0.1:5000 b'hello'`` (the payload as a bytes repr,
    so binary and control bytes stay on one line)."""
    return f"{format_peer(rinfo)} {msg!r}"


def format_json(msg: bytes, rinfo: dict[str, Any]) -> str:
    """One JSON object: address, family, port, size, and the payload in ``data``.

    ``encoding`` says how ``data`` holds it: ``"utf-8"`` (the payload is valid
    UTF-8 and ``data`` is that text) or ``"base64"`` (anything else).
    """
    try:
        data, encoding = msg.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        data, encoding = base64.b64encode(msg).decode("ascii"), "base64"
    return json.dumps({"address": rinfo["address"], "family": rinfo["family"],
                       "port": rinfo["port"], "size": rinfo["size"],
                       "encoding": encoding, "data": data})


def _error_line(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    code = getattr(err, "code", None)
    # OS errors already read "bind EADDRINUSE 127.0.0.1:53"; argument and state
    # errors are prose, so their code is added for grep-ability.
    if isinstance(err, DgramError) and code and code not in text:
        text = f"{text} ({code})"
    return f"{PROG}: error: {text}"


def socket_type(host: str) -> str:
    """'udp6' for an IPv6 literal, else 'udp4' (host names resolve as IPv4)."""
    try:
        return "udp6" if ipaddress.ip_address(host).version == 6 else "udp4"
    except ValueError:
        return "udp4"


# -- one command's loop -----------------------------------------------------

class _Loop(pyuv.Loop):  # type: ignore[misc]
    """A fresh loop whose callbacks' exceptions end the command instead of
    being printed and ignored (pyuv's default excepthook)."""

    # Set right after construction (pyuv.Loop() takes no arguments).
    on_exception: Callable[[BaseException], None]

    def excepthook(self, typ: type[BaseException], value: BaseException,
                   tb: TracebackType | None) -> None:
        self.on_exception(value)


class Session:
    """One command: its loop, its sockets, and the exit status that ends it."""

    def __init__(self) -> None:
        self.loop = _Loop()
        self.loop.on_exception = self._on_exception
        self.sockets: list[Socket] = []
        self.status: int | None = None
        self._exception: BaseException | None = None
        self._signals: list[pyuv.Signal] = []
        # libuv resets a signal to SIG_DFL when its last handle closes; keep
        # Python's handlers to put back, so Ctrl-C after the command (main()
        # called in-process) still raises KeyboardInterrupt.
        self._python_handlers = {signum: signal.getsignal(signum)
                                 for signum in (signal.SIGINT, signal.SIGTERM)}
        for signum in self._python_handlers:
            handle = pyuv.Signal(self.loop)
            handle.start(self._on_signal, signum)
            # Watching for Ctrl-C must not keep a finished command alive.
            handle.ref = False
            self._signals.append(handle)

    def socket(self, host: str) -> Socket:
        """A socket on this loop for ``host``'s family; its errors end the command."""
        sock = createSocket(socket_type(host), loop=self.loop)
        sock.on("error", self.fail)
        self.sockets.append(sock)
        return sock

    def finish(self, status: int) -> None:
        """End the command with ``status`` (the first call wins): close the
        sockets and let the loop run dry."""
        if self.status is None:
            self.status = status
        for sock in self.sockets:
            sock.close()  # a no-op on a closed socket
        for handle in self._signals:
            if not handle.closed:
                handle.close()

    def fail(self, err: BaseException) -> None:
        """Report ``err`` on one line and end with status 2."""
        if self.status is None:
            print(_error_line(err), file=sys.stderr, flush=True)
        self.finish(EXIT_ERROR)

    def _on_signal(self, _handle: pyuv.Signal, signum: int) -> None:
        self.finish(128 + signum)

    def _on_exception(self, exc: BaseException) -> None:
        if self._exception is None:
            self._exception = exc
        self.finish(EXIT_ERROR)

    def run(self) -> int:
        """Run the loop until the command finishes; returns the exit status."""
        try:
            self.loop.run(pyuv.UV_RUN_DEFAULT)
        finally:
            self._restore_signals()
        if self._exception is not None:
            raise self._exception
        return EXIT_OK if self.status is None else self.status

    def abort(self) -> None:
        """The command failed before its loop ran: close everything."""
        self.finish(EXIT_ERROR)
        try:
            self.loop.run(pyuv.UV_RUN_DEFAULT)  # lets the handles close
        finally:
            self._restore_signals()

    def _restore_signals(self) -> None:
        for handle in self._signals:
            if not handle.closed:
                handle.close()
        self.loop.run(pyuv.UV_RUN_NOWAIT)  # the close completes, libuv lets go of the signal
        for signum, handler in self._python_handlers.items():
            if handler is None:  # not installed from Python: nothing to put back
                continue
            # Outside the main thread Python cannot set handlers (ValueError).
            with contextlib.suppress(ValueError):
                signal.signal(signum, handler)


def _bound(session: Session, sock: Socket, host: str, port: int, label: str) -> None:
    """Bind and say where on stderr once listening (stdout is for datagrams)."""
    def listening() -> None:
        print(f"{label} on {format_peer(sock.address())}", file=sys.stderr, flush=True)

    sock.bind(port, host, listening)


# -- subcommands ------------------------------------------------------------

def cmd_listen(args: argparse.Namespace, session: Session) -> None:
    """Print every datagram that arrives, with its sender."""
    sock = session.socket(args.host)
    fmt = format_json if args.json else format_text
    seen = 0

    def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
        nonlocal seen
        print(fmt(msg, rinfo), flush=True)
        seen += 1
        if args.count and seen >= args.count:
            session.finish(EXIT_OK)

    sock.on("message", on_message)
    _bound(session, sock, args.host, args.port, "listening")


def cmd_echo(args: argparse.Namespace, session: Session) -> None:
    """Send every datagram back to its sender."""
    sock = session.socket(args.host)
    seen = 0

    def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
        nonlocal seen
        if args.verbose:
            print(format_text(msg, rinfo), flush=True)
        seen += 1
        last = bool(args.count) and seen >= args.count

        def sent(err: DgramError | None) -> None:
            if err is not None:
                session.fail(err)
            elif last:
                # With --count, end once the last reply is out, not before.
                session.finish(EXIT_OK)

        sock.send(msg, rinfo["port"], rinfo["address"], sent)

    sock.on("message", on_message)
    _bound(session, sock, args.host, args.port, "echo server")


def cmd_send(args: argparse.Namespace, session: Session) -> None:
    """Send MESSAGE; with --wait-reply, print the first reply from HOST:PORT."""
    wait = args.wait_reply
    if wait is not None and not 0 < wait < float("inf"):
        raise CommandError(f"--wait-reply must be a positive number of seconds, not {wait}")
    sock = session.socket(args.host)
    fmt = format_json if args.json else format_text

    def sent(err: DgramError | None) -> None:
        if err is not None:
            session.fail(err)
        elif wait is None:
            session.finish(EXIT_OK)

    if wait is not None:
        def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
            # Only the peer's port is checked: a host name's address is not
            # known here, and a stray datagram from elsewhere is not a reply.
            if rinfo["port"] != args.port:
                return
            print(fmt(msg, rinfo), flush=True)
            session.finish(EXIT_OK)

        def no_reply() -> None:
            print(f"{PROG}: no reply from {args.host}:{args.port} within {wait:g} s",
                  file=sys.stderr, flush=True)
            session.finish(EXIT_NO_REPLY)

        sock.on("message", on_message)
        # The idle timeout starts counting at the send (a send is activity).
        sock.setTimeout(wait * 1000.0, no_reply)
    sock.send(args.message, args.port, args.host, sent)


def load_bench_main(path: Path | None = None) -> Callable[[list[str]], int | None]:
    """``main`` of ``path`` (default: benchmarks/run.py), loaded by path: the
    runner is not part of the package."""
    if path is None:
        path = BENCH_RUNNER  # looked up now, not at import: tests point it elsewhere
    if not path.is_file():
        raise CommandError(f"no benchmark runner at {path} "
                           "(bench needs a source checkout of dgram_uv)")
    # As when run as a script: its own directory first on sys.path, so the
    # runner can import its sibling modules.
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("dgram_uv_bench_run", path)
    if spec is None or spec.loader is None:
        raise CommandError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up here
    spec.loader.exec_module(module)
    main = getattr(module, "main", None)
    if not callable(main):
        raise CommandError(f"{path} has no main(argv) function")
    return main  # type: ignore[no-any-return]


def cmd_bench(rest: list[str], bench_parser: argparse.ArgumentParser) -> int:
    """Run benchmarks/run.py's ``main`` with ``rest``; its status is ours."""
    if rest in (["-h"], ["--help"]):
        bench_parser.print_help()
        if not BENCH_RUNNER.is_file():
            return EXIT_OK
        print(f"\nOptions of {BENCH_RUNNER.name}:", flush=True)
    main = load_bench_main()
    try:
        status = main(rest)
    except SystemExit as exc:  # the runner's argparse exits on --help or bad options
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_ERROR)
    return EXIT_OK if status is None else int(status)


# -- argument parsing -------------------------------------------------------

def build_parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The top-level parser, and the bench subparser (bench parses its own options)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="UDP from the command line, on dgram_uv (luvit's dgram for Python).",
        epilog="Exit status: 0 ok, 1 no reply (send --wait-reply), 2 error, "
               "130 interrupted (Ctrl-C).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listen = sub.add_parser(
        "listen", help="print each datagram received, with its sender",
        description="Bind HOST:PORT and print each datagram with its sender, one per line: "
                    "HOST:PORT b'payload'.  With --json, one JSON object per line with "
                    "address, family, port, size, encoding and data; data is the payload as "
                    "text when it is valid UTF-8 (encoding \"utf-8\"), else base64 "
                    "(encoding \"base64\").  'listening on HOST:PORT' goes to stderr.")
    listen.add_argument("port", metavar="PORT", type=int, help="port to bind (0: any free port)")
    listen.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; 0.0.0.0 or :: for all)")
    listen.add_argument("--json", action="store_true", help="one JSON object per datagram")
    listen.add_argument("--count", type=int, default=0, metavar="N",
                        help="exit after N datagrams (default: run until Ctrl-C)")
    listen.set_defaults(run=cmd_listen)

    send = sub.add_parser(
        "send", help="send one datagram, optionally wait for a reply",
        description="Send MESSAGE (UTF-8) to HOST:PORT.  With --wait-reply, print the first "
                    "datagram that comes back from PORT within SECONDS (same format as "
                    "listen) and exit 1 if none comes.")
    send.add_argument("host", metavar="HOST", help="destination address or host name")
    send.add_argument("port", metavar="PORT", type=int, help="destination port")
    send.add_argument("message", metavar="MESSAGE", help="payload, sent as UTF-8")
    send.add_argument("--wait-reply", type=float, metavar="SECONDS",
                      help="wait this long for a reply; exit 1 if none comes")
    send.add_argument("--json", action="store_true", help="print the reply as JSON")
    send.set_defaults(run=cmd_send)

    echo = sub.add_parser(
        "echo", help="run an echo server",
        description="Bind HOST:PORT and send every datagram back to its sender until "
                    "Ctrl-C.  'echo server on HOST:PORT' goes to stderr.")
    echo.add_argument("port", metavar="PORT", type=int, help="port to bind (0: any free port)")
    echo.add_argument("--host", default="127.0.0.1",
                      help="address to bind (default 127.0.0.1; 0.0.0.0 or :: for all)")
    echo.add_argument("-v", "--verbose", action="store_true",
                      help="print each datagram as listen does")
    echo.add_argument("--count", type=int, default=0, metavar="N",
                      help="exit after echoing N datagrams (default: run until Ctrl-C)")
    echo.set_defaults(run=cmd_echo)

    bench = sub.add_parser(
        "bench", help="run the benchmark suite (benchmarks/run.py)", add_help=False,
        description="Run benchmarks/run.py from the dgram_uv source checkout; every "
                    "argument after 'bench' is passed to it unchanged.")
    bench.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                       help="arguments for benchmarks/run.py (try: bench --help)")
    return parser, bench


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser, bench_parser = build_parser()
    try:
        # bench's arguments belong to the runner, options included, so they
        # bypass argparse (REMAINDER would not take a leading --option).
        if args_list[:1] == ["bench"]:
            return cmd_bench(args_list[1:], bench_parser)
        args = parser.parse_args(args_list)
        if getattr(args, "count", 0) < 0:
            parser.error(f"--count must be 0 or more, not {args.count}")
        session = Session()
        try:
            args.run(args, session)
        except BaseException:
            session.abort()
            raise
        return session.run()
    except (DgramError, CommandError) as err:
        print(_error_line(err), file=sys.stderr, flush=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        # Ctrl-C outside the loop (before the Signal handle watches, or in bench).
        return 128 + signal.SIGINT
    except BrokenPipeError:
        # `dgram-uv listen 5000 | head -1`: the reader left; exit quietly and
        # keep Python from complaining when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
