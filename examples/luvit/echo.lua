--[[
A UDP echo server for luvit 2.5.6 (require('dgram')).  Its Python port,
line for line, is ../luvit_port_echo.py.

  luvit echo.lua [PORT] [HOST] [IDLE_SECONDS]

PORT defaults to 41234 and HOST to 127.0.0.1.  With IDLE_SECONDS, the server
closes after that long without a datagram.
]]

local dgram = require('dgram')

-- luvit's global `args`: args[1] is this script, the arguments follow.
local PORT = tonumber(args[2]) or 41234
local HOST = args[3] or '127.0.0.1' -- luvit's bind needs a literal IP: no DNS
local IDLE = tonumber(args[4])

local server = dgram.createSocket('udp4')

server:on('message', function(msg, rinfo)
  -- luvit's rinfo is {ip = ..., port = ..., family = 'inet'}
  print('echo ' .. #msg .. ' bytes to ' .. rinfo.ip .. ':' .. rinfo.port)
  server:send(msg, rinfo.port, rinfo.ip, function(err)
    if err then print('send failed: ' .. tostring(err)) end
  end)
end)

server:on('error', function(err)
  -- only receive errors get here (a bare name such as 'ENOBUFS'); bind and
  -- synchronous send errors are discarded by luvit's dgram.
  print('error: ' .. tostring(err))
end)

if IDLE then
  server:setTimeout(IDLE * 1000, function()
    print('idle for ' .. IDLE .. ' s, closing')
    server:close()
  end)
end

-- bind starts receiving at once; there is no 'listening' event and no
-- callback, and a failure goes unnoticed until address() returns nil.
server:bind(PORT, HOST)
local address = server:address()
if not address then
  print('bind failed')
  server:close()
  return
end
print('echo server on ' .. address.ip .. ':' .. address.port)
