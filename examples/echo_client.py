"""A UDP echo client on dgram_uv: send messages, wait for each to come back.

    python examples/echo_client.py 41234 hello world
    python examples/echo_client.py 41234 hi --host ::1 --timeout 0.5

Exits 0 when every echo came back, 1 when the server stayed quiet for
``--timeout`` seconds (an idle timeout, see setTimeout) or an error came.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import dgram_uv


def main(argv: list[str] | None = None) -> int:
    """Send the messages and print the echoes; returns the exit status."""
    parser = argparse.ArgumentParser(description="UDP echo client (dgram_uv)")
    parser.add_argument("port", type=int, help="the echo server's port")
    parser.add_argument("messages", nargs="*", default=["hello"], metavar="MESSAGE")
    parser.add_argument("--host", default="127.0.0.1", help="127.0.0.1 (default) or ::1")
    parser.add_argument("--timeout", type=float, default=1.0,
                        help="give up after this many seconds without an echo")
    args = parser.parse_args(argv)
    waiting = len(args.messages)
    status = 0

    client = dgram_uv.createSocket("udp6" if ":" in args.host else "udp4")

    def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
        nonlocal waiting
        print(f"echo from {rinfo['address']} port {rinfo['port']}: {msg.decode()!r}", flush=True)
        waiting -= 1
        if waiting == 0:
            client.close()

    def on_timeout() -> None:
        nonlocal status
        status = 1
        print(f"echo_client: {waiting} echo(es) missing after {args.timeout} s",
              file=sys.stderr, flush=True)
        client.close()

    def on_error(err: dgram_uv.DgramError) -> None:
        nonlocal status
        status = 1
        print(f"echo_client: {err}", file=sys.stderr, flush=True)
        client.close()

    client.on("message", on_message)
    client.on("error", on_error)  # a send with no callback reports failures here
    client.setTimeout(args.timeout * 1000, on_timeout)
    for text in args.messages:
        # The first send binds the socket to an ephemeral port, so the echoes
        # have somewhere to come back to.
        client.send(text, args.port, args.host)
    dgram_uv.run()
    return status


if __name__ == "__main__":
    sys.exit(main())
