"""A multicast chat on the loopback interface, with dgram_uv.

Every peer binds the same group and port (reuseAddr lets them share it),
joins the group on the 127.0.0.1 interface, and sends each line of its
standard input to the group; with multicast loopback on, every peer on this
host, the sender included, receives it.  Nothing leaves the machine: the
outgoing interface is 127.0.0.1 and the multicast TTL is 0.

    python examples/multicast_chat.py --name alice        # type lines; Ctrl-D quits
    python examples/multicast_chat.py --name bob          # in another terminal
    python examples/multicast_chat.py --name t --once     # test mode (see below)

``--once`` sends one line and waits for it to come back through the group,
then exits 0 (1 if it did not come within ``--timeout`` seconds).  If the
system refuses multicast (some sandboxes do), it exits 77 with the reason:
the automake convention for "skipped".
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from typing import Any

import pyuv

import dgram_uv

EXIT_SKIPPED = 77
INTERFACE = "127.0.0.1"
# How a system without multicast (or a sandbox) refuses the bind to a group
# address or the join: these mean "skip", anything else is an error.
REFUSED = {"EADDRNOTAVAIL", "EINVAL", "ENODEV", "ENOPROTOOPT", "EOPNOTSUPP", "ENOTSUP",
           "EPERM", "EACCES", "ENOSYS", "ENETUNREACH"}


def main(argv: list[str] | None = None) -> int:
    """Chat on the group; returns the exit status."""
    parser = argparse.ArgumentParser(description="multicast chat on loopback (dgram_uv)")
    parser.add_argument("--name", default="anon", help="shown before your lines")
    parser.add_argument("--group", default="239.255.77.77",
                        help="an administratively scoped (239.x.x.x) IPv4 group")
    parser.add_argument("--port", type=int, default=41235)
    parser.add_argument("--once", action="store_true",
                        help="send one line, wait for it to come back, exit")
    parser.add_argument("--timeout", type=float, default=2.0, help="--once: how long to wait")
    args = parser.parse_args(argv)
    loop = pyuv.Loop.default_loop()
    status = 0
    hello = f"{args.name}: hello, group".encode()

    chat = dgram_uv.createSocket({"type": "udp4", "reuseAddr": True})

    def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
        print(f"[{rinfo['address']}:{rinfo['port']}] {msg.decode(errors='replace')}", flush=True)
        if args.once and msg == hello:
            chat.close()

    def on_error(err: dgram_uv.DgramError) -> None:
        nonlocal status
        status = 1
        print(f"multicast_chat: {err}", file=sys.stderr, flush=True)
        chat.close()

    chat.on("message", on_message)
    # Bound to the group address, not the wildcard: the socket gets only this
    # group's datagrams, and the chat never listens on a public interface.
    # A bind failure is emitted on a later loop iteration; catch it first, to
    # tell "this system refuses multicast addresses" from other errors.
    bind_errors: list[dgram_uv.DgramError] = []
    chat.once("error", bind_errors.append)
    chat.bind(args.port, args.group)
    try:
        # The group is an IP literal, so the socket is bound by now (or the
        # bind failed: EBADF); --port 0 (tests) picks a free port.
        args.port = chat.address()["port"]
        chat.addMembership(args.group, INTERFACE)
        chat.setMulticastInterface(INTERFACE)
        chat.setMulticastLoopback(True)
        chat.setMulticastTTL(0)  # never forwarded beyond this host
    except dgram_uv.DgramError as err:
        chat.close()
        dgram_uv.run()  # delivers the bind error, if that was it
        reason = bind_errors[0] if bind_errors else err
        if getattr(reason, "code", None) in REFUSED:
            print(f"multicast_chat: multicast unavailable here: {reason} ({reason.code})",
                  file=sys.stderr, flush=True)
            return EXIT_SKIPPED
        print(f"multicast_chat: {reason}", file=sys.stderr, flush=True)
        return 1
    chat.removeListener("error", bind_errors.append)
    chat.on("error", on_error)

    if args.once:
        def on_timeout() -> None:
            nonlocal status
            status = 1
            print(f"multicast_chat: own message did not come back within {args.timeout} s",
                  file=sys.stderr, flush=True)
            chat.close()

        chat.setTimeout(args.timeout * 1000, on_timeout)
        chat.send(hello, args.port, args.group)
    else:
        _read_lines(loop, chat, args)
    dgram_uv.run()
    return status


def _read_lines(loop: pyuv.Loop, chat: dgram_uv.Socket, args: argparse.Namespace) -> None:
    """Send each line of standard input to the group; leave at end of input."""
    farewell = f"{args.name} left".encode()

    def send_line(line: bytes) -> None:
        if line.strip():
            chat.send(args.name.encode() + b": " + line, args.port, args.group)

    def leave() -> None:
        # Close when our farewell comes back through the group (so the lines
        # before it were delivered too), or after a second of quiet if it
        # does not.
        chat.on("message", lambda msg, _rinfo: chat.close() if msg == farewell else None)
        chat.setTimeout(1000, chat.close)
        chat.send(farewell, args.port, args.group)

    mode = os.fstat(sys.stdin.fileno()).st_mode
    stdin: pyuv.Stream
    if sys.stdin.isatty():
        stdin = pyuv.TTY(loop, sys.stdin.fileno(), True)
    elif stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        stdin = pyuv.Pipe(loop)
        stdin.open(sys.stdin.fileno())
    else:
        # A file or /dev/null: libuv cannot watch it (it is always readable),
        # so read it at once.
        for line in sys.stdin.buffer.read().split(b"\n"):
            send_line(line)
        leave()
        return
    pending = b""

    def on_read(_handle: pyuv.Stream, data: bytes | None, error: int | None) -> None:
        nonlocal pending
        if data is None:  # end of input (or a read error)
            stdin.close()
            send_line(pending)
            leave()
            return
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            send_line(line)

    stdin.start_read(on_read)


if __name__ == "__main__":
    sys.exit(main())
