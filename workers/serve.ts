/**
 * The worker side of the native hand-off (src/pool/NativeHandoff.ts): one long-lived Piscina
 * task per worker thread that parks inside the addon waiting for calls, runs each batch it
 * takes and posts the results back through the same queue, with no postMessage per call.
 * Piscina still owns the thread: start, replacement after a crash, shutdown.
 *
 * The wait is bounded (TAKE_WAIT_MS) so a thread parked here returns to JS now and then: a
 * Worker.terminate() only lands when the thread runs JS. The queue's close/evict wakes it at
 * once; the bound covers a terminate the pool did not announce (a crash test, Piscina's destroy).
 */
import { loadNative } from '../src/native.js';
import type { ServeCall, ServeEnd, ServeRequest, ServeResult } from './messages.js';
import { readWireBatch, WireBatchWriter } from './wireFrames.js';

const TAKE_WAIT_MS = 100;
/** The inbox a worker's batches are written into; a batch that does not fit comes in its own array. */
const INBOX_BYTES = 64 * 1024;
/** The inbox grows to hold batches that did not fit (an AD user's tokens run to tens of KB), up to this. */
const INBOX_MAX_BYTES = 1024 * 1024;

/** The serve task for a worker whose calls `handle` runs (the production batch, or a fixture's). */
export function serveWith(handle: (calls: ServeCall[]) => ServeResult[]): (request: ServeRequest) => ServeEnd {
  return (request) => {
    const addon = loadNative();
    let idleMs = 0;
    const out = new WireBatchWriter();
    const busy = new BigInt64Array(request.busy);
    // Reused for every batch: the calls' byte arrays are views of it, valid until the next
    // take, and a batch is run and its results encoded before that.
    let inbox = Buffer.allocUnsafeSlow(INBOX_BYTES);
    for (;;) {
      const taken = addon.handoffTake(request.queue, request.worker, TAKE_WAIT_MS, inbox);
      if (taken === null) return 'stopped';
      if (taken === 0) {
        // An idle worker gives its thread back to Piscina, which then lets the process exit
        // as an idle Piscina pool does; the pool starts a serve task again on the next call.
        idleMs += TAKE_WAIT_MS;
        if (idleMs >= request.idleMs) return 'idle';
        continue;
      }
      idleMs = 0;
      const startedAt = performance.now();
      const seqs: number[] = [];
      const calls: ServeCall[] = [];
      let frames: Uint8Array;
      if (typeof taken === 'number') {
        frames = inbox.subarray(0, taken);
      } else {
        frames = taken;
        if (taken.byteLength > inbox.length && inbox.length < INBOX_MAX_BYTES) {
          inbox = Buffer.allocUnsafeSlow(Math.min(INBOX_MAX_BYTES, Math.max(taken.byteLength, 2 * inbox.length)));
        }
      }
      readWireBatch(frames, (seq, call) => {
        seqs.push(seq);
        // The pool encoded a ServeCall (NativeHandoff.submit): the contract both sides compile against.
        calls.push(call as ServeCall);
      });
      const results = handle(calls);
      results.forEach((r, i) => {
        const seq = seqs[i];
        if (seq !== undefined) out.append(seq, r);
      });
      Atomics.add(busy, 0, BigInt(Math.round((performance.now() - startedAt) * 1000)));
      addon.handoffFinish(request.queue, request.worker, out.frames());
    }
  };
}
