"""luvit/echo.lua ported to Python with dgram_uv, line for line.

    python examples/luvit_port_echo.py [PORT] [HOST] [IDLE_SECONDS]

Each block carries the Lua line it replaces (``-- lua:``) and, where the
behaviour differs, why.  The shape stays luvit's: the same calls in the same
order, callbacks that receive only their arguments, the loop run at the end
(luvit runs it implicitly after the script).
"""

from __future__ import annotations

import sys
from typing import Any

import dgram_uv  # -- lua: local dgram = require('dgram')

# -- lua: local PORT = tonumber(args[2]) or 41234
#    (sys.argv[0] is the script, like luvit's args[1])
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 41234
# -- lua: local HOST = args[3] or '127.0.0.1'
#    (dgram_uv's bind would also take a host name, resolved asynchronously)
HOST = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
# -- lua: local IDLE = tonumber(args[4])
IDLE = float(sys.argv[3]) if len(sys.argv) > 3 else None

# -- lua: local server = dgram.createSocket('udp4')
#    (dgram_uv honours the type: 'udp6' makes an IPv6 socket; luvit ignores it)
server = dgram_uv.createSocket("udp6" if ":" in HOST else "udp4")
exit_status = 0


# -- lua: server:on('message', function(msg, rinfo) ... end)
def on_message(msg: bytes, rinfo: dict[str, Any]) -> None:
    # rinfo has Node's keys ('address', family 'IPv4', 'size') and luvit's 'ip'
    # -- lua: print('echo ' .. #msg .. ' bytes to ' .. rinfo.ip .. ':' .. rinfo.port)
    print(f"echo {len(msg)} bytes to {rinfo['ip']}:{rinfo['port']}", flush=True)

    # -- lua: server:send(msg, rinfo.port, rinfo.ip, function(err) ... end)
    #    (same argument order; err is None or a DgramError, never a bare string)
    def sent(err: dgram_uv.DgramError | None) -> None:
        if err:  # -- lua: if err then print('send failed: ' .. tostring(err)) end
            print(f"send failed: {err}", flush=True)

    server.send(msg, rinfo["port"], rinfo["ip"], sent)


server.on("message", on_message)


# -- lua: server:on('error', function(err) print('error: ' .. tostring(err)) end)
#    (here bind errors arrive too, e.g. 'bind EADDRINUSE 127.0.0.1:41234';
#    luvit discards them)
def on_error(err: dgram_uv.DgramError) -> None:
    global exit_status
    exit_status = 1
    print(f"error: {err}", flush=True)
    server.close()


server.on("error", on_error)

# -- lua: if IDLE then server:setTimeout(IDLE * 1000, function() ... end) end
if IDLE:
    def on_idle() -> None:
        # -- lua: print('idle for ' .. IDLE .. ' s, closing'); server:close()
        print(f"idle for {IDLE:g} s, closing", flush=True)
        server.close()

    server.setTimeout(IDLE * 1000, on_idle)


# -- lua: server:bind(PORT, HOST)
#        local address = server:address()  -- nil when the bind failed
#    (dgram_uv reports a failed bind as 'error' and emits 'listening' on
#    success, so the address is printed from 'listening' instead)
def on_listening() -> None:
    address = server.address()
    # -- lua: print('echo server on ' .. address.ip .. ':' .. address.port)
    print(f"echo server on {address['ip']}:{address['port']}", flush=True)


server.bind(PORT, HOST, on_listening)

# luvit runs its loop when the script ends; Python has to ask.
dgram_uv.run()
sys.exit(exit_status)
