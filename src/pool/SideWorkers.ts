/**
 * A small fixed pool of worker threads beside the handshake pool, for blocking KDC exchanges
 * that are not handshake legs: Basic authentication's password checks (src/basic/
 * PasswordVerifier.ts) and constrained delegation (src/s4u/ConstrainedDelegation.ts). They get
 * threads of their own so a slow KDC never holds a thread a handshake needs.
 *
 * Fixed size, one task per thread, a bounded queue (a full one fails fast with
 * ERR_POOL_QUEUE_FULL), a per-task timeout (ERR_POOL_TASK_TIMEOUT) and, after close(),
 * ERR_POOL_CLOSED, for calls made then and for calls still running.
 */
import { Piscina } from 'piscina';
import { ConfigError, PoolError } from '../errors.js';
import { poolFailure } from './failures.js';

/** The tasks a worker module exports: task name → its handler (one request, one result). */
export type SideTasks = Record<string, (request: never) => unknown>;

/** Defaults of the sizes in SideWorkersOptions. */
export const SIDE_WORKERS_DEFAULTS = { threads: 1, maxQueue: 64, taskTimeoutMs: 30_000 } as const;

export interface SideWorkersSizes {
  /** Worker threads, started at once and kept. Default 1. */
  threads?: number | undefined;
  /** Tasks waiting for a thread before ERR_POOL_QUEUE_FULL. Default 64. */
  maxQueue?: number | undefined;
  /** Give up on one task after this many milliseconds (ERR_POOL_TASK_TIMEOUT). Default 30 s. */
  taskTimeoutMs?: number | undefined;
}

export interface SideWorkersOptions extends SideWorkersSizes {
  /** The compiled worker module (absolute path) whose exports are the tasks. */
  filename: string;
  /** What the errors call this pool, e.g. `basic auth`: "basic auth is closed". */
  label: string;
}

export class SideWorkers<Tasks extends SideTasks> {
  readonly label: string;
  readonly taskTimeoutMs: number;
  readonly #piscina: Piscina;
  #closed = false;

  /**
   * Throws a ConfigError (ERR_CONFIG, naming `label` and the option) unless every size given is
   * a positive integer. The constructor checks too; callers with other checks and side effects
   * to do first (a directory to clean) call this before them.
   */
  static checkSizes(label: string, sizes: SideWorkersSizes): void {
    for (const [name, v] of [
      ['threads', sizes.threads],
      ['maxQueue', sizes.maxQueue],
      ['taskTimeoutMs', sizes.taskTimeoutMs],
    ] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v > 0))
        throw new ConfigError('ERR_CONFIG', `${label}: ${name} must be a positive integer`);
    }
  }

  /** Starts the threads; each loads `filename`. */
  constructor(options: SideWorkersOptions) {
    SideWorkers.checkSizes(options.label, options);
    this.label = options.label;
    this.taskTimeoutMs = options.taskTimeoutMs ?? SIDE_WORKERS_DEFAULTS.taskTimeoutMs;
    const threads = options.threads ?? SIDE_WORKERS_DEFAULTS.threads;
    this.#piscina = new Piscina({
      filename: options.filename,
      minThreads: threads,
      maxThreads: threads,
      maxQueue: options.maxQueue ?? SIDE_WORKERS_DEFAULTS.maxQueue,
      // Each task blocks its thread in one KDC exchange: a second one per thread only waits.
      concurrentTasksPerWorker: 1,
    });
    // As in WorkerThreads: an answer arriving after close() destroyed its thread makes Piscina
    // emit 'error', fatal without a listener; the caller already has its ERR_POOL_CLOSED.
    this.#piscina.on('error', (err: unknown) => {
      if (!this.#closed) throw err;
    });
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Runs the worker's task `name` on `request` (copied to the thread) and resolves with what it
   * returned. Rejects with a PoolError: ERR_POOL_QUEUE_FULL, ERR_POOL_TASK_TIMEOUT after
   * taskTimeoutMs (the thread is replaced), ERR_POOL_WORKER_DIED, or ERR_POOL_CLOSED when
   * close() was called before or during the task.
   */
  async run<K extends keyof Tasks & string>(
    name: K,
    request: Parameters<Tasks[K]>[0],
  ): Promise<Awaited<ReturnType<Tasks[K]>>> {
    if (this.#closed) throw this.#closedError();
    // Our own timer, cleared when the task settles (as WorkerThreads does): an
    // AbortSignal.timeout would keep its listener in Piscina until it fires.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.taskTimeoutMs);
    try {
      // The worker's answer (Piscina types it any), typed by the Tasks contract: the worker
      // module's own exports, which both sides compile against.
      const result = (await this.#piscina.run(request, { name, signal: abort.signal })) as Awaited<
        ReturnType<Tasks[K]>
      >;
      return result;
    } catch (err) {
      if (this.#closed) throw this.#closedError(err);
      throw poolFailure(err, this.taskTimeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the threads; a task still running rejects with ERR_POOL_CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#piscina.destroy();
  }

  #closedError(cause?: unknown): PoolError {
    const message = `${this.label} is closed`;
    return cause === undefined
      ? new PoolError('ERR_POOL_CLOSED', message)
      : new PoolError('ERR_POOL_CLOSED', message, { cause });
  }
}
