/**
 * Piscina worker: runs the blocking GSSAPI calls. Each worker thread acquires its own acceptor
 * credential at start, because MIT krb5 serialises concurrent accepts on a shared credential
 * handle. Contexts live in the addon's process-wide table, so any worker can run any leg.
 */
import { threadId, workerData } from 'node:worker_threads';
import { loadNative, type NativeFailure } from '../src/native.js';
import type {
  AcceptTask,
  BatchCall,
  NativeAcceptResult,
  ProtectResult,
  ProtectTask,
  SealResult,
  WorkerSetup,
} from './messages.js';

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

/**
 * (Re)acquires this thread's credential from the keytab snapshot the pool published. Read on
 * every accept (one atomic load), so a reload reaches each worker at its next task, and a
 * worker started after a reload (a replacement) starts on the new keys.
 */
function acquireCredentials(): void {
  const wanted = keytabGeneration === undefined ? 0 : Atomics.load(keytabGeneration, 0);
  if (wanted === generation) return;
  const credentials =
    wanted === 0 ? setup.credentials : { ...setup.credentials, keytab: `${setup.keytab?.prefix ?? ''}${wanted}` };
  const r = addon.acquireCredentials(credentials);
  // On failure the previous credential (if any) stays in use; the pool validated this
  // snapshot on its own thread before publishing it, so this is not expected.
  if (r.ok) credentialFailure = undefined;
  else if (generation === -1) credentialFailure = r;
  generation = wanted;
}

export function accept(task: AcceptTask): NativeAcceptResult & { workerThreadId: number; sealed?: SealResult } {
  acquireCredentials();
  if (credentialFailure) return { ...credentialFailure, workerThreadId: threadId };
  const r: NativeAcceptResult & { sealed?: SealResult } = addon.accept(task.id, task.token);
  if (r.ok && r.status === 'complete' && task.sealOnComplete !== undefined) {
    r.sealed = addon.encryptMessage(task.id, task.sealOnComplete);
  }
  // Deleting a context costs a few microseconds: do it here rather than on the thread that
  // owns the sockets, when the caller keeps nothing.
  if (task.releaseAfter === true) addon.release(task.id);
  // Which thread ran the leg: diagnostics, and the proof in tests that legs of one context
  // move between threads.
  return Object.assign(r, { workerThreadId: threadId });
}

/** Runs the calls of one batch in order; one result per call (failures are results too). */
export function batch(calls: BatchCall[]): Array<ReturnType<typeof accept> | ProtectResult> {
  const results = calls.map((c) => (c.op === 'accept' ? accept(c.task) : protect(c.task)));
  // Contexts released on the socket thread are deleted here, off that thread (a few per
  // batch, so no batch waits long behind them).
  addon.deletePending(32);
  return results;
}

export function protect(task: ProtectTask): ProtectResult {
  switch (task.op) {
    case 'wrap':
      return addon.wrap(task.id, task.data, task.confidential === true);
    case 'unwrap':
      return addon.unwrap(task.id, task.data);
    case 'getMic':
      return addon.getMic(task.id, task.data);
    case 'verifyMic':
      return addon.verifyMic(task.id, task.data, task.mic ?? new Uint8Array(0));
    case 'encryptMessage':
      return addon.encryptMessage(task.id, task.data);
  }
}

/**
 * Blocks this worker thread, as a long native call would: for `ms`, or until slot 0 of `signal`
 * becomes non-zero. Slot 1 receives this thread's id as soon as the task starts. Used to
 * demonstrate overload and, in tests, to steer a task onto a chosen thread.
 */
export function stall(task: { ms: number; signal?: SharedArrayBuffer }): number {
  const cells = new Int32Array(task.signal ?? new SharedArrayBuffer(8));
  Atomics.store(cells, 1, threadId);
  Atomics.wait(cells, 0, 0, Math.min(Math.max(task.ms, 0), 10_000));
  return threadId;
}
