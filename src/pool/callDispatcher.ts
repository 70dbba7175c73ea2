/**
 * How AuthPool's calls reach its worker threads (AuthPoolOptions.handoff): 'piscina', one
 * Piscina task per batch (BatchDispatcher), or 'native', the addon's hand-off queue
 * (NativeHandoff). Both keep the same contract: a bounded queue that fails fast, a per-call
 * timeout, typed errors when a thread dies, and a close that fails waiting calls with
 * ERR_POOL_CLOSED; the native one lets running calls finish, Piscina's ends them too.
 */
import type { NativeAddon } from '../native.js';
import { ConfigError } from '../errors.js';
import type { BatchCall, BatchResult, ServeCall, ServeResult } from '../../workers/messages.js';
import { BatchDispatcher } from './BatchDispatcher.js';
import { mismatchedResult } from './failures.js';
import { NativeHandoff } from './NativeHandoff.js';
import type { WorkerThreads } from './WorkerThreads.js';

export const HANDOFF_KINDS = ['piscina', 'native'] as const;
export type HandoffKind = (typeof HANDOFF_KINDS)[number];

export function isHandoffKind(value: unknown): value is HandoffKind {
  return value === 'piscina' || value === 'native';
}

/** The option `name`'s hand-off (default 'native'); throws ERR_CONFIG for anything else. */
export function handoffKind(name: string, value: unknown): HandoffKind {
  if (value === undefined) return 'native';
  if (!isHandoffKind(value)) {
    throw new ConfigError(
      'ERR_CONFIG',
      `${name} must be one of ${HANDOFF_KINDS.join(', ')}, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export interface CallDispatcher {
  submit(call: BatchCall): Promise<BatchResult>;
  /** Calls waiting for a worker. */
  readonly queued: number;
  /** Fraction (0 to 1) of the workers' time spent running calls since the pool started. */
  readonly utilization: number;
  /** Fails the calls not yet running with `error`; resolves when the running ones have settled or been handed back. */
  close(error: unknown): Promise<void>;
  /** Fault injection (diagnostics worker): one call that occupies a thread `ms`; resolves with its id. */
  stall(ms: number): Promise<number>;
  /** Fault injection: occupies the thread `threadId` until release() (see WorkerThreads.stallWhile). */
  stallWhile(threadId: number): Promise<{ release: () => void; done: Promise<void> }>;
}

export function callDispatcher(
  kind: HandoffKind,
  threads: WorkerThreads,
  addon: NativeAddon,
  opts: { workers: number; limit: number; taskTimeoutMs: number },
): CallDispatcher {
  if (kind === 'native') {
    // The worker wrote a ServeResult (workers/serve.ts): the contract both sides compile against.
    const asResult = (value: unknown): ServeResult => value as ServeResult;
    const handoff = new NativeHandoff<ServeCall, ServeResult>(
      addon,
      (request, signal) => threads.serve(request, signal),
      asResult,
      opts,
    );
    return {
      submit: async (call) => {
        const r = await handoff.submit(call);
        return r.op === 'stall' ? mismatchedResult(call.op, r.op) : r;
      },
      get queued() {
        return handoff.queued;
      },
      get utilization() {
        return handoff.utilization;
      },
      close: (error) => handoff.close(error),
      stall: async (ms) => {
        threads.requireDiagnostics('stallWorker');
        const r = await handoff.submit({ op: 'stall', ms });
        return r.op === 'stall' ? r.threadId : mismatchedResult('stall', r.op);
      },
      stallWhile: (threadId) =>
        threads.stallWhile(threadId, (slot) => handoff.submit({ op: 'stall', ms: 10_000, slot })),
    };
  }
  const batches = new BatchDispatcher<BatchCall, BatchResult>(opts.workers, opts.limit, (batch) =>
    threads.run('batch', batch),
  );
  return {
    submit: (call) => batches.submit(call),
    get queued() {
      return batches.queued + threads.queueSize;
    },
    get utilization() {
      return threads.utilization;
    },
    close: (error) => {
      batches.rejectWaiting(error);
      return Promise.resolve();
    },
    stall: (ms) => threads.stall(ms),
    stallWhile: (threadId) => threads.stallWhile(threadId),
  };
}
