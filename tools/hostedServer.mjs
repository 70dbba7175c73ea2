// The parent side of serverHost.mjs: starts a NegotiateServer in a child process and talks to it
// over IPC with bounded waits. See serverHost.mjs for the message protocol.
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
// The built product: the option resolver is not in the public entry (dist/src/index.js).
import { resolveServerOptions } from '../dist/src/options.js';

const HOST = fileURLToPath(new URL('./serverHost.mjs', import.meta.url));

/** iproute2's `ip`, for servers started in a network namespace. */
function ipTool() {
  const found = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((f) => existsSync(f));
  if (found === undefined) throw new Error('ip not found: install it with: apt-get install -y iproute2');
  return found;
}
const STDERR_TAIL_BYTES = 64 * 1024;

/**
 * What the soak and the tests run unless they say otherwise: the library's defaults (a resolved,
 * flat configuration) with sspi and gss-sample on 127.0.0.1 port 0, 2 workers, 1 s shutdown
 * grace. What JSON cannot carry (the logger, the WebSocket handler) the host fills in.
 */
const resolvedDefaults = resolveServerOptions({
  tcp: { sspi: { port: 0 }, gssSample: { port: 0 } },
  workers: 2,
  shutdownGraceMs: 1000,
});
// Dropped: the logger, the WebSocket handler and the authorizer (a class) cannot cross to the
// child process; the host builds the authorizer from `authorization` (JSON rules) instead.
delete resolvedDefaults.logger;
delete resolvedDefaults.onWsMessage;
delete resolvedDefaults.authorizer;
const hostDefaults = resolvedDefaults;
export const DEFAULT_HOST_OPTIONS = Object.freeze(hostDefaults);

/**
 * A server in a child process. Events: 'session' and 'handshakeFailed' (with forwardEvents),
 * 'exit' ({ code, signal }).
 */
export class HostedServer extends EventEmitter {
  /** @type {import('node:child_process').ChildProcess} */
  #child;
  #nextId = 1;
  /** @type {Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }>} */
  #pending = new Map();
  #stderr = '';
  /** @type {{ code: number | null, signal: NodeJS.Signals | null } | undefined} */
  exitStatus;
  /** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} */
  exited;
  /** @type {Array<{ event: string, frontend: string, address: string, port: number }>} */
  listening = [];

  /** @param {import('node:child_process').ChildProcess} child */
  constructor(child) {
    super();
    this.#child = child;
    child.stderr?.setEncoding('utf8').on('data', (d) => {
      this.#stderr = (this.#stderr + d).slice(-STDERR_TAIL_BYTES);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        const err = new Error(
          `the server process exited (${signal ?? code}) before answering; stderr tail:\n${this.stderrTail()}`,
        );
        for (const p of this.#pending.values()) {
          clearTimeout(p.timer);
          p.reject(err);
        }
        this.#pending.clear();
        this.emit('exit', { code, signal });
        resolve({ code, signal });
      });
    });
    child.on('message', (m) => this.#onMessage(/** @type {Record<string, any>} */ (m)));
  }

  /**
   * Forks the host and waits until it listens.
   * @param {{ env: Record<string, string>, options?: Record<string, unknown>, forwardEvents?: boolean, startTimeoutMs?:
   *   number, netns?: string }} o
   *   env: the realm's environment (KRB5_CONFIG, KRB5RCACHEDIR, NTLM_USER_FILE; KRB5_KTNAME and
   *   a keytab option as the caller likes). Never put a password in it: the server needs none.
   *   netns: run the server inside this network namespace (`ip netns exec`, which execs node in
   *   place, so the PID and the IPC channel are the same), e.g. a throwaway AD domain's.
   * @returns {Promise<HostedServer>}
   */
  static async start(o) {
    const options = { ...DEFAULT_HOST_OPTIONS, ...(o.options ?? {}), forwardEvents: o.forwardEvents === true };
    const inNetns =
      o.netns === undefined
        ? {}
        : { execPath: ipTool(), execArgv: ['netns', 'exec', o.netns, process.execPath, '--expose-gc'] };
    const child = fork(HOST, [JSON.stringify(options)], {
      execArgv: ['--expose-gc'],
      ...inNetns,
      env: { ...process.env, ...o.env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const host = new HostedServer(child);
    const timeoutMs = o.startTimeoutMs ?? 30_000;
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    try {
      await Promise.race([
        new Promise((resolve, reject) => {
          host.once('ready', resolve);
          host.once('startFailed', (m) => reject(new Error(`the server did not start: ${m.code}: ${m.message}`)));
          host.once('exit', ({ code, signal }) =>
            reject(new Error(`the server process exited (${signal ?? code}) while starting:\n${host.stderrTail()}`)),
          );
        }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the server did not start within ${timeoutMs} ms:\n${host.stderrTail()}`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      host.kill();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return host;
  }

  get pid() {
    return this.#child.pid;
  }

  /** @param {'sspi' | 'gss-sample' | 'http'} frontend */
  port(frontend) {
    const l = this.listening.find((x) => x.frontend === frontend);
    if (!l) throw new Error(`the server has no ${frontend} listener`);
    return l.port;
  }

  stderrTail() {
    return this.#stderr;
  }

  /**
   * @param {string} op
   * @param {Record<string, unknown>} [args]
   * @param {number} [timeoutMs]
   * @returns {Promise<any>}
   */
  request(op, args = {}, timeoutMs = 15_000) {
    if (this.exitStatus)
      return Promise.reject(
        new Error(
          `the server process has exited (${this.exitStatus.signal ?? this.exitStatus.code}):\n${this.stderrTail()}`,
        ),
      );
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`the server did not answer ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#child.send({ id, op, ...args });
    });
  }

  /** @param {{ gc?: boolean }} [o] */
  stats(o = {}) {
    return this.request('stats', { gc: o.gc === true });
  }

  /** Closes the server and waits (bounded) for the process to exit; kills it by PID otherwise. */
  async close(timeoutMs = 15_000) {
    if (this.exitStatus) return this.exitStatus;
    await this.request('close', { graceMs: 0 }, timeoutMs).catch(() => undefined);
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    const r = await Promise.race([
      this.exited,
      new Promise((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (r === undefined) {
      this.kill();
      return this.exited;
    }
    return r;
  }

  /** SIGKILL by PID (never by name), if still running. */
  kill() {
    if (!this.exitStatus && this.#child.pid !== undefined) {
      try {
        process.kill(this.#child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** @param {Record<string, any>} m */
  #onMessage(m) {
    if (typeof m.reply === 'number') {
      const p = this.#pending.get(m.reply);
      if (!p) return;
      this.#pending.delete(m.reply);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else p.reject(Object.assign(new Error(m.message), { code: m.code }));
      return;
    }
    if (m.event === 'ready') this.listening = m.listening;
    this.emit(m.event, m);
  }
}
