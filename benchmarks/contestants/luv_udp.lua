-- luvit's runtime as a contestant of the dgram_uv benchmarks: LuaJIT + luv.
--
-- luvit's dgram is a thin emitter over a luv UDP handle: recv_start's
-- callback emits 'message' with the payload and luv's address table as
-- rinfo.  luvit itself is not packaged for Debian, so this file carries a
-- small emitter and socket of the same shape (on/emit over a listener list,
-- bind then recv_start, rinfo = {ip, port, family}); the per-datagram work
-- is what luvit's would be: one closure call into the socket, one emit, one
-- listener call.
--
-- Modes (line protocol of benchmarks/run.py):
--   luajit luv_udp.lua flood --warmup W --seconds T
--   luajit luv_udp.lua drain --rcvbuf BYTES
local uv = require('luv')

local args = { mode = arg[1] }
for i = 2, #arg, 2 do
  args[(arg[i]:gsub('^%-%-', ''))] = arg[i + 1]
end

-- Emitter: luvit's core.Emitter keeps a list of listeners per event name.
local Emitter = {}
Emitter.__index = Emitter

function Emitter:on(name, fn)
  local handlers = self.handlers[name]
  if not handlers then
    handlers = {}
    self.handlers[name] = handlers
  end
  handlers[#handlers + 1] = fn
  return self
end

function Emitter:emit(name, ...)
  local handlers = self.handlers[name]
  if not handlers then
    return false
  end
  for i = 1, #handlers do
    handlers[i](...)
  end
  return true
end

-- Socket: the part of luvit's dgram.Socket that the receive path touches.
local Socket = setmetatable({}, { __index = Emitter })
Socket.__index = Socket

function Socket.new()
  return setmetatable({ handlers = {}, _handle = uv.new_udp() }, Socket)
end

function Socket:recvStart()
  self._handle:recv_start(function(err, data, rinfo, flags)
    if err then
      return self:emit('error', err)
    end
    if data then
      self:emit('message', data, rinfo, flags)
    end
  end)
end

function Socket:bind(port, host)
  assert(self._handle:bind(host, port))
  self:recvStart()
end

function Socket:address()
  return self._handle:getsockname()
end

local function result(fields)
  local parts = {}
  for _, kv in ipairs(fields) do
    parts[#parts + 1] = string.format('%s=%.0f', kv[1], kv[2])
  end
  io.stdout:write('RESULT ' .. table.concat(parts, ' ') .. '\n')
  io.stdout:flush()
  os.exit(0)
end

local function load_ffi()
  local ffi = require('ffi')
  pcall(ffi.cdef, [[
    int setsockopt(int fd, int level, int name, const void *val, unsigned int len);
    int getsockopt(int fd, int level, int name, void *val, unsigned int *len);
  ]])
  return ffi
end

-- SOL_SOCKET, SO_RCVBUF and SO_RCVBUFFORCE on Linux.
local SOL_SOCKET, SO_RCVBUF, SO_RCVBUFFORCE = 1, 8, 33

-- SO_RCVBUFFORCE (root only) ignores net.core.rmem_max; luv's
-- recv_buffer_size cannot pass that cap, so go through the fd with the FFI.
local function force_rcvbuf(handle, size)
  local ffi = load_ffi()
  local fd = uv.fileno(handle)
  local val = ffi.new('int[1]', size)
  if ffi.C.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, val, 4) ~= 0 then
    ffi.C.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, val, 4)
  end
  local len = ffi.new('unsigned int[1]', 4)
  ffi.C.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, val, len)
  return val[0]
end

local function flood()
  local warmup = math.floor(tonumber(args.warmup or '0.5') * 1000)
  local window = math.floor(tonumber(args.seconds or '2') * 1000)
  local count, bytes, port_sum = 0, 0, 0
  local sock = Socket.new()
  sock:on('message', function(msg, rinfo)
    count = count + 1
    bytes = bytes + #msg
    port_sum = port_sum + rinfo.port
  end)
  sock:on('error', function(err)
    io.stderr:write('socket error: ' .. tostring(err) .. '\n')
    os.exit(1)
  end)
  sock:bind(0, '127.0.0.1')
  io.stdout:write(string.format('PORT %d %d\n', sock:address().port,
    sock._handle:recv_buffer_size()))
  io.stdout:flush()
  local timer = uv.new_timer()
  timer:start(warmup, 0, function()
    local c0, b0, p0, t0 = count, bytes, port_sum, uv.hrtime()
    timer:start(window, 0, function()
      local t1 = uv.hrtime()
      result({ { 'count', count - c0 }, { 'bytes', bytes - b0 },
        { 'port_sum', port_sum - p0 }, { 'elapsed_ns', t1 - t0 } })
    end)
  end)
  uv.run()
end

local function drain()
  local count, bytes, port_sum = 0, 0, 0
  local expect, t0 = -1, 0
  local function finish()
    local t1 = uv.hrtime()
    result({ { 'count', count }, { 'bytes', bytes }, { 'port_sum', port_sum },
      { 'elapsed_ns', t1 - t0 } })
  end
  local sock = Socket.new()
  sock:on('message', function(msg, rinfo)
    count = count + 1
    bytes = bytes + #msg
    port_sum = port_sum + rinfo.port
    if count == expect then
      finish()
    end
  end)
  sock:bind(0, '127.0.0.1')
  local got = force_rcvbuf(sock._handle, tonumber(args.rcvbuf or '67108864'))
  io.stdout:write(string.format('PORT %d %d\n', sock:address().port, got))
  io.stdout:flush()
  -- The loop is not running yet: nothing is read until the harness says GO.
  local line = io.read('*l') or ''
  expect = tonumber(line:match('GO (%d+)')) or -1
  t0 = uv.hrtime()
  -- Datagrams dropped before GO: stop once the queue has gone quiet.
  local seen = -1
  local idle = uv.new_timer()
  idle:start(200, 200, function()
    if count == seen then
      finish()
    end
    seen = count
  end)
  uv.run()
end

if args.mode == 'flood' then
  flood()
elseif args.mode == 'drain' then
  drain()
else
  io.stderr:write('unknown mode ' .. tostring(args.mode) .. '\n')
  os.exit(2)
end
