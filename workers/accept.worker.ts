/**
 * Piscina worker: runs the blocking GSSAPI calls. Each worker thread acquires its own acceptor
 * credential at start, because MIT krb5 serialises concurrent accepts on a shared credential
 * handle. Contexts live in the addon's process-wide table, so any worker can run any leg.
 * Exports exactly the tasks of WorkerTasks (messages.ts), the ones the pool runs; test-only tasks
 * live in a fixture that re-exports these (test/fixtures/faultWorker.ts).
 */
import { threadId, workerData } from 'node:worker_threads';
import { loadNative, type NativeFailure } from '../src/native.js';
import { serveWith } from './serve.js';
import type {
  AcceptRequest,
  AcceptResult,
  ProtectRequest,
  ProtectResult,
  ServeCall,
  ServeResult,
  StallCall,
  StallResult,
  WorkerSetup,
  WorkerTasks,
} from './messages.js';

// Piscina hands over the pool's workerData as is; its type is the contract in messages.ts.
const setup = workerData as WorkerSetup;
const addon = loadNative();
addon.configureTable(setup.table);
const keytabGeneration = setup.keytab === undefined ? undefined : new Int32Array(setup.keytab.cells);
// The snapshot generation this thread's credential came from; -1 before the first acquisition.
let generation = -1;
// A failed acquisition is reported on every task rather than thrown here: a throw at load
// would make Piscina restart the worker in a loop, and the pool already checked the same
// credentials on the main thread before starting workers.
let credentialFailure: NativeFailure | undefined;
acquireCredentials();
// Which thread ran a leg: diagnostics, and the proof in tests that legs of one context move
// between threads. Copied onto each accept result (Object.assign), never shared.
const acceptTag: { op: 'accept'; workerThreadId: number } = { op: 'accept', workerThreadId: threadId };

/**
 * (Re)acquires this thread's credential from the keytab snapshot the pool published. Read on
 * every accept (one atomic load), so a reload reaches each worker at its next task, and a
 * worker started after a reload (a replacement) starts on the new keys.
 */
function acquireCredentials(): void {
  const wanted = keytabGeneration === undefined ? 0 : Atomics.load(keytabGeneration, 0);
  if (wanted === generation) return;
  const keytab = wanted === 0 ? {} : { keytab: `${setup.keytab?.prefix ?? ''}${wanted}` };
  // On failure the previous credential (if any) stays in use; the pool validated this
  // snapshot on its own thread before publishing it, so this is not expected.
  let failure: NativeFailure | undefined;
  for (const credentials of [setup.credentials, ...(setup.slotCredentials ?? [])]) {
    const r = addon.acquireCredentials({ ...credentials, ...keytab });
    if (!r.ok) failure ??= r;
  }
  if (failure === undefined) credentialFailure = undefined;
  else if (generation === -1) credentialFailure = failure;
  generation = wanted;
}

function accept(task: AcceptRequest): AcceptResult {
  acquireCredentials();
  if (credentialFailure) return { ...credentialFailure, ...acceptTag };
  const r: AcceptResult = Object.assign(addon.accept(task.id, task.token, task.slot, task.bindings), acceptTag);
  if (r.ok && r.status === 'complete' && task.sealOnComplete !== undefined) {
    r.sealed = addon.encryptMessage(task.id, task.sealOnComplete);
  }
  // Deleting a context costs a few microseconds: do it here rather than on the thread that
  // owns the sockets, when the caller keeps nothing.
  if (task.releaseAfter === true) addon.release(task.id);
  return r;
}

function protect(task: ProtectRequest): ProtectResult {
  switch (task.op) {
    case 'wrap':
      return Object.assign(addon.wrap(task.id, task.data, task.confidential === true), { op: task.op });
    case 'unwrap':
      return Object.assign(addon.unwrap(task.id, task.data), { op: task.op });
    case 'getMic':
      return Object.assign(addon.getMic(task.id, task.data), { op: task.op });
    case 'verifyMic':
      return Object.assign(addon.verifyMic(task.id, task.data, task.mic ?? new Uint8Array(0)), { op: task.op });
    case 'encryptMessage':
      return Object.assign(addon.encryptMessage(task.id, task.data), { op: task.op });
  }
}

/** Runs the calls of one batch in order; one result per call (failures are results too). */
export const batch: WorkerTasks['batch'] = (calls) => {
  const results = calls.map((c) => (c.op === 'accept' ? accept(c) : protect(c)));
  // Contexts released on the socket thread are deleted here, off that thread (a few per
  // batch, so no batch waits long behind them).
  addon.deletePending(32);
  return results;
};

/**
 * A batch taken from the native hand-off queue: as `batch`, and a stall (diagnostics) runs
 * `stall`; the production worker's does not stall.
 */
export function serveCalls(calls: ServeCall[], stall: (call: StallCall) => StallResult): ServeResult[] {
  const results = calls.map((c) => (c.op === 'stall' ? stall(c) : c.op === 'accept' ? accept(c) : protect(c)));
  addon.deletePending(32);
  return results;
}

/** The same calls, taken from the native hand-off queue instead of one Piscina task per batch. */
export const serve: WorkerTasks['serve'] = serveWith((calls) =>
  serveCalls(calls, () => ({ op: 'stall', threadId: -1 })),
);
