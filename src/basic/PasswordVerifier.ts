/**
 * Passwords checked against the KDC on worker threads of their own (src/pool/SideWorkers.ts
 * running workers/basic.worker.ts), as constrained delegation runs its KDC exchanges: an AS
 * exchange for the user, then the reply verified with the service's key from the keytab
 * (krb5_verify_init_creds), so a KDC that does not hold that key cannot vouch for a password.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as BasicWorker from '../../workers/basic.worker.js';
import { PoolError } from '../errors.js';
import type { NativeCheckPasswordOptions, NativeCheckPasswordResult } from '../native.js';
import { SideWorkers } from '../pool/SideWorkers.js';

const workerFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'workers', 'basic.worker.js');

export interface PasswordVerifierOptions {
  /** The service keytab whose key verifies the KDC's reply. Default: KRB5_KTNAME, else MIT's default. */
  keytab?: string | undefined;
  /** Verify with this service principal's key. Default: any key in the keytab. */
  server?: string | undefined;
  /** Worker threads for the KDC exchanges. Default 1. */
  threads?: number | undefined;
  /** Checks waiting for a thread before ERR_POOL_QUEUE_FULL. Default 64. */
  maxQueue?: number | undefined;
  /** Give up on one check after this long (ERR_POOL_TASK_TIMEOUT). Default 15 s. */
  taskTimeoutMs?: number | undefined;
}

export class PasswordVerifier {
  readonly #keytab: string | undefined;
  readonly #server: string | undefined;
  readonly #workers: SideWorkers<typeof BasicWorker>;
  #checks = 0;

  constructor(options: PasswordVerifierOptions = {}) {
    this.#workers = new SideWorkers({
      filename: workerFile,
      label: 'basic auth',
      threads: options.threads,
      maxQueue: options.maxQueue,
      taskTimeoutMs: options.taskTimeoutMs ?? 15_000,
    });
    this.#keytab = options.keytab === undefined ? undefined : path.resolve(options.keytab);
    this.#server = options.server;
  }

  /** KDC exchanges started since construction (rate-limited attempts never get here). */
  get checks(): number {
    return this.#checks;
  }

  /**
   * Checks `password` for `user`. Zeroes `password` before resolving. Resolves with the addon's
   * result (a failure is a result: ERR_BASIC_*); rejects with a PoolError when the queue is
   * full, the check takes longer than taskTimeoutMs, or after close().
   */
  async check(user: string, password: Buffer): Promise<NativeCheckPasswordResult> {
    try {
      if (this.#workers.closed) throw new PoolError('ERR_POOL_CLOSED', 'basic auth is closed');
      const task: NativeCheckPasswordOptions = { user, password };
      if (this.#keytab !== undefined) task.keytab = this.#keytab;
      if (this.#server !== undefined) task.server = this.#server;
      this.#checks += 1;
      // The task (the password with it) is copied to the worker, whose addon zeroes its copy.
      return await this.#workers.run('checkPassword', task);
    } finally {
      password.fill(0);
    }
  }

  /** Stops the threads. Idempotent. */
  async close(): Promise<void> {
    await this.#workers.close();
  }
}
