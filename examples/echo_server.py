"""A UDP echo server on dgram_uv: every datagram goes back to its sender.

    python examples/echo_server.py --port 41234            # until Ctrl-C
    python examples/echo_server.py --port 0 --idle 2       # exits after 2 s of quiet

It prints ``listening on HOST:PORT`` once bound (port 0 picks a free port),
then one line per datagram.  Loopback only by default; pair it with
echo_client.py.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import dgram_uv


def main(argv: list[str] | None = None) -> int:
    """Run the echo server; returns the exit status (1 after an error)."""
    parser = argparse.ArgumentParser(description="UDP echo server (dgram_uv)")
    parser.add_argument("--host", default="127.0.0.1", help="127.0.0.1 (default) or ::1")
    parser.add_argument("--port", type=int, default=41234, help="0 picks a free port")
    parser.add_argument("--idle", type=float, default=0,
                        help="exit after this many seconds without traffic (0: never)")
    args = parser.parse_args(argv)
    failed = False

    server = dgram_uv.createSocket("udp6" if ":" in args.host else "udp4")

    def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
        print(f"{rinfo['address']} port {rinfo['port']} sent {msg!r}", flush=True)
        server.send(msg, rinfo["port"], rinfo["address"])

    def on_listening() -> None:
        where = server.address()
        print(f"listening on {where['address']}:{where['port']}", flush=True)

    def on_error(err: dgram_uv.DgramError) -> None:
        # A bind failure (EADDRINUSE, ...) arrives here, never silently dropped.
        nonlocal failed
        failed = True
        print(f"echo_server: {err}", file=sys.stderr, flush=True)
        server.close()

    server.on("message", on_message)
    server.on("listening", on_listening)
    server.on("error", on_error)
    if args.idle:
        # luvit's idle timeout: 'timeout' after this long without a send or a
        # receive; each datagram re-arms it.
        server.setTimeout(args.idle * 1000, server.close)
    server.bind(args.port, args.host)
    dgram_uv.run()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
