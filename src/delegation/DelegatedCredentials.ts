/**
 * The delegated credentials a pool keeps: one FILE ccache per client principal in a directory
 * of the server's own (mod_auth_gssapi's GssapiDelegCcacheDir). A worker writes each credential
 * to a new temporary file (native/src/identity/delegated_cred.cc); this store gives it its
 * principal's name with one rename, so a reader never sees a half-written ccache, and removes it
 * when the last connection holding it ends, when the credential itself expires, when asked, and
 * on close. Runs on the main thread; every file operation of one path runs in order.
 */
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { ccacheFileName } from './ccacheFileName.js';
import { checkDelegationDir, removeTemporaryFiles, TEMP_PREFIX } from './delegationDir.js';

export interface DelegatedCredentialsOptions {
  /** The directory (checked by checkDelegationDir: ours, a real directory, not writable by others). */
  dir: string;
  /** Most ccache files kept at once (one per principal); beyond it new credentials are dropped. Default 10,000. */
  maxFiles?: number;
  /** How often expired credentials are removed, ms. Default 60,000. */
  sweepIntervalMs?: number;
  logger?: Logger;
}

/** A ccache the worker wrote under a temporary name; lifetime in seconds, null if indefinite. */
export interface StoredDelegation {
  path: string;
  lifetime: number | null;
}

interface KeptFile {
  /** When the credential ends (ms since the epoch), or null if it does not. */
  expiresAt: number | null;
  /** The connections whose identity carries this file. */
  holders: Set<number>;
}

export const DEFAULT_DELEGATION_MAX_FILES = 10_000;

export class DelegatedCredentials {
  /** The directory's absolute path. */
  readonly dir: string;
  readonly maxFiles: number;
  readonly #logger: Logger;
  readonly #files = new Map<string, KeptFile>();
  readonly #heldBy = new Map<number, string>();
  /** The last file operation queued for each path; the next one waits for it. */
  readonly #pending = new Map<string, Promise<void>>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  private constructor(dir: string, opts: DelegatedCredentialsOptions) {
    this.dir = dir;
    this.maxFiles = opts.maxFiles ?? DEFAULT_DELEGATION_MAX_FILES;
    this.#logger = opts.logger ?? silentLogger;
    this.#timer = setInterval(() => void this.sweep(), opts.sweepIntervalMs ?? 60_000);
    this.#timer.unref();
  }

  /**
   * Checks the directory (ConfigError ERR_CONFIG if another user could read or swap what is
   * written there) and removes the temporary files a previous run left in it.
   */
  static async open(opts: DelegatedCredentialsOptions): Promise<DelegatedCredentials> {
    const maxFiles = opts.maxFiles ?? DEFAULT_DELEGATION_MAX_FILES;
    if (!Number.isInteger(maxFiles) || maxFiles < 1) {
      throw new ConfigError('ERR_CONFIG', `delegation max files must be a positive whole number, not ${maxFiles}`);
    }
    const dir = await checkDelegationDir(opts.dir);
    await removeTemporaryFiles(dir);
    return new DelegatedCredentials(dir, opts);
  }

  /** How many ccache files are kept. */
  get size(): number {
    return this.#files.size;
  }

  /**
   * Gives the ccache the worker wrote (`stored`) its principal's name and records that
   * connection `holder` carries it. A newer credential of the same principal replaces the file
   * (its holders all see the newer one). Resolves with the ccache's path, or undefined when it
   * is not kept (closed, full, a principal with no usable file name); the temporary file is
   * then removed. Never rejects.
   */
  async adopt(stored: StoredDelegation, principal: string, holder: number): Promise<string | undefined> {
    const temp = path.resolve(stored.path);
    // Only a file the addon made in this directory, never a path from anywhere else.
    if (path.dirname(temp) !== this.dir || !path.basename(temp).startsWith(TEMP_PREFIX)) {
      this.#logger.warn('delegated credential not kept', { principal, reason: `unexpected file ${temp}` });
      return undefined;
    }
    const name = ccacheFileName(principal);
    const target = name === undefined ? undefined : path.join(this.dir, name);
    const needsRoom = (t: string): boolean => !this.#files.has(t) && this.#files.size >= this.maxFiles;
    // At the bound, credentials that have ended make room first.
    if (target !== undefined && needsRoom(target)) await this.sweep();
    const refusal = this.#closed
      ? 'the pool is closing'
      : target === undefined
        ? 'the principal cannot name a file of its own'
        : needsRoom(target)
          ? `the delegation directory holds its maximum of ${this.maxFiles} credentials`
          : undefined;
    if (refusal !== undefined || target === undefined) {
      this.#logger.warn('delegated credential not kept', { principal, reason: refusal });
      await this.#remove(temp);
      return undefined;
    }
    const expiresAt = stored.lifetime === null ? null : Date.now() + stored.lifetime * 1000;
    // A connection carries one credential: an earlier one it held is let go first.
    const letGo = this.releaseHolder(holder);
    // Recorded before the rename, so a release or sweep meanwhile is queued behind it.
    const kept = this.#files.get(target) ?? { expiresAt, holders: new Set<number>() };
    kept.expiresAt = expiresAt;
    this.#files.set(target, kept);
    kept.holders.add(holder);
    this.#heldBy.set(holder, target);
    const ok = await this.#serial(target, async () => {
      try {
        // MIT creates ccaches 0600 already; said again here, since this file is the user's keys.
        await fs.chmod(temp, 0o600);
        await fs.rename(temp, target);
        return true;
      } catch (err) {
        this.#logger.warn('delegated credential not kept', { principal, reason: String(err) });
        await fs.rm(temp, { force: true }).catch(() => undefined);
        return false;
      }
    });
    await letGo;
    if (!ok) {
      await this.release(target);
      return undefined;
    }
    return this.#files.has(target) ? target : undefined;
  }

  /** The connection `holder` ended: its ccache is removed once no other connection holds it. */
  releaseHolder(holder: number): Promise<void> {
    const target = this.#heldBy.get(holder);
    if (target === undefined) return Promise.resolve();
    this.#heldBy.delete(holder);
    const kept = this.#files.get(target);
    kept?.holders.delete(holder);
    if (kept === undefined || kept.holders.size > 0) return Promise.resolve();
    this.#files.delete(target);
    return this.#remove(target);
  }

  /**
   * The ccache connection `from` holds is held by `to` instead (the adapter: a context that ends
   * with its handshake hands its credential to the request). Nothing if `from` holds none.
   */
  transferHolder(from: number, to: number): void {
    const target = this.#heldBy.get(from);
    if (target === undefined) return;
    this.#heldBy.delete(from);
    this.#heldBy.set(to, target);
    const kept = this.#files.get(target);
    kept?.holders.delete(from);
    kept?.holders.add(to);
  }

  /**
   * Removes the ccache at `ccachePath` now, whoever holds it (the path an identity's
   * `delegatedCcache` gave). Resolves true when this store kept it.
   */
  async release(ccachePath: string): Promise<boolean> {
    const target = path.resolve(ccachePath);
    const kept = this.#files.get(target);
    if (kept === undefined) return false;
    this.#files.delete(target);
    for (const holder of kept.holders) this.#heldBy.delete(holder);
    await this.#remove(target);
    return true;
  }

  /** Removes every credential that has ended by `now` (ms since the epoch); resolves with how many. */
  async sweep(now = Date.now()): Promise<number> {
    const ended = [...this.#files].filter(([, k]) => k.expiresAt !== null && k.expiresAt <= now).map(([p]) => p);
    await Promise.all(ended.map((p) => this.release(p)));
    return ended.length;
  }

  /** Removes every ccache this store kept and every temporary file; later adopts keep nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await Promise.all([...this.#files.keys()].map((p) => this.release(p)));
    await Promise.all(this.#pending.values());
    await removeTemporaryFiles(this.dir).catch((err: unknown) =>
      this.#logger.warn('delegated credentials: temporary files not removed', { dir: this.dir, reason: String(err) }),
    );
  }

  #remove(file: string): Promise<void> {
    return this.#serial(file, async () => {
      try {
        await fs.rm(file, { force: true });
      } catch (err) {
        this.#logger.warn('delegated credential not removed', { path: file, reason: String(err) });
      }
    });
  }

  /** Runs `op` after every operation queued before it on `file`. */
  #serial<T>(file: string, op: () => Promise<T>): Promise<T> {
    const before = this.#pending.get(file) ?? Promise.resolve();
    const run = before.then(op);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.set(file, settled);
    void settled.then(() => {
      if (this.#pending.get(file) === settled) this.#pending.delete(file);
    });
    return run;
  }
}
