/**
 * `negotiate-server` run as users' scripts run it, for the CLI tests (test/integration/cli*.test.ts):
 * one-shot commands (runCli, runBash) and a long-running process (Cli) whose stdout is read as
 * JSON event lines, stderr kept for failure messages, signals sent by pid, and a cleanup
 * registered with the test that started it, so a failed assertion leaves no CLI, no krb5kdc of
 * its embedded realm and no realm directory behind.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import { requireTool } from './realm.js';

// Compiled to dist/test/support/cliProcess.js: the repository root is three levels up.
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = path.join(REPO_ROOT, 'bin', 'negotiate-server.js');

export const START_TIMEOUT_MS = 30_000; // realm creation + workers, on a 2-core machine
export const EXIT_TIMEOUT_MS = 15_000;
const CMD_TIMEOUT_MS = 30_000;

/** Where the CLI makes an embedded realm (src/cli.ts: mkdtemp in the temp dir). */
const EMBEDDED_REALM_PREFIX = 'negotiate-realm-';

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** The test process's environment without any Kerberos/NTLM setting: the CLI must bring its own. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
  for (const k of Object.keys(env)) {
    if (k.startsWith('KRB5') || k.startsWith('NEGOTIATE_') || k === 'NTLM_USER_FILE') delete env[k];
  }
  return env;
}

/** Every stdout line must be one JSON object: stdout is for machines. */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return assert.fail(`stdout line is not JSON: ${JSON.stringify(l)}\nstdout:\n${stdout}`);
      }
    });
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `file args` to its end (bounded by `timeoutMs`); never rejects: the exit code says. */
export function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
  timeoutMs = CMD_TIMEOUT_MS,
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : null
        : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `negotiate-server ARGS...` to its end with the clean environment (or `env`). */
export function runCli(args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  return run(process.execPath, [BIN, ...args], env);
}

/** Runs a bash script (`bash -c SCRIPT _ ARGS...`) with the clean environment. */
export function runBash(script: string, args: string[] = []): Promise<Run> {
  return run(requireTool('bash', 'bash'), ['-c', script, '_', ...args]);
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Checks a `listening` event line for `frontend` on 127.0.0.1; returns its (real) port. */
export function assertListening(ev: Record<string, unknown> | undefined, frontend: string): number {
  assert.ok(ev, `a listening line for ${frontend}`);
  assert.equal(ev['event'], 'listening');
  assert.equal(ev['frontend'], frontend);
  assert.equal(ev['address'], '127.0.0.1');
  const port = ev['port'];
  assert.ok(
    typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536,
    `real port, not ${String(port)}`,
  );
  return port;
}

/** A long-running CLI process with its stdout read line by line. */
export class Cli {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  stderr = '';
  readonly #exited: Promise<Exit>;
  #waiters: Array<() => void> = [];

  /**
   * Starts `file args` for the test `t`. When `t` ends, passed or failed, a process still
   * running gets SIGTERM (so it removes its embedded realm itself), then SIGKILL after
   * EXIT_TIMEOUT_MS; a krb5kdc of an embedded realm it started is then killed and the realm's
   * directory removed (a SIGKILLed CLI cannot do either).
   */
  constructor(t: TestContext, file: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv()) {
    this.child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    t.after(() => this.dispose());
    this.child.stdin.end();
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(line);
      this.#wake();
    });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.#exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.#wake();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    assert.ok(this.child.pid !== undefined, 'the process started');
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits until stdout has at least `n` lines; fails on timeout or on an early exit. */
  async waitLines(n: number, timeoutMs = START_TIMEOUT_MS): Promise<Array<Record<string, unknown>>> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < n) {
      if (!this.running)
        assert.fail(
          `exited (${this.child.exitCode ?? this.child.signalCode}) after ${this.lines.length}/${n} stdout ` +
            `lines:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`,
        );
      const left = deadline - Date.now();
      if (left <= 0)
        assert.fail(
          `timed out after ${timeoutMs} ms with ${this.lines.length}/${n} stdout ` +
            `lines:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return jsonLines(this.lines.join('\n'));
  }

  /** Sends `signal` (by pid) and waits, bounded, for the exit. */
  async stop(signal: NodeJS.Signals, timeoutMs = EXIT_TIMEOUT_MS): Promise<Exit> {
    process.kill(this.pid, signal);
    return this.exited(timeoutMs);
  }

  /** Waits, bounded, for the exit; on timeout kills the process and fails. */
  async exited(timeoutMs = EXIT_TIMEOUT_MS): Promise<Exit> {
    const r = await this.#exitWithin(timeoutMs);
    if (r === 'timeout') {
      process.kill(this.pid, 'SIGKILL');
      assert.fail(`did not exit within ${timeoutMs} ms; stderr:\n${this.stderr}`);
    }
    return r;
  }

  /**
   * The test's cleanup (registered by the constructor): ends the process if it still runs, then
   * whatever of its embedded realm survived it. A no-op after a clean stop().
   */
  async dispose(): Promise<void> {
    if (this.running) {
      signal(this.pid, 'SIGTERM');
      if ((await this.#exitWithin(EXIT_TIMEOUT_MS)) === 'timeout') {
        signal(this.pid, 'SIGKILL');
        await this.#exitWithin(EXIT_TIMEOUT_MS);
      }
    }
    for (const dir of this.#embeddedRealmDirs()) {
      for (const kdc of await liveKdcsOf(dir)) signal(kdc, 'SIGKILL');
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  async #exitWithin(timeoutMs: number): Promise<Exit | 'timeout'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const r = await Promise.race([this.#exited, timeout]);
    clearTimeout(timer);
    return r;
  }

  /**
   * Directories of the embedded realms this process made: from the log line it writes (stderr)
   * before creating one, so a realm still starting counts too, and from its `realm` event line.
   * Only the CLI's own mkdtemp names, never a directory a test gave it.
   */
  #embeddedRealmDirs(): string[] {
    const dirs: string[] = [];
    for (const line of this.stderr.split('\n')) {
      if (line.includes('embedded throwaway realm')) dirs.push(/"dir":"([^"]+)"/.exec(line)?.[1] ?? '');
    }
    for (const line of this.lines) {
      let ev: unknown;
      try {
        ev = JSON.parse(line);
      } catch {
        continue; // the test that read it has already failed on it
      }
      if (typeof ev === 'object' && ev !== null && Reflect.get(ev, 'event') === 'realm') {
        const dir: unknown = Reflect.get(ev, 'dir');
        if (typeof dir === 'string') dirs.push(dir);
      }
    }
    return [...new Set(dirs)].filter((d) => path.isAbsolute(d) && path.basename(d).startsWith(EMBEDDED_REALM_PREFIX));
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone (ESRCH): that is the goal.
  }
}

async function procState(pid: number): Promise<string | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/**
 * True while `pid` is a live (not zombie) krb5kdc started with KRB5_KDC_PROFILE inside
 * `realmDir`. (A zombie counts as gone: an orphaned detached KDC is reparented to PID 1,
 * which in some containers never reaps.)
 */
export async function isLiveKdcOf(pid: number, realmDir: string): Promise<boolean> {
  const state = await procState(pid);
  if (state === undefined || state === 'Z' || state === 'X') return false;
  try {
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    if (path.basename(cmdline.split('\0')[0] ?? '') !== 'krb5kdc') return false;
    const environ = await fs.readFile(`/proc/${pid}/environ`, 'utf8');
    return environ.split('\0').includes(`KRB5_KDC_PROFILE=${path.join(realmDir, 'kdc.conf')}`);
  } catch {
    return false; // vanished while being read
  }
}

/** PIDs of every live krb5kdc serving the realm in `realmDir`, found by scanning /proc. */
export async function liveKdcsOf(realmDir: string): Promise<number[]> {
  const pids = (await fs.readdir('/proc')).filter((e) => /^\d+$/.test(e)).map(Number);
  const out: number[] = [];
  for (const pid of pids) if (await isLiveKdcOf(pid, realmDir)) out.push(pid);
  return out;
}
