/**
 * Constrained delegation with protocol transition (Kerberos S4U2Self + S4U2Proxy, MS-SFU): the
 * service obtains a ticket for a user to one back-end service without the user's password or
 * forwarded TGT, as `GssapiUseS4U2Proxy` (mod_auth_gssapi) and Windows' constrained delegation
 * do. The KDC decides: the service account must be allowed to delegate to that target
 * (AD: msDS-AllowedToDelegateTo) and, for a user named by the application rather than proven by
 * a ticket, to use protocol transition (TRUSTED_TO_AUTH_FOR_DELEGATION).
 *
 * The result is a FILE ccache holding only the user's ticket for that target, which the
 * application hands to a client library (`KRB5CCNAME`), as with a delegated credential
 * (docs/after-authentication.md). The KDC exchanges run on worker threads of their own
 * (src/pool/SideWorkers.ts).
 */
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as S4uWorker from '../../workers/s4u.worker.js';
import { checkDelegationDir } from '../delegation/delegationDir.js';
import { ConfigError, GssError, PoolError, errorCodeOf } from '../errors.js';
import type { NativeImpersonateOptions } from '../native.js';
import { SideWorkers } from '../pool/SideWorkers.js';

/** The addon's file name prefix (native/src/s4u/impersonate.cc kImpersonatedTempPrefix). */
export const S4U_FILE_PREFIX = '.s4u-';

const workerFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'workers', 's4u.worker.js');
const LABEL = 'constrained delegation';

export interface ConstrainedDelegationOptions {
  /**
   * The principal the service authenticates to the KDC as. Active Directory (and Samba) accept
   * only the account's own name here, not its SPNs: `svc-web@EXAMPLE.COM` for the account whose
   * SPN is `HTTP/www.example.com`. An MIT KDC accepts the service principal itself.
   */
  service: string;
  /** Keytab holding `service`'s keys. Default: the library default (KRB5_KTNAME). */
  keytab?: string;
  /**
   * Directory for the ccaches; refused unless it exists, is owned by this process's user and is
   * not writable by its group or others (the same checks as `credentials.delegationDir`).
   */
  dir: string;
  /** Worker threads for the KDC exchanges. Default 1. */
  threads?: number;
  /** Credentials waiting for a thread before ERR_POOL_QUEUE_FULL. Default 64. */
  maxQueue?: number;
  /** Give up on one credential after this long (ERR_POOL_TASK_TIMEOUT). Default 30 s. */
  taskTimeoutMs?: number;
}

/** A user's ticket for one target, on disk until released. */
export interface ImpersonatedCredential {
  /** Path of the FILE ccache (mode 0600): give it to a client library as `KRB5CCNAME=FILE:<path>`. */
  readonly ccache: string;
  /** The user, as the KDC named it in the ticket. */
  readonly client: string;
  /** The target's principal, as the ticket names it. */
  readonly target: string;
  /** When the ticket ends; the file is removed then if still there. */
  readonly expiresAt: Date;
  /** Removes the file now. Idempotent. */
  release(): Promise<void>;
}

export class ConstrainedDelegation {
  readonly service: string;
  readonly dir: string;
  readonly #keytab: string | undefined;
  readonly #workers: SideWorkers<typeof S4uWorker>;
  // Files handed out and not yet released, with the timer that removes each at its ticket's end.
  readonly #files = new Map<string, NodeJS.Timeout>();

  private constructor(opts: ConstrainedDelegationOptions, dir: string) {
    this.service = opts.service;
    this.dir = dir;
    this.#keytab = opts.keytab === undefined ? undefined : path.resolve(opts.keytab);
    this.#workers = new SideWorkers({
      filename: workerFile,
      label: LABEL,
      threads: opts.threads,
      maxQueue: opts.maxQueue,
      taskTimeoutMs: opts.taskTimeoutMs ?? 30_000,
    });
  }

  /**
   * Checks the options and the directory, removes the ccaches a crashed run left there, and
   * starts the worker threads. The service's keys are first used by the first credentialFor().
   */
  static async start(opts: ConstrainedDelegationOptions): Promise<ConstrainedDelegation> {
    if (opts.service === '' || opts.service.includes('\0'))
      throw new ConfigError('ERR_CONFIG', 'constrained delegation: service must be a principal name');
    SideWorkers.checkSizes(LABEL, opts);
    const dir = await checkDelegationDir(opts.dir);
    for (const name of await fs.readdir(dir)) {
      if (name.startsWith(S4U_FILE_PREFIX)) await fs.rm(path.join(dir, name), { force: true });
    }
    return new ConstrainedDelegation(opts, dir);
  }

  /**
   * A ticket for `user` (a principal name, e.g. `alice@EXAMPLE.COM`: usually the `principal` of
   * a completed handshake) to `target` (`service@host`, e.g. `HTTP@db.example.com`, or a
   * principal such as `MSSQLSvc/db.example.com:1433@EXAMPLE.COM`), written to a new ccache of its
   * own. Rejects with a GssError: ERR_S4U_PROXY_REFUSED when the target is not one the account
   * may delegate to, ERR_S4U_SELF_REFUSED when the KDC will not let it act as the user (no
   * protocol transition, an unknown user, an account marked sensitive), ERR_GSS_NO_CRED when
   * the keytab lacks the service's keys; a PoolError when the queue is full, the exchange takes
   * longer than taskTimeoutMs, or after close().
   */
  async credentialFor(user: string, target: string): Promise<ImpersonatedCredential> {
    const task: NativeImpersonateOptions = { service: this.service, user, target, dir: this.dir };
    if (this.#keytab !== undefined) task.keytab = this.#keytab;
    // The addon's result (workers/s4u.worker.ts); a PoolError (closed included) rejects here.
    const r = await this.#workers.run('impersonate', task);
    if (!r.ok) throw new GssError(errorCodeOf(r.code), r.message, r.major, r.minor);
    if (this.#workers.closed) {
      await fs.rm(r.path, { force: true });
      throw new PoolError('ERR_POOL_CLOSED', 'constrained delegation closed during the request');
    }
    const ccache = r.path;
    const release = async (): Promise<void> => {
      const timer = this.#files.get(ccache);
      if (timer === undefined) return;
      clearTimeout(timer);
      this.#files.delete(ccache);
      await fs.rm(ccache, { force: true });
    };
    // setTimeout holds at most ~24.8 days; a ticket outliving that is removed at release/close.
    const timer = setTimeout(() => void release(), Math.min(r.lifetime * 1000, 2 ** 31 - 1));
    timer.unref();
    this.#files.set(ccache, timer);
    return {
      ccache,
      client: r.client,
      target: r.target,
      expiresAt: new Date(Date.now() + r.lifetime * 1000),
      release,
    };
  }

  /** Paths of the ccaches handed out and not yet released. */
  files(): string[] {
    return [...this.#files.keys()];
  }

  /** Removes every ccache handed out and stops the threads. Idempotent. */
  async close(): Promise<void> {
    if (this.#workers.closed) return;
    await this.#workers.close();
    for (const [file, timer] of this.#files) {
      clearTimeout(timer);
      await fs.rm(file, { force: true });
    }
    this.#files.clear();
  }
}
