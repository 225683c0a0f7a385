'use strict';
// naija-sup's warm-standby gate (src/process/standby.ts; `restart.standby` in the README).
//
// The supervisor starts a spare Node process with `NODE_OPTIONS=--require <this file>` and one extra
// pipe whose fd number is in NAIJA_SUP_STANDBY_FD. Node boots (the 100+ ms a crash restart would
// otherwise wait for), runs this file before the server's own code, and blocks here:
//   - it writes "a" (armed) to the pipe, then waits for one byte;
//   - "g" (go): the supervisor promoted it to be the instance; the server's code runs from here on,
//     with the environment restored, so its own Node children start normally;
//   - end of file (the supervisor stopped, crashed or discarded the standby) or anything else: exit 0
//     without ever running the server's code.
// CommonJS and dependency-free on purpose: it runs inside the user's server process, before it.

const fs = require('node:fs');
const { isMainThread } = require('node:worker_threads');

// A --require from NODE_OPTIONS also runs in every worker thread of the promoted server (and in
// Node's loader-hooks thread). Only the parked main thread, which still has our variables, is ours
// to handle: anywhere else, touch nothing (a worker's NODE_OPTIONS must stay the user's).
if (isMainThread && process.env.NAIJA_SUP_STANDBY_FD !== undefined) gate();

function gate() {
  const fd = Number(process.env.NAIJA_SUP_STANDBY_FD);
  const savedOptions = process.env.NAIJA_SUP_STANDBY_NODE_OPTIONS;
  delete process.env.NAIJA_SUP_STANDBY_FD;
  delete process.env.NAIJA_SUP_STANDBY_NODE_OPTIONS;
  if (savedOptions === undefined || savedOptions === '') delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = savedOptions;

  if (Number.isInteger(fd) && fd > 2) {
    // Warm what nearly every API server loads first, while there is time: node:http (and with it net,
    // stream, events). Builtins only: loading them runs none of the server's code.
    require('node:http');
    const byte = Buffer.alloc(1);
    let got = 0;
    try {
      fs.writeSync(fd, 'a');
      // libuv hands a child its stdio in blocking mode, so this read sleeps in the kernel. Should a
      // platform hand it over non-blocking, wait 10 ms between tries; the supervisor's end closing
      // (EOF) ends the loop either way.
      const nap = new Int32Array(new SharedArrayBuffer(4));
      for (;;) {
        try {
          got = fs.readSync(fd, byte, 0, 1, null);
          break;
        } catch (error) {
          if (error.code !== 'EAGAIN' && error.code !== 'EINTR') throw error;
          Atomics.wait(nap, 0, 0, 10);
        }
      }
    } catch {
      // EPIPE, ECONNRESET, EBADF: the supervisor is gone; `got` is still 0.
    }
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    if (got !== 1 || byte[0] !== 0x67 /* "g" */) process.exit(0);
  }
}
