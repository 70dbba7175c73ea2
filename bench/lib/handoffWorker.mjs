/**
 * The micro-benchmark's worker (bench/handoff.mjs): each design's no-op, an integer in and the
 * same integer back (with --payload accept, an accept call in and a completed leg's result out).
 * `batch` for today's Piscina path, `serve` for the native hand-off queue (the pool's own serve
 * loop, workers/serve.ts), `mailbox` for the SharedArrayBuffer prototype.
 */
import { serveWith } from '../../dist/workers/serve.js';

export const batch = (calls) => calls;

const output = new Uint8Array(160).fill(2);
const flags = {
  mutual: true,
  replay: true,
  sequence: true,
  integrity: true,
  confidentiality: true,
  delegation: false,
  anonymous: false,
  channelBound: false,
  bits: 0x3e,
};

/** A completed accept leg's result, as workers/accept.worker.ts returns one (the id echoed back). */
function completed(call) {
  return {
    ok: true,
    status: 'complete',
    output,
    principal: 'alice@EXAMPLE.TEST',
    mech: 'krb5',
    spnego: true,
    flags,
    lifetime: 35999,
    op: 'accept',
    workerThreadId: call.id,
  };
}

export const serve = serveWith((calls) => calls.map((c) => (c.op === 'accept' ? completed(c) : c)));

/**
 * Prototype (b): a mailbox per worker in a SharedArrayBuffer. Int32 cells: [0] requests posted
 * (main), [1] requests taken (worker), [2] results posted (worker), [3] stop; then a ring of
 * RING request values and a ring of RING results. The worker waits with Atomics.wait on [0];
 * the main thread with Atomics.waitAsync on [2].
 */
export function mailbox({ sab, ring }) {
  const cells = new Int32Array(sab);
  const requests = 4;
  const results = 4 + ring;
  let taken = 0;
  for (;;) {
    if (Atomics.load(cells, 3) !== 0) return 'stopped';
    const posted = Atomics.load(cells, 0);
    if (posted === taken) {
      Atomics.wait(cells, 0, taken, 100);
      continue;
    }
    for (; taken !== posted; taken++) {
      const v = cells[requests + (taken % ring)];
      cells[results + (taken % ring)] = v; // the no-op
    }
    Atomics.store(cells, 1, taken);
    Atomics.store(cells, 2, taken);
    Atomics.notify(cells, 2);
  }
}
