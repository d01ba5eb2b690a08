"""A request with retries and an idle timeout, as a DNS-style client does it.

The client sends a query (a 2-byte id, then the name), waits for the answer
with ``setTimeout``, resends the same query when the socket stays idle that
long, and gives up with an error after ``--retries`` resends.  Answers are
matched by id and by the server's port, so a stray or late datagram is
ignored, as a DNS resolver ignores them.

    python examples/request_retry.py --serve 5300 --drop 2      # a server that loses 2 queries
    python examples/request_retry.py --port 5300 --name example.test
    python examples/request_retry.py --demo                     # both, in one process

Exit status: 0 answered, 1 gave up (or an error).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

import dgram_uv

Done = Callable[[Exception | None, bytes | None], None]


class RequestTimeoutError(TimeoutError):
    """No answer after every attempt."""


def request(sock: dgram_uv.Socket, query: bytes, port: int, host: str, *,
            timeout: float, retries: int, done: Done) -> None:
    """Send ``query`` to host:port and call ``done(None, answer)``, or
    ``done(err, None)`` after ``1 + retries`` unanswered attempts.

    ``timeout`` is in seconds.  The first two bytes of ``query`` are its id;
    the answer must start with them.
    """
    attempts = 0

    def attempt() -> None:
        nonlocal attempts
        attempts += 1
        # A send failure (no callback) is emitted as 'error' on the socket.
        sock.send(query, port, host)

    def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
        if rinfo["port"] != port or msg[:2] != query[:2]:
            return  # not the answer to this query (a late reply to an old id, noise)
        finish(None, msg[2:])

    def on_timeout() -> None:
        if attempts > retries:
            finish(RequestTimeoutError(f"no answer from {host}:{port} after {attempts} attempts "
                                  f"({timeout:g} s each)"), None)
            return
        print(f"no answer within {timeout:g} s, sending again "
              f"(attempt {attempts + 1} of {retries + 1})", flush=True)
        # The resend is activity: it re-arms the idle timer by itself, so
        # setTimeout is not called again (in luvit, calling it again with a
        # callback would pile up 'timeout' listeners).
        attempt()

    def finish(err: Exception | None, answer: bytes | None) -> None:
        sock.setTimeout(0)
        sock.removeListener("message", on_message)
        sock.removeListener("timeout", on_timeout)
        done(err, answer)

    sock.on("message", on_message)
    sock.on("timeout", on_timeout)
    sock.setTimeout(timeout * 1000)
    attempt()


def serve(sock: dgram_uv.Socket, port: int, host: str, drop: int, count: int = 0) -> None:
    """A tiny server: answers each query with its id and ``answer for NAME``,
    but ignores the first ``drop`` queries (a lossy network); with ``count``,
    closes after answering that many."""
    state = {"dropped": 0, "answered": 0}

    def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
        if state["dropped"] < drop:
            state["dropped"] += 1
            print(f"server: dropping query {state['dropped']} of {drop}", flush=True)
            return
        answer = msg[:2] + b"answer for " + msg[2:]
        state["answered"] += 1
        last = count and state["answered"] >= count
        sock.send(answer, rinfo["port"], rinfo["address"],
                  lambda _err: sock.close() if last else None)

    sock.on("message", on_message)
    sock.on("listening", lambda: print(f"server: listening on {host}:{sock.address()['port']}",
                                       flush=True))
    sock.bind(port, host)


def main(argv: list[str] | None = None) -> int:
    """Run the client, the server, or both (--demo); returns the exit status."""
    parser = argparse.ArgumentParser(description="request with retry and idle timeout")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--port", type=int, help="client: the server's port")
    mode.add_argument("--serve", type=int, metavar="PORT", help="run the server on PORT")
    mode.add_argument("--demo", action="store_true",
                      help="a server dropping --drop queries and a client, in one process")
    parser.add_argument("--host", default="127.0.0.1", help="127.0.0.1 (default) or ::1")
    parser.add_argument("--name", default="example.test", help="client: the name to query")
    parser.add_argument("--timeout", type=float, default=0.3,
                        help="client: seconds to wait for each attempt")
    parser.add_argument("--retries", type=int, default=3, help="client: resends before giving up")
    parser.add_argument("--drop", type=int, default=2, help="server: queries to ignore first")
    args = parser.parse_args(argv)
    family = "udp6" if ":" in args.host else "udp4"
    status = 0

    if args.serve is not None:
        serve(dgram_uv.createSocket(family), args.serve, args.host, args.drop)
        dgram_uv.run()
        return 0

    server = None
    port = args.port
    if args.demo:
        server = dgram_uv.createSocket(family)
        serve(server, 0, args.host, args.drop, count=1)
        port = server.address()["port"]  # bound at once: the host is an IP literal

    client = dgram_uv.createSocket(family)
    query_id = os.urandom(2)

    def done(err: Exception | None, answer: bytes | None) -> None:
        nonlocal status
        if err is not None:
            status = 1
            print(f"request_retry: {err}", file=sys.stderr, flush=True)
        else:
            print(f"answer: {answer.decode()}", flush=True)  # type: ignore[union-attr]
        client.close()
        if server is not None:
            server.close()

    def on_error(err: dgram_uv.DgramError) -> None:
        done(err, None)

    client.on("error", on_error)
    request(client, query_id + args.name.encode(), port, args.host,
            timeout=args.timeout, retries=args.retries, done=done)
    dgram_uv.run()
    return status


if __name__ == "__main__":
    sys.exit(main())
