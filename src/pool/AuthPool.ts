/**
 * The worker pool that runs every GSSAPI call off the socket-owning thread. Wraps Piscina with
 * a bounded queue, a per-task timeout and typed errors, and owns the process-wide context
 * table's lifecycle (release, sweep, shutdown).
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Piscina } from 'piscina';
import {
  ConfigError,
  ContextError,
  GssError,
  NegotiateError,
  PoolError,
  type NegotiateErrorCode,
} from '../errors.js';
import { asBuffer, loadNative, type ContextFlags, type NativeAddon, type NativeContextStats, type NativeFailure, type NativeReplayStats } from '../native.js';
import type { AcceptTask, BatchCall, NativeAcceptResult, ProtectResult, ProtectTask, SealResult, WorkerSetup } from '../../workers/messages.js';
import { BatchDispatcher } from './BatchDispatcher.js';
import type { CredentialOptions } from './credentials.js';
import { applyProcessWideSettings } from '../processSettings.js';
import { acquireOrThrow, checkCredentials, configureReplayCache, keytabFromEnv, toNativeCredentials } from './credentials.js';
import { KeytabSnapshots, type KeytabLoad } from './KeytabSnapshots.js';

export interface AuthPoolOptions {
  credentials: CredentialOptions;
  /** Worker threads. Default: the number of CPUs. */
  workers?: number;
  /** Calls allowed to wait for a worker, beyond one running per worker; beyond it calls fail with ERR_POOL_QUEUE_FULL. Default 1024. */
  maxQueue?: number;
  /** A task still running after this many ms fails with ERR_POOL_TASK_TIMEOUT and its worker is replaced. Default 5000. */
  taskTimeoutMs?: number;
  /** Most security contexts alive at once (handshakes and sessions). Default 100000. */
  maxContexts?: number;
  /** A handshake idle this long is freed by the sweep. Default 30000 ms. */
  handshakeTtlMs?: number;
}

/** One accept step's result. */
export type AcceptStep =
  | { status: 'continue'; output: Buffer; workerThreadId: number }
  | {
      status: 'complete';
      /** The worker thread that ran this leg (diagnostics). */
      workerThreadId: number;
      output: Buffer;
      principal: string;
      mech: 'krb5' | 'ntlmssp' | 'unknown';
      spnego: boolean;
      flags: ContextFlags;
      /** When the context expires (ms since the epoch), or null if it does not. */
      expiresAt: number | null;
      /** The `sealOnComplete` plaintext, EncryptMessage'd in the same task (absent if sealing failed). */
      sealed?: { trailer: Buffer; ciphertext: Buffer };
    };

/** Thrown by accept when the handshake failed; carries the error token to send, if any. */
export class AcceptError extends GssError {
  override readonly name: string = 'AcceptError';
  /** A GSSAPI error token for the peer (send it before closing), or an empty buffer. */
  readonly output: Buffer;

  constructor(failure: NativeFailure) {
    super(failure.code as NegotiateErrorCode, failure.message, failure.major, failure.minor);
    this.output = failure.output ? asBuffer(failure.output) : Buffer.alloc(0);
  }
}


/** GSS routine error DEFECTIVE_TOKEN (RFC 2744: 9 << 16). */
const GSS_S_DEFECTIVE_TOKEN = 9 << 16;

const contextCodes = new Set<string>([
  'ERR_CONTEXT_TABLE_FULL',
  'ERR_CONTEXT_BUSY',
  'ERR_CONTEXT_NOT_FOUND',
  'ERR_CONTEXT_NOT_ESTABLISHED',
  'ERR_CONTEXT_ESTABLISHED',
]);

/** Builds the typed error for a failure result from the addon. */
export function failureToError(failure: NativeFailure): NegotiateError {
  if (contextCodes.has(failure.code)) {
    return new ContextError(failure.code as NegotiateErrorCode, failure.message);
  }
  return new AcceptError(failure);
}

const workerFile = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'workers',
  'accept.worker.js',
);

export class AuthPool {
  readonly workers: number;
  readonly maxQueue: number;
  readonly taskTimeoutMs: number;
  private readonly piscina: Piscina;
  private readonly addon: NativeAddon;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly credentials: CredentialOptions;
  /** Accept and protect calls go to the workers through this; stall tasks go directly. */
  private readonly calls: BatchDispatcher<BatchCall, unknown>;
  private readonly snapshots: KeytabSnapshots | undefined;
  private closed = false;

  private constructor(
    piscina: Piscina,
    addon: NativeAddon,
    opts: Required<Omit<AuthPoolOptions, 'credentials'>>,
    credentials: CredentialOptions,
    snapshots: KeytabSnapshots | undefined,
  ) {
    this.piscina = piscina;
    this.addon = addon;
    this.credentials = credentials;
    this.snapshots = snapshots;
    // As many calls may wait as Piscina's queue allowed before, plus one running per worker.
    this.calls = new BatchDispatcher(opts.workers, opts.maxQueue + opts.workers, (batch) => this.run('batch', batch) as Promise<unknown[]>);
    this.workers = opts.workers;
    this.maxQueue = opts.maxQueue;
    this.taskTimeoutMs = opts.taskTimeoutMs;
    // Workers sweep on their own as they check contexts out, but an idle server must free
    // abandoned handshakes too.
    // Also deletes released contexts no batch has picked up (an idle server).
    this.sweepTimer = setInterval(() => {
      addon.sweep();
      addon.deletePending();
    }, Math.min(opts.handshakeTtlMs, 5000));
    this.sweepTimer.unref();
  }

  /**
   * Checks the credentials on this thread first (so a bad keytab fails start with a clear
   * error instead of failing every handshake), then starts the workers and waits until each
   * has acquired its own credential.
   */
  static async start(options: AuthPoolOptions): Promise<AuthPool> {
    const opts = {
      workers: options.workers ?? (await import('node:os')).availableParallelism(),
      maxQueue: options.maxQueue ?? 1024,
      taskTimeoutMs: options.taskTimeoutMs ?? 5000,
      maxContexts: options.maxContexts ?? 100_000,
      handshakeTtlMs: options.handshakeTtlMs ?? 30_000,
    };
    const addon = loadNative();
    addon.configureTable({ maxContexts: opts.maxContexts, handshakeTtlMs: opts.handshakeTtlMs });
    applyProcessWideSettings(options.credentials);
    configureReplayCache(addon, options.credentials);
    await checkCredentials(addon, options.credentials);
    const setup: WorkerSetup = {
      credentials: toNativeCredentials(options.credentials),
      table: { maxContexts: opts.maxContexts, handshakeTtlMs: opts.handshakeTtlMs },
    };
    // A keytab file is served from memory snapshots (reloadable); without a known file (the
    // library's default keytab), MIT reads it as it always does.
    const source = options.credentials.keytab ?? keytabFromEnv();
    let snapshots: KeytabSnapshots | undefined;
    if (source !== undefined) {
      snapshots = new KeytabSnapshots(addon, source);
      snapshots.load((name) => acquireOrThrow(addon, { ...options.credentials, keytab: name }, source));
      setup.keytab = { cells: snapshots.cells.buffer as SharedArrayBuffer, prefix: snapshots.prefix };
    }
    const piscina = new Piscina({
      filename: workerFile,
      minThreads: opts.workers,
      maxThreads: opts.workers,
      maxQueue: opts.maxQueue,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      // Lock-step protocols keep a worker busy with one task; more per thread only queues
      // behind a blocking call.
      concurrentTasksPerWorker: 1,
      workerData: setup,
    });
    const pool = new AuthPool(piscina, addon, opts, options.credentials, snapshots);
    // Warm every worker so the first handshakes do not pay thread start and credential
    // acquisition.
    await Promise.all(Array.from({ length: opts.workers }, () => pool.stallWorker(0)));
    return pool;
  }

  /**
   * Runs one accept leg for the connection. Rejects with AcceptError, ContextError or PoolError.
   * With `releaseAfter`, the worker frees the context as soon as the leg returns (whatever its
   * outcome): for callers that never continue or protect with it, such as HTTP.
   * `abandoned` is asked when the leg returns: if the connection went away meanwhile, the
   * context is freed here. A release at close time finds nothing while the first leg still
   * waits for a worker, and that leg then creates the context: without this it would leak.
   */
  async accept(
    connectionId: number,
    token: Uint8Array,
    options: { releaseAfter?: boolean; sealOnComplete?: Uint8Array; abandoned?: () => boolean } = {},
  ): Promise<AcceptStep> {
    const task: AcceptTask = { id: connectionId, token: ownBytes(token) };
    if (options.releaseAfter === true) task.releaseAfter = true;
    if (options.sealOnComplete !== undefined) task.sealOnComplete = ownBytes(options.sealOnComplete);
    let r: NativeAcceptResult & { workerThreadId: number; sealed?: SealResult };
    try {
      r = (await this.submit({ op: 'accept', task })) as typeof r;
    } finally {
      if (options.abandoned?.()) this.release(connectionId);
    }
    if (!r.ok) throw failureToError(r);
    if (r.status === 'continue' && r.output.byteLength === 0) {
      // Wanting another token with none to send can never progress: the peer waits for ours
      // while we wait for its next one, until the handshake deadline. MIT krb5 answers so
      // (CONTINUE_NEEDED, no token, minor KRB5KRB_AP_ERR_MSG_TYPE) to a token with the krb5
      // OID whose TOK_ID is not an AP-REQ. Refuse it as the defective token it is.
      this.release(connectionId);
      throw new AcceptError({
        ok: false,
        code: 'ERR_GSS_DEFECTIVE_TOKEN',
        major: GSS_S_DEFECTIVE_TOKEN,
        minor: 0,
        message: 'accept: the mechanism wants another token but produced none to send: not a valid initial token',
      });
    }
    if (r.status === 'continue') return { status: 'continue', output: asBuffer(r.output), workerThreadId: r.workerThreadId };
    return {
      status: 'complete',
      workerThreadId: r.workerThreadId,
      output: asBuffer(r.output),
      principal: r.principal,
      mech: r.mech,
      spnego: r.spnego,
      flags: r.flags,
      expiresAt: r.lifetime === null ? null : Date.now() + r.lifetime * 1000,
      ...(r.sealed?.ok ? { sealed: { trailer: asBuffer(r.sealed.trailer), ciphertext: asBuffer(r.sealed.ciphertext) } } : {}),
    };
  }

  /** Runs a message-protection call on an established context. */
  async protect(task: ProtectTask): Promise<Exclude<ProtectResult, NativeFailure>> {
    const r = (await this.submit({ op: 'protect', task: { ...task, data: ownBytes(task.data) } })) as ProtectResult;
    if (!r.ok) throw failureToError(r);
    return r;
  }

  /**
   * Frees the connection's context: out of the table at once, on this thread, so a release is
   * never shed by a full queue; the GSS deletion itself is left to a worker's next batch (or
   * the sweep). A context a worker holds is freed when it returns.
   */
  release(connectionId: number): boolean {
    return this.addon.release(connectionId);
  }

  /** Counters of the process-wide context table. */
  stats(): NativeContextStats & { queued: number; utilization: number } {
    return { ...this.addon.stats(), queued: this.calls.queued + this.piscina.queueSize, utilization: this.piscina.utilization };
  }

  /**
   * Reads the keytab file again and switches every worker to the new keys (each on its next
   * task); contexts already established are untouched. The new keytab gets the same checks
   * as at start (readable, not empty, holds the pinned principal, a credential can be
   * acquired); if it fails them this rejects and the keys in use stay in use.
   */
  async reloadKeytab(): Promise<KeytabLoad> {
    if (this.snapshots === undefined) {
      throw new ConfigError('ERR_CONFIG', 'no keytab file to reload: the server uses the library default keytab (give --keytab or KRB5_KTNAME=FILE:path)');
    }
    const source = this.snapshots.source;
    await checkCredentials(this.addon, { ...this.credentials, keytab: source });
    return this.snapshots.load((name) => acquireOrThrow(this.addon, { ...this.credentials, keytab: name }, source));
  }

  /** The generation of the keytab snapshot in use (1 after start, +1 per successful reload); 0 without snapshots. */
  keytabGeneration(): number {
    return this.snapshots === undefined ? 0 : Atomics.load(this.snapshots.cells, 0);
  }

  /** Counters of the in-memory replay cache (`enabled: false` with the other replay caches). */
  replayStats(): NativeReplayStats {
    return this.addon.replayStats();
  }

  /** Frees handshakes idle past the TTL now (the pool also does this periodically). */
  sweep(): number {
    return this.addon.sweep();
  }

  /** Stops the workers (waiting for running tasks) and frees every context. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.calls.rejectWaiting(new PoolError('ERR_POOL_CLOSED', 'the worker pool is closed'));
    await this.piscina.destroy();
    this.addon.releaseAll();
  }

  /** Occupies one worker thread for `ms` (at most 10 s), as a slow GSSAPI call would. */
  stallWorker(ms: number): Promise<unknown> {
    return this.run('stall', { ms });
  }

  /**
   * Occupies the worker thread `threadId` until `release()` is called (at most 10 s), so the
   * next tasks run on the others. Diagnostics and tests: shows that a context's legs move
   * between threads.
   */
  async stallWorkerWhile(threadId: number): Promise<{ release: () => void; done: Promise<void> }> {
    const held: Array<{ cells: Int32Array; done: Promise<unknown> }> = [];
    const releaseCells = (cells: Int32Array): void => {
      Atomics.store(cells, 0, 1);
      Atomics.notify(cells, 0);
    };
    try {
      for (let i = 0; i < this.workers; i++) {
        const cells = new Int32Array(new SharedArrayBuffer(8));
        const done = this.run('stall', { ms: 10_000, signal: cells.buffer });
        held.push({ cells, done });
        const deadline = Date.now() + 2000;
        while (Atomics.load(cells, 1) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
        if (Atomics.load(cells, 1) === threadId) {
          for (const h of held.slice(0, -1)) releaseCells(h.cells);
          return { release: () => releaseCells(cells), done: Promise.all(held.map((h) => h.done)).then(() => undefined) };
        }
      }
    } catch (err) {
      for (const h of held) releaseCells(h.cells);
      throw err;
    }
    for (const h of held) releaseCells(h.cells);
    throw new PoolError('ERR_POOL_WORKER_DIED', `no worker thread ${threadId} in this pool`);
  }

  /**
   * Test-only fault injection: terminates the worker thread `threadId` as a crash would. A task
   * it was running fails with ERR_POOL_WORKER_DIED and Piscina starts a replacement thread. A
   * thread blocked inside a native call ends when that call returns. Resolves false when no
   * worker of this pool has that id.
   */
  async terminateWorker(threadId: number): Promise<boolean> {
    const worker = this.piscina.threads.find((w) => w.threadId === threadId);
    if (!worker) return false;
    await worker.terminate();
    return true;
  }

  private submit(call: BatchCall): Promise<unknown> {
    if (this.closed) return Promise.reject(new PoolError('ERR_POOL_CLOSED', 'the worker pool is closed'));
    return this.calls.submit(call);
  }

  private async run(name: 'batch' | 'stall', task: unknown): Promise<unknown> {
    if (this.closed) throw new PoolError('ERR_POOL_CLOSED', 'the worker pool is closed');
    // Our own timer, cleared as soon as the task settles: Piscina 4.9 keeps the abort listener
    // of a task it refused (queue full), and aborting it later trips an assertion that kills
    // the process. AbortSignal.timeout cannot be cancelled.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.taskTimeoutMs);
    try {
      return await this.piscina.run(task, { name, signal: abort.signal });
    } catch (err) {
      throw classifyPoolFailure(err, this.taskTimeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * The bytes in an ArrayBuffer of their own. Posting a view to a worker clones its whole
 * backing ArrayBuffer: for a small Buffer that is Node's shared 8 KiB allocation pool (other
 * requests' bytes included), so a 1.3 KB token would cost an 8 KiB copy.
 */
function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}

function classifyPoolFailure(err: unknown, timeoutMs: number): NegotiateError {
  const e = err as { message?: string; name?: string };
  const message = e?.message ?? String(err);
  if (/queue is at limit/i.test(message)) {
    return new PoolError('ERR_POOL_QUEUE_FULL', 'the worker pool queue is full; the server is overloaded', { cause: err });
  }
  if (e?.name === 'AbortError' || /aborted/i.test(message)) {
    return new PoolError('ERR_POOL_TASK_TIMEOUT', `a GSSAPI task did not finish within ${timeoutMs} ms`, { cause: err });
  }
  if (/terminated|closed/i.test(message)) {
    return new PoolError('ERR_POOL_WORKER_DIED', `a worker thread ended while running the task: ${message}`, { cause: err });
  }
  return new PoolError('ERR_POOL_WORKER_DIED', `worker task failed: ${message}`, { cause: err });
}
