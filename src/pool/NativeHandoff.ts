/**
 * The pool's hand-off to its worker threads without a postMessage per call (issue 14): each
 * worker runs one long-lived Piscina serve task (workers/serve.ts) parked in the addon on a
 * native queue (mutex + condition variable); a call is encoded once (workers/wireFrames.ts) and
 * queued, a parked worker takes its share of what waits, and results come back through one
 * ThreadSafeFunction whose wake-ups coalesce (one per drain, however many results).
 *
 * Piscina still owns the threads. What Piscina did per task is done here per call: the queue
 * bound (ERR_POOL_QUEUE_FULL at once), the timeout (a call still waiting or running after
 * taskTimeoutMs fails with ERR_POOL_TASK_TIMEOUT; the worker running it is evicted from the
 * queue and its serve task aborted, so Piscina terminates and replaces the thread), and a
 * thread's death (its serve task rejects: the calls it held fail with ERR_POOL_WORKER_DIED).
 */
import { PoolError } from '../errors.js';
import type { NativeAddon } from '../native.js';
import type { ServeEnd, ServeRequest } from '../../workers/messages.js';
import { readWireBatch, WireBatchWriter } from '../../workers/wireFrames.js';

export interface NativeHandoffOptions {
  workers: number;
  /** Calls waiting and running together; beyond it submit fails with ERR_POOL_QUEUE_FULL. */
  limit: number;
  taskTimeoutMs: number;
  /** A serve task returns its thread to Piscina after this long without calls. Default 1000 ms. */
  idleMs?: number;
}

interface Pending<R> {
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
  /** When it was submitted (ms, performance.now()): the timeout counts from there, as Piscina's did. */
  at: number;
}

export class NativeHandoff<C extends object, R> {
  readonly #addon: NativeAddon;
  readonly #queue: number;
  readonly #serve: (request: ServeRequest, signal: AbortSignal) => Promise<ServeEnd>;
  readonly #accept: (value: unknown) => R;
  readonly #workers: number;
  readonly #limit: number;
  readonly #timeoutMs: number;
  readonly #idleMs: number;
  readonly #watchdog: NodeJS.Timeout;
  /** Submitted, unanswered calls by sequence number (in submit order: Map keeps insertion order). */
  readonly #pending = new Map<number, Pending<R>>();
  /** Running serve tasks by worker id, with the abort that terminates their thread. */
  readonly #serving = new Map<number, { abort: AbortController; ended: Promise<void> }>();
  /** Calls submitted this turn, as frames: queued together at the end of the turn. */
  readonly #outbox = new WireBatchWriter();
  /** Microseconds the serve tasks spent running calls (ServeRequest.busy). */
  readonly #busy = new BigInt64Array(new SharedArrayBuffer(8));
  readonly #startedAt = performance.now();
  #seq = 0;
  #nextWorker = 1;
  #closed = false;

  /** `accept` types a decoded result (the worker wrote an R with WireBatchWriter). */
  constructor(
    addon: NativeAddon,
    serve: (request: ServeRequest, signal: AbortSignal) => Promise<ServeEnd>,
    accept: (value: unknown) => R,
    options: NativeHandoffOptions,
  ) {
    this.#addon = addon;
    this.#serve = serve;
    this.#accept = accept;
    this.#workers = options.workers;
    this.#limit = options.limit;
    this.#timeoutMs = options.taskTimeoutMs;
    this.#idleMs = options.idleMs ?? 1000;
    this.#queue = addon.handoffOpen(options.workers, (results) => this.#onResults(results));
    // Checks often enough that a short timeout is noticed soon after it passes.
    const tick = Math.max(5, Math.min(250, Math.floor(this.#timeoutMs / 4)));
    this.#watchdog = setInterval(() => this.#expire(), tick);
    this.#watchdog.unref();
  }

  /**
   * Fraction (0 to 1) of the workers' time spent running calls since the hand-off opened (as
   * Piscina's utilization, which would count a parked serve task as busy).
   */
  get utilization(): number {
    const capacityUs = (performance.now() - this.#startedAt) * 1000 * this.#workers;
    return capacityUs > 0 ? Math.min(1, Number(Atomics.load(this.#busy, 0)) / capacityUs) : 0;
  }

  /** Calls waiting for a worker (not yet taken). */
  get queued(): number {
    return this.#closed ? 0 : this.#addon.handoffWaiting(this.#queue);
  }

  /** Queues `call` (which it consumes: see encodeWire) for the next free worker. */
  submit(call: C): Promise<R> {
    if (this.#closed) return Promise.reject(new PoolError('ERR_POOL_CLOSED', 'the worker pool is closed'));
    if (this.#pending.size >= this.#limit) {
      return Promise.reject(
        new PoolError('ERR_POOL_QUEUE_FULL', 'the worker pool queue is full; the server is overloaded'),
      );
    }
    // 32 bits on the queue (wireFrames), wrapping; never 0.
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    const seq = this.#seq;
    return new Promise<R>((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject, at: performance.now() });
      // The calls of one turn (results resolved together start their next legs together) go
      // to the queue in one native call with one wake-up, not one per call.
      if (this.#outbox.empty) queueMicrotask(this.#flush);
      this.#outbox.append(seq, call);
      if (this.#serving.size < this.#workers) this.#startServing();
    });
  }

  /**
   * Stops the workers' serving: calls no worker took fail with `error`; calls being run finish
   * and resolve. Resolves when every serve task has ended.
   */
  async close(error: unknown): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watchdog);
    this.#outbox.frames();
    this.#fail(this.#addon.handoffClose(this.#queue), () => error);
    await Promise.all([...this.#serving.values()].map((s) => s.ended));
    // Results whose wake-up has not run yet.
    this.#onResults(this.#addon.handoffDrain(this.#queue));
    this.#addon.handoffDispose(this.#queue);
    this.#fail([...this.#pending.keys()], () => error);
  }

  readonly #flush = (): void => {
    const calls = this.#outbox.frames();
    if (!this.#closed) this.#addon.handoffSubmit(this.#queue, calls);
  };

  /** Starts serve tasks until every worker thread serves (each on Piscina's next free thread). */
  #startServing(): void {
    while (!this.#closed && this.#serving.size < this.#workers) {
      const worker = this.#nextWorker++;
      this.#addon.handoffAdmit(this.#queue, worker);
      const abort = new AbortController();
      const ended = this.#serve(
        { queue: this.#queue, worker, idleMs: this.#idleMs, busy: this.#busy.buffer },
        abort.signal,
      ).then(
        () => this.#served(worker, undefined),
        (err: unknown) => this.#served(worker, err),
      );
      this.#serving.set(worker, { abort, ended });
    }
  }

  /** A serve task ended: its unanswered calls fail; calls still pending get a worker again. */
  #served(worker: number, error: unknown): void {
    this.#serving.delete(worker);
    const lost = this.#closed ? [] : this.#addon.handoffEvict(this.#queue, worker);
    this.#fail(lost, () =>
      error instanceof PoolError
        ? error
        : new PoolError('ERR_POOL_WORKER_DIED', 'a worker thread stopped serving while running the call'),
    );
    if (this.#pending.size > 0) this.#startServing();
  }

  #onResults(results: Uint8Array): void {
    readWireBatch(results, (seq, value) => {
      const p = this.#pending.get(seq);
      // Absent: the call already failed (timeout, its worker evicted) and its caller moved on.
      if (p === undefined) return;
      this.#pending.delete(seq);
      p.resolve(this.#accept(value));
    });
  }

  /** Fails the calls past the timeout, oldest first; a worker running one is evicted and terminated. */
  #expire(): void {
    const now = performance.now();
    for (const [seq, p] of this.#pending) {
      if (now - p.at < this.#timeoutMs) break;
      this.#pending.delete(seq);
      p.reject(new PoolError('ERR_POOL_TASK_TIMEOUT', `a GSSAPI task did not finish within ${this.#timeoutMs} ms`));
      if (this.#addon.handoffCancel(this.#queue, seq)) continue;
      const holder = this.#addon.handoffHolder(this.#queue, seq);
      if (holder < 0) continue;
      // The thread is stuck in this call: the calls it took with it will not be answered.
      this.#fail(
        this.#addon.handoffEvict(this.#queue, holder),
        () => new PoolError('ERR_POOL_WORKER_DIED', 'the worker thread running this call was replaced (a call hung)'),
      );
      this.#serving.get(holder)?.abort.abort();
    }
  }

  #fail(seqs: number[], error: () => unknown): void {
    for (const seq of seqs) {
      const p = this.#pending.get(seq);
      if (p === undefined) continue;
      this.#pending.delete(seq);
      p.reject(error());
    }
  }
}
