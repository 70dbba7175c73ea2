/**
 * Holds MIT's replay-cache file locked from another process, so that the server's next
 * Kerberos accept blocks inside gss_accept_sec_context (MIT takes an exclusive lock on the file
 * for every store) until release(). This is how the fault tests put a worker thread in the
 * middle of a real GSSAPI call, for as long as they like, with no test hook in the product: the
 * same stall a slow disk, or another process sharing the cache, causes in production.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { PYTHON } from '../support/server.js';

/** Upper bound of a lock, whatever the test does: the locker exits on its own after it. */
const MAX_HOLD_SECONDS = 30;

// fcntl (POSIX) locks conflict with MIT's (OFD or POSIX) locks held by another process.
const LOCKER = `
import fcntl, signal, sys
signal.alarm(${MAX_HOLD_SECONDS})
f = open(sys.argv[1], 'r+')
fcntl.lockf(f, fcntl.LOCK_EX)
print('locked', flush=True)
sys.stdin.read()
`;

/** The default replay cache of the realm's acceptor (`dfl:` = file2 under KRB5RCACHEDIR). */
export async function findReplayCache(rcacheDir: string): Promise<string> {
  const files = (await fs.readdir(rcacheDir)).filter((f) => f.endsWith('.rcache2'));
  if (files.length !== 1) throw new Error(`expected one MIT replay cache (*.rcache2) in ${rcacheDir}, found: ${files.join(', ') || 'none'} (did a Kerberos handshake run first?)`);
  return path.join(rcacheDir, files[0] as string);
}

export class ReplayCacheLock {
  readonly #child: ChildProcessWithoutNullStreams;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
  }

  /** Resolves once the file is locked. */
  static async acquire(file: string, timeoutMs = 5000): Promise<ReplayCacheLock> {
    const child = spawn(PYTHON, ['-c', LOCKER, file], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const lock = new ReplayCacheLock(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        lock.release();
        reject(new Error(`could not lock ${file} within ${timeoutMs} ms: ${stderr}`));
      }, timeoutMs);
      createInterface({ input: child.stdout }).once('line', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the locker exited (${code}) before locking ${file}: ${stderr}`));
      });
    });
    return lock;
  }

  /** Unlocks (the locker exits, which drops its lock). Idempotent. */
  release(): void {
    this.#child.stdin.end();
    if (this.#child.exitCode === null && this.#child.signalCode === null && this.#child.pid !== undefined) {
      try {
        process.kill(this.#child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
}
