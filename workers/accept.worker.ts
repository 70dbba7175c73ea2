/**
 * Piscina worker: runs the blocking GSSAPI calls. Each worker thread acquires its own acceptor
 * credential at start, because MIT krb5 serialises concurrent accepts on a shared credential
 * handle. Contexts live in the addon's process-wide table, so any worker can run any leg.
 */
import { threadId, workerData } from 'node:worker_threads';
import { loadNative, type NativeFailure } from '../src/native.js';
import type { AcceptTask, NativeAcceptResult, ProtectResult, ProtectTask, SealResult, WorkerSetup } from './messages.js';

const setup = workerData as WorkerSetup;
const addon = loadNative();
addon.configureTable(setup.table);
const acquired = addon.acquireCredentials(setup.credentials);
// A failed acquisition is reported on every task rather than thrown here: a throw at load
// would make Piscina restart the worker in a loop, and the pool already checked the same
// credentials on the main thread before starting workers.
const credentialFailure: NativeFailure | undefined = acquired.ok ? undefined : acquired;

export function accept(task: AcceptTask): NativeAcceptResult & { workerThreadId: number; sealed?: SealResult } {
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
