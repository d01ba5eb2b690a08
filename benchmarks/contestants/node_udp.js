// Node's dgram as the reference contestant of the dgram_uv benchmarks.
//
// One script, four modes; each speaks the line protocol of benchmarks/run.py:
//   flood     bind 127.0.0.1:0, print "PORT <port> <rcvbuf>", count 'message'
//             events in the window [warmup, warmup + seconds], print RESULT.
//   drain     wrap the socket the harness passes (--fd: the harness sized its
//             buffer with SO_RCVBUFFORCE, which Node cannot do), print PORT,
//             block until "GO <n>" on stdin, then read the queue empty.
//   selfsend  the shape of Node's benchmark/dgram single-buffer, offset-length
//             and multi-buffer: one socket sends to itself in bursts of `num`
//             started from the send callbacks.
//   pingpong  two sockets, one datagram in flight; round-trip times.
//   echo      an echo server: print PORT, answer every datagram from the
//             'message' listener with send(msg, rinfo.port, rinfo.address).
// Every listener touches the payload length and the sender's port, as the
// Python and Lua contestants do, so no contestant can skip that work.
'use strict';

const dgram = require('dgram');
const fs = require('fs');

function parseArgs(argv) {
  const out = { mode: argv[0] };
  for (let i = 1; i < argv.length; i += 2) {
    out[argv[i].replace(/^--/, '')] = argv[i + 1];
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const num = (name, dflt) => (args[name] === undefined ? dflt : Number(args[name]));
const nowNs = () => process.hrtime.bigint();

function result(fields) {
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${v}`);
  process.stdout.write(`RESULT ${parts.join(' ')}\n`);
}

// fs.readSync on a pipe may report EAGAIN if the pipe is non-blocking; retry.
function readLineSync() {
  const buf = Buffer.alloc(256);
  let line = '';
  for (;;) {
    let n;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      if (err.code === 'EAGAIN') continue;
      throw err;
    }
    if (n === 0) return line;
    line += buf.toString('utf8', 0, n);
    if (line.includes('\n')) return line.split('\n')[0];
  }
}

function flood() {
  const warmupMs = num('warmup', 0.5) * 1000;
  const windowMs = num('seconds', 2) * 1000;
  let count = 0;
  let bytes = 0;
  let portSum = 0;
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    count++;
    bytes += msg.length;
    portSum += rinfo.port;
  });
  sock.on('error', (err) => {
    process.stderr.write(`socket error: ${err.message}\n`);
    process.exit(1);
  });
  sock.bind(0, '127.0.0.1', () => {
    process.stdout.write(`PORT ${sock.address().port} ${sock.getRecvBufferSize()}\n`);
    setTimeout(() => {
      const c0 = count;
      const b0 = bytes;
      const p0 = portSum;
      const t0 = nowNs();
      setTimeout(() => {
        const t1 = nowNs();
        result({
          count: count - c0,
          bytes: bytes - b0,
          port_sum: portSum - p0,
          elapsed_ns: t1 - t0,
        });
        process.exit(0);
      }, windowMs);
    }, warmupMs);
  });
}

function drain() {
  const fd = num('fd', -1);
  let count = 0;
  let bytes = 0;
  let portSum = 0;
  let expect = -1;
  let t0 = 0n;
  const finish = () => {
    result({ count, bytes, port_sum: portSum, elapsed_ns: nowNs() - t0 });
    process.exit(0);
  };
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    count++;
    bytes += msg.length;
    portSum += rinfo.port;
    if (count === expect) finish();
  });
  sock.on('error', (err) => {
    process.stderr.write(`socket error: ${err.message}\n`);
    process.exit(1);
  });
  sock.bind({ fd }, () => {
    process.stdout.write(`PORT ${sock.address().port} ${sock.getRecvBufferSize()}\n`);
    // Block the event loop until the harness has filled the queue: nothing
    // is read before GO, and the clock starts when reading can start.
    const line = readLineSync();
    expect = Number(line.split(' ')[1]);
    t0 = nowNs();
    // If datagrams were dropped the count never reaches `expect`: stop once
    // the queue has been idle for a while (the harness reports the shortfall).
    let seen = -1;
    setInterval(() => {
      if (count === seen) finish();
      seen = count;
    }, 200).unref();
    setTimeout(finish, 30000).unref();
  });
}

function selfsend() {
  const form = args.form || 'single';
  const len = num('len', 64);
  const chunks = num('chunks', 1);
  const burst = num('num', 100);
  const warmupMs = num('warmup', 0.3) * 1000;
  const windowMs = num('seconds', 2) * 1000;
  let data;
  if (form === 'multi') {
    data = [];
    for (let i = 0; i < chunks; i++) data.push(Buffer.alloc(Math.round(len / chunks)));
  } else {
    data = Buffer.alloc(len);
  }
  let sent = 0;
  let received = 0;
  let errors = 0;
  let port = 0;
  const sock = dgram.createSocket('udp4');
  let send;
  if (form === 'offset') {
    send = () => sock.send(data, 0, len, port, '127.0.0.1', onsend);
  } else {
    send = () => sock.send(data, port, '127.0.0.1', onsend);
  }
  // As in Node's current benchmark/dgram files: the burst starts from
  // setImmediate, because a send that completes synchronously calls back
  // through process.nextTick, and bursts chained that way would never let
  // the event loop (and its receive side and timers) run.
  const sendBurst = () => {
    for (let i = 0; i < burst; i++) send();
  };
  function onsend(err) {
    if (err) errors++;
    if (sent++ % burst === 0) setImmediate(sendBurst);
  }
  sock.on('message', () => {
    received++;
  });
  sock.on('listening', () => {
    port = sock.address().port;
    onsend();
    setTimeout(() => {
      const s0 = sent;
      const r0 = received;
      const e0 = errors;
      const t0 = nowNs();
      setTimeout(() => {
        const t1 = nowNs();
        result({
          sent: sent - s0,
          received: received - r0,
          errors: errors - e0,
          elapsed_ns: t1 - t0,
        });
        process.exit(0);
      }, windowMs);
    }, warmupMs);
  });
  sock.bind(0, '127.0.0.1');
}

function percentile(sorted, q) {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.floor(q * sorted.length));
  return sorted[i];
}

function pingpong() {
  const size = num('size', 64);
  const warmupMs = num('warmup', 0.3) * 1000;
  const windowMs = num('seconds', 2) * 1000;
  const payload = Buffer.alloc(size);
  const a = dgram.createSocket('udp4');
  const b = dgram.createSocket('udp4');
  let measuring = false;
  const samples = [];
  let bytes = 0;
  let portSum = 0;
  let tSend = 0n;
  let bPort = 0;
  b.on('message', (msg, rinfo) => {
    b.send(msg, rinfo.port, rinfo.address);
  });
  a.on('message', (msg, rinfo) => {
    const t = nowNs();
    if (measuring) {
      samples.push(Number(t - tSend));
      bytes += msg.length;
      portSum += rinfo.port;
    }
    tSend = t;
    a.send(payload, bPort, '127.0.0.1');
  });
  let bound = 0;
  const start = () => {
    if (++bound < 2) return;
    bPort = b.address().port;
    tSend = nowNs();
    a.send(payload, bPort, '127.0.0.1');
    setTimeout(() => {
      measuring = true;
      const t0 = nowNs();
      setTimeout(() => {
        const t1 = nowNs();
        measuring = false;
        const sorted = Float64Array.from(samples).sort();
        result({
          count: samples.length,
          bytes,
          port_sum: portSum,
          elapsed_ns: t1 - t0,
          p50_ns: percentile(sorted, 0.5),
          p99_ns: percentile(sorted, 0.99),
        });
        process.exit(0);
      }, windowMs);
    }, warmupMs);
  };
  a.bind(0, '127.0.0.1', start);
  b.bind(0, '127.0.0.1', start);
}

function echo() {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    sock.send(msg, rinfo.port, rinfo.address);
  });
  sock.on('error', (err) => {
    process.stderr.write(`socket error: ${err.message}\n`);
    process.exit(1);
  });
  sock.bind(0, '127.0.0.1', () => {
    process.stdout.write(`PORT ${sock.address().port} ${sock.getRecvBufferSize()}\n`);
  });
}

const modes = { flood, drain, selfsend, pingpong, echo };
if (!modes[args.mode]) {
  process.stderr.write(`unknown mode ${args.mode}\n`);
  process.exit(2);
}
modes[args.mode]();
