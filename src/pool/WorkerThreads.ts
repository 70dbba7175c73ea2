/**
 * The pool's Piscina threads: runs the worker's named tasks (workers/messages.ts WorkerTasks)
 * with a per-task timeout and typed errors; and, on threads running a diagnostics worker (the
 * tests' fixture), the fault injection: stall a thread, steer work off one, terminate one.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Piscina } from 'piscina';
import { ConfigError, PoolError } from '../errors.js';
import type { DiagnosticTasks, ServeEnd, ServeRequest, WorkerSetup, WorkerTasks } from '../../workers/messages.js';
import { poolFailure } from './failures.js';

const productionWorker = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'workers',
  'accept.worker.js',
);

export interface WorkerThreadsOptions {
  threads: number;
  /** Tasks allowed to wait for a thread (Piscina's maxQueue). */
  maxQueue: number;
  taskTimeoutMs: number;
  setup: WorkerSetup;
  /**
   * A worker module that re-exports the production worker's tasks and adds DiagnosticTasks
   * (tests); the diagnostics below refuse to run without one. Default: the production worker.
   */
  workerFile?: string;
}

type Tasks = WorkerTasks & DiagnosticTasks;

/** Pairs of stall cells a diagnostics pool shares with its threads (WorkerSetup.stallCells). */
const STALL_SLOTS = 64;

/** Starts one stall held through the pair `slot` of the shared stall cells (StallRequest). */
export type StartStall = (slot: number) => Promise<unknown>;
type Request<K extends keyof Tasks> = Parameters<Tasks[K]>[0];
type Result<K extends keyof Tasks> = ReturnType<Tasks[K]>;

export class WorkerThreads {
  readonly threads: number;
  readonly taskTimeoutMs: number;
  readonly #piscina: Piscina;
  readonly #diagnostics: boolean;
  readonly #stallCells: SharedArrayBuffer | undefined;
  #nextStallSlot = 0;
  #closed = false;

  constructor(options: WorkerThreadsOptions) {
    this.threads = options.threads;
    this.taskTimeoutMs = options.taskTimeoutMs;
    this.#diagnostics = options.workerFile !== undefined;
    this.#stallCells = this.#diagnostics ? new SharedArrayBuffer(STALL_SLOTS * 8) : undefined;
    this.#piscina = new Piscina({
      filename: options.workerFile ?? productionWorker,
      minThreads: options.threads,
      maxThreads: options.threads,
      maxQueue: options.maxQueue,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      // Lock-step protocols keep a worker busy with one task; more per thread only queues
      // behind a blocking call.
      concurrentTasksPerWorker: 1,
      workerData: this.#stallCells === undefined ? options.setup : { ...options.setup, stallCells: this.#stallCells },
    });
    // A worker's answer can still arrive after close() destroyed its thread; Piscina then emits
    // 'error' ("Unexpected message from Worker"), an uncaught exception without a listener.
    // The task's caller already has its error by then. Any other 'error' stays fatal.
    this.#piscina.on('error', (err: unknown) => {
      if (!this.#closed) throw err;
    });
  }

  /** Tasks waiting for a thread. */
  get queueSize(): number {
    return this.#piscina.queueSize;
  }

  get utilization(): number {
    return this.#piscina.utilization;
  }

  /**
   * Runs the worker's task `name`; rejects with a PoolError if it is refused, times out (after
   * `timeoutMs`, default the task timeout) or loses its thread.
   */
  async run<K extends keyof Tasks>(name: K, request: Request<K>, timeoutMs = this.taskTimeoutMs): Promise<Result<K>> {
    if (this.#closed) throw new PoolError('ERR_POOL_CLOSED', 'the worker pool is closed');
    // Our own timer, cleared as soon as the task settles: Piscina 4.9 keeps the abort listener
    // of a task it refused (queue full), and aborting it later trips an assertion that kills
    // the process. AbortSignal.timeout cannot be cancelled.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      // The worker's answer (Piscina types it any), typed by the WorkerTasks contract both
      // sides compile against.
      const result = (await this.#piscina.run(request, { name, signal: abort.signal })) as Result<K>;
      return result;
    } catch (err) {
      // close() ends the tasks still running or waiting for a thread.
      if (this.#closed && !abort.signal.aborted) throw new PoolError('ERR_POOL_CLOSED', 'the worker pool is closed');
      throw poolFailure(err, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Starts a long-lived serve task (the native hand-off, src/pool/NativeHandoff.ts) on the next
   * free thread. No timeout: the hand-off times its calls itself and aborts `signal` to have
   * Piscina terminate (and replace) a thread whose call hangs.
   */
  async serve(request: ServeRequest, signal: AbortSignal): Promise<ServeEnd> {
    if (this.#closed) throw new PoolError('ERR_POOL_CLOSED', 'the worker pool is closed');
    try {
      // Typed by the WorkerTasks contract both sides compile against (Piscina types it any).
      const end = (await this.#piscina.run(request, { name: 'serve', signal })) as ServeEnd;
      return end;
    } catch (err) {
      throw poolFailure(err, this.taskTimeoutMs);
    }
  }

  /** Occupies one thread for `ms` (at most 10 s), as a slow GSSAPI call would; resolves with its id. */
  async stall(ms: number): Promise<number> {
    this.requireDiagnostics('stallWorker');
    return this.run('stall', { ms });
  }

  /**
   * Occupies the thread `threadId` until `release()` is called (at most 10 s), so the next tasks
   * run on the others. Stalls are started one at a time (by `start`: a Piscina task unless the
   * caller's calls take another road) until one lands on that thread; the others are released.
   */
  async stallWhile(
    threadId: number,
    start: StartStall = (slot) => this.run('stall', { ms: 10_000, slot }),
  ): Promise<{ release: () => void; done: Promise<void> }> {
    this.requireDiagnostics('stallWorkerWhile');
    const held: Array<{ cells: Int32Array; done: Promise<unknown> }> = [];
    const releaseCells = (cells: Int32Array): void => {
      Atomics.store(cells, 0, 1);
      Atomics.notify(cells, 0);
    };
    try {
      for (let i = 0; i < this.threads; i++) {
        const { cells, slot } = this.#takeStallCells();
        const done = start(slot);
        held.push({ cells, done });
        const deadline = Date.now() + 2000;
        while (Atomics.load(cells, 1) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
        if (Atomics.load(cells, 1) === threadId) {
          for (const h of held.slice(0, -1)) releaseCells(h.cells);
          return {
            release: () => releaseCells(cells),
            done: Promise.all(held.map((h) => h.done)).then(() => undefined),
          };
        }
      }
    } catch (err) {
      for (const h of held) releaseCells(h.cells);
      throw err;
    }
    for (const h of held) releaseCells(h.cells);
    throw new PoolError('ERR_POOL_WORKER_DIED', `no worker thread ${threadId} in this pool`);
  }

  /** The next pair of shared stall cells, cleared (slots go round: a test holds a few at a time). */
  #takeStallCells(): { cells: Int32Array; slot: number } {
    const shared = this.#stallCells;
    if (shared === undefined) throw new ConfigError('ERR_CONFIG', 'no stall cells: not a diagnostics pool');
    const slot = this.#nextStallSlot;
    this.#nextStallSlot = (slot + 1) % STALL_SLOTS;
    const cells = new Int32Array(shared, slot * 8, 2);
    Atomics.store(cells, 0, 0);
    Atomics.store(cells, 1, 0);
    return { cells, slot };
  }

  /**
   * Terminates the thread `threadId` as a crash would (fault tests). A task it was running fails
   * with ERR_POOL_WORKER_DIED and Piscina starts a replacement thread. A thread blocked inside a
   * native call ends when that call returns. Resolves false when no thread has that id.
   */
  async terminate(threadId: number): Promise<boolean> {
    this.requireDiagnostics('terminateWorker');
    const worker = this.#piscina.threads.find((w) => w.threadId === threadId);
    if (!worker) return false;
    await worker.terminate();
    return true;
  }

  /**
   * Stops the threads (Piscina's destroy): tasks still running or waiting for a thread, and later
   * runs, fail with ERR_POOL_CLOSED. Callers that let running calls finish do so first (the
   * native hand-off's close); Piscina's graceful close({ force: true }) held a farm instance's
   * SIGTERM exit past 5 s.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#piscina.destroy();
  }

  /** Throws unless the threads run a diagnostics worker (fault injection for tests). */
  requireDiagnostics(what: string): void {
    if (!this.#diagnostics) {
      throw new ConfigError(
        'ERR_CONFIG',
        `${what} is fault injection for tests: it needs a pool started with a diagnostics workerFile ` +
          `(test/fixtures/faultWorker.ts)`,
      );
    }
  }
}
