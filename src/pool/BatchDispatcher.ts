/**
 * Sends pool calls to the worker threads in batches: one Piscina task carries every call that
 * waited while the workers were busy. Each task costs two postMessage hops and a thread wake-up
 * (tens of microseconds, as much as a Kerberos accept itself); under load one task now carries
 * many calls, and with idle workers a call still leaves at once, alone, so latency at low
 * load is unchanged.
 *
 * At most `slots` batches are out at a time (one per worker); calls beyond `limit` (queued and
 * running together) fail at once with ERR_POOL_QUEUE_FULL rather than wait without bound.
 */
import { PoolError } from '../errors.js';

interface Waiting<C, R> {
  call: C;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class BatchDispatcher<C, R> {
  readonly #slots: number;
  readonly #limit: number;
  readonly #send: (calls: C[]) => Promise<R[]>;
  #waiting: Array<Waiting<C, R>> = [];
  #inFlight = 0;
  #pending = 0;

  /** `send` runs one batch on a worker and returns one result per call, in order. */
  constructor(slots: number, limit: number, send: (calls: C[]) => Promise<R[]>) {
    this.#slots = slots;
    this.#limit = limit;
    this.#send = send;
  }

  /** Calls waiting for a worker (not yet in a batch). */
  get queued(): number {
    return this.#waiting.length;
  }

  submit(call: C): Promise<R> {
    if (this.#pending >= this.#limit) {
      return Promise.reject(new PoolError('ERR_POOL_QUEUE_FULL', 'the worker pool queue is full; the server is overloaded'));
    }
    this.#pending++;
    return new Promise<R>((resolve, reject) => {
      this.#waiting.push({ call, resolve, reject });
      this.#pump();
    });
  }

  /** Fails every call still waiting (shutdown); batches already sent settle on their own. */
  rejectWaiting(error: unknown): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#pending -= waiting.length;
    for (const w of waiting) w.reject(error);
  }

  #pump(): void {
    while (this.#inFlight < this.#slots && this.#waiting.length > 0) {
      // Slots free up one at a time: a freed slot takes its share of what waits, not all of
      // it, so the next worker to finish finds work instead of idling beside a long batch.
      const take = Math.ceil(this.#waiting.length / this.#slots);
      const batch = this.#waiting.splice(0, take);
      this.#inFlight++;
      this.#send(batch.map((w) => w.call)).then(
        (results) => {
          this.#settle(batch.length);
          results.forEach((result, i) => batch[i]?.resolve(result));
          // One result per call is the worker's contract; a call left unanswered must not hang.
          for (const w of batch.slice(results.length)) {
            w.reject(new PoolError('ERR_POOL_WORKER_DIED', `the worker answered ${results.length} of ${batch.length} calls`));
          }
        },
        (error: unknown) => {
          this.#settle(batch.length);
          for (const w of batch) w.reject(error);
        },
      );
    }
  }

  #settle(calls: number): void {
    this.#inFlight--;
    this.#pending -= calls;
    this.#pump();
  }
}
