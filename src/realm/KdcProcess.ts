/**
 * One running `krb5kdc`: started and waited for until it is ready, or adopted by PID from
 * another process's pid file; stopped with SIGTERM, then SIGKILL, and only while /proc says
 * the PID is still a krb5kdc of this realm. Non-detached KDCs are killed when Node exits.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { createServer } from 'node:net';
import * as path from 'node:path';

import { realmError, tailLines } from './realmError.js';
import { readPidFile } from './state.js';
import { findTool } from './tools.js';

/**
 * `krb5kdc -n` writes "krb5kdc: starting..." to stderr right after "commencing operation" goes
 * to the log, i.e. once its sockets are bound; k5test's `start_kdc` waits for the same line.
 */
const kReadySentinel = 'starting...';
const kPollMs = 20;

export interface KdcStartOptions {
  realm: string;
  /** Only used in messages: the KDC reads its port from the profile in `env`. */
  kdcPort: number;
  /** Only used in messages, as kdcPort. Default 127.0.0.1. */
  kdcAddress?: string;
  /** The KDC's environment; must hold the realm's `KRB5_KDC_PROFILE`. */
  env: NodeJS.ProcessEnv;
  /** kdc.log: the KDC's stderr is appended to it, and the sentinel is read from it. */
  kdcLog: string;
  /** New session, not killed at exit: the KDC outlives this process. */
  detached: boolean;
  /** Default 10 s. */
  readyTimeoutMs?: number;
  /** Where to look for krb5kdc (tests); default as {@link findTool}. */
  searchPath?: readonly string[];
}

export type KdcStartResult = { ok: true; kdc: KdcProcess } | { ok: false; portInUse: boolean; message: string };

export interface KdcStopOptions {
  /** Wait after SIGTERM before SIGKILL. Default 5 s. */
  termTimeoutMs?: number;
  /** Wait after SIGKILL before giving up. Default 2 s. */
  killTimeoutMs?: number;
}

export class KdcProcess {
  /** PID of the KDC. */
  readonly pid: number;
  /** KRB5_KDC_PROFILE the process must have in its environment to count as ours. */
  readonly kdcProfile: string;
  readonly #kdcLog: string;
  readonly #child: ChildProcess | undefined;
  #gone = false;

  private constructor(pid: number, kdcProfile: string, kdcLog: string, child?: ChildProcess) {
    this.pid = pid;
    this.kdcProfile = kdcProfile;
    this.#kdcLog = kdcLog;
    this.#child = child;
    child?.once('exit', () => this.#markGone());
  }

  /**
   * Spawns `krb5kdc -n -r REALM` and resolves once it printed its ready line. A KDC that exits
   * first or is not ready by the deadline (then killed) gives `ok: false` with the log's tail;
   * `portInUse` says whether a retry on another port may help.
   */
  static async start(opts: KdcStartOptions): Promise<KdcStartResult> {
    const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
    const krb5kdc = await findTool('krb5kdc', opts.searchPath);
    // stderr goes to kdc.log, not a pipe: a detached KDC would die of SIGPIPE on its next
    // stderr write once this process had exited. The sentinel is then read from the file.
    const log = await fs.open(opts.kdcLog, 'a', 0o600);
    const logStart = (await log.stat()).size;
    let child: ChildProcess;
    let exit: ChildExit;
    try {
      const stdio: StdioOptions = ['ignore', 'ignore', log.fd];
      child = spawn(krb5kdc, ['-n', '-r', opts.realm], { env: opts.env, detached: opts.detached, stdio });
      // Listen before any await: a KDC that fails at once may exit while the log is being
      // closed, and an 'exit' emitted with nobody listening would leave the wait below hanging.
      exit = watchExit(child);
    } finally {
      await log.close();
    }

    // Wait for the sentinel, the process's end, or the deadline, whichever comes first. The
    // log is re-read every few ms: fs.watch is not reliable on every filesystem.
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      // Snapshot before reading: the exit may be observed while the read is in flight, and
      // only a read begun after the exit is sure to hold the KDC's last words.
      const hadExited = exit.reason !== undefined;
      const text = await readFrom(opts.kdcLog, logStart);
      if (text.includes(kReadySentinel) && exit.reason === undefined) break;
      if (hadExited || Date.now() >= deadline) {
        const reason = exit.reason ?? `did not print "${kReadySentinel}" within ${readyTimeoutMs} ms`;
        if (exit.reason === undefined) {
          child.kill('SIGKILL');
          await exit.done;
        }
        return {
          ok: false,
          portInUse: text.includes('Address already in use'),
          message:
            `starting krb5kdc for realm ${opts.realm} on ${opts.kdcAddress ?? '127.0.0.1'}:${opts.kdcPort} ` +
            `failed: it ${reason}; ` +
            `${opts.kdcLog} ends with:\n${tailLines(text)}`,
        };
      }
      await Promise.race([delay(kPollMs), exit.done]);
    }

    const pid = child.pid;
    if (pid === undefined) return { ok: false, portInUse: false, message: 'krb5kdc started without a pid' };
    const kdc = new KdcProcess(pid, opts.env['KRB5_KDC_PROFILE'] ?? '', opts.kdcLog, child);
    // Unref'd in both modes so a realm nobody stopped does not keep Node alive; a non-detached
    // KDC is then ended by the exit hook instead of being orphaned.
    child.unref();
    if (!opts.detached) trackForExit(pid);
    return { ok: true, kdc };
  }

  /** A KDC started by another process (or another realm object), known by its PID. */
  static adopt(pid: number, kdcProfile: string, kdcLog: string): KdcProcess {
    return new KdcProcess(pid, kdcProfile, kdcLog);
  }

  /** The KDC named in a realm's kdc.pid (as `realm down` finds it), or undefined without one. */
  static async fromPidFile(pidFile: string, kdcProfile: string, kdcLog: string): Promise<KdcProcess | undefined> {
    const pid = await readPidFile(pidFile);
    return pid === undefined ? undefined : new KdcProcess(pid, kdcProfile, kdcLog);
  }

  /** False once the KDC is known to have ended (it exited, or `stop()` finished). */
  get running(): boolean {
    return !this.#gone;
  }

  /**
   * SIGTERM, then SIGKILL if it is still there after `termTimeoutMs`. Signals only while the
   * PID is a krb5kdc with this realm's profile, so a recycled PID is never hit. Idempotent.
   */
  async stop(opts: KdcStopOptions = {}): Promise<void> {
    if (!this.#gone && (await isKdcOf(this.pid, this.kdcProfile))) {
      sendSignal(this.pid, 'SIGTERM');
      if (!(await this.#waitGone(opts.termTimeoutMs ?? 5_000))) {
        sendSignal(this.pid, 'SIGKILL');
        if (!(await this.#waitGone(opts.killTimeoutMs ?? 2_000))) {
          const log = `${this.#kdcLog} ends with:\n${tailLines(await readFrom(this.#kdcLog, 0))}`;
          throw realmError(`krb5kdc (pid ${this.pid}) survived SIGKILL\n${log}`);
        }
      }
    }
    this.#markGone();
  }

  #markGone(): void {
    this.#gone = true;
    gLiveKdcs.delete(this.pid);
  }

  /** Resolves true once the process has ended (or is a zombie), false at the deadline. */
  async #waitGone(timeoutMs: number): Promise<boolean> {
    const child = this.#child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      // Our own child: its 'exit' comes after the reap, so /proc/PID is gone when we return.
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    }
    // Not our child (a detached KDC left by another process): no exit event, so poll /proc.
    const deadline = Date.now() + timeoutMs;
    while (await processRunning(this.pid)) {
      if (Date.now() >= deadline) return false;
      await delay(kPollMs);
    }
    return true;
  }
}

/** An ephemeral loopback port, free at the time of the call. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(realmError('could not pick a free loopback port'))));
    });
  });
}

/** True while `pid` is a krb5kdc whose environment names `kdcProfile`. */
export async function isKdcOf(pid: number, kdcProfile: string): Promise<boolean> {
  let cmdline: string;
  try {
    cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  if (path.basename(cmdline.split('\0')[0] ?? '') !== 'krb5kdc') return false;
  try {
    const environ = await fs.readFile(`/proc/${pid}/environ`, 'utf8');
    return environ.split('\0').includes(`KRB5_KDC_PROFILE=${kdcProfile}`);
  } catch {
    // environ is unreadable across users or under some hardening; the name check must do.
    return true;
  }
}

/** True while /proc shows `pid` as a live (not zombie) process. */
async function processRunning(pid: number): Promise<boolean> {
  let stat: string;
  try {
    stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // The state letter follows the parenthesised command name, which may itself hold spaces.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/**
 * PIDs of non-detached KDCs. A child is not killed when its parent exits: without this hook a
 * test run that crashed or forgot `stop()` would leave a krb5kdc holding its port and directory.
 * One listener serves every realm, so many realms do not trip MaxListenersExceededWarning.
 * Fatal signals skip 'exit' handlers; an interactive Ctrl-C still reaches the KDC, which is in
 * our process group.
 */
const gLiveKdcs = new Set<number>();
let gExitHookInstalled = false;

function trackForExit(pid: number): void {
  gLiveKdcs.add(pid);
  if (gExitHookInstalled) return;
  gExitHookInstalled = true;
  process.on('exit', () => {
    for (const kdc of gLiveKdcs) sendSignal(kdc, 'SIGTERM');
  });
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone (ESRCH): that is the goal.
  }
}

async function readFrom(file: string, offset: number): Promise<string> {
  try {
    const text = await fs.readFile(file);
    return text.subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/** How a spawned child ended, once it has: `reason` is set before `done` resolves. */
interface ChildExit {
  done: Promise<void>;
  reason: string | undefined;
}

function watchExit(child: ChildProcess): ChildExit {
  const exit: ChildExit = { done: Promise.resolve(), reason: undefined };
  exit.done = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit.reason = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      exit.reason = `could not be started: ${err.message}`;
      resolve();
    });
  });
  return exit;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
