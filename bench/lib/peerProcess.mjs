// Process helpers shared by the HTTP peers (Apache, kerberos npm, the main-thread server): read
// a realm env file, pick a free loopback port, wait for a port, start a Node peer and wait for
// its listening line, probe with curl --negotiate, and stop a started process by its PID only.
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { processTree } from './proc.mjs';
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Parse the realm's `env` file (lines `export K='V'`) into an object. Accepts an object too,
 * so callers can pass either the path or what they already parsed.
 * @param {string | Record<string, string>} env
 * @returns {Record<string, string>}
 */
export function realmEnv(env) {
  if (typeof env !== 'string') return { ...env };
  /** @type {Record<string, string>} */
  const out = {};
  for (const line of readFileSync(env, 'utf8').split('\n')) {
    const m = /^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=(?:'([^']*)'|"([^"]*)"|(\S*))\s*$/.exec(line);
    if (m) out[m[1]] = m[2] ?? m[3] ?? m[4] ?? '';
  }
  return out;
}

/** The Kerberos-related variables a peer needs; everything else comes from process.env. */
const KRB_KEYS = ['KRB5_CONFIG', 'KRB5_KDC_PROFILE', 'KRB5CCNAME', 'KRB5_KTNAME', 'KRB5RCACHEDIR', 'KRB5_TRACE'];

/**
 * Merge process.env with the realm's Kerberos variables (realm wins for those keys).
 * @param {Record<string, string>} realm
 */
export function childEnv(realm) {
  /** @type {Record<string, string | undefined>} */
  const env = { ...process.env };
  for (const k of KRB_KEYS) if (realm[k] !== undefined) env[k] = realm[k];
  return env;
}

/**
 * A currently free 127.0.0.1 port, for servers (Apache) that cannot listen on port 0 and
 * report the port back. Racy in principle (another process could take it before the server
 * binds), harmless on a bench machine; the server's startup then fails loudly.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolve once 127.0.0.1:port accepts a TCP connection; reject after timeoutMs or if
 * `alive()` turns false (the process died, e.g. a config error).
 * @param {number} port
 * @param {number} timeoutMs
 * @param {() => boolean} alive
 */
export async function waitForPort(port, timeoutMs, alive) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('process exited before listening');
    const ok = await new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`port ${port} not accepting after ${timeoutMs} ms`);
}

/**
 * One `curl --negotiate` GET of http://localhost:PORT/whoami with the realm's ccache.
 * Returns the status and whether the 200 carried a mutual-auth token (never the token).
 * @param {Record<string, string>} realm
 * @param {number} port
 * @returns {Promise<{ status: number, mutual: boolean, user: string | null }>}
 */
export function curlNegotiate(realm, port) {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      [
        '-s',
        '-o',
        '/dev/null',
        '-D',
        '-',
        '--max-time',
        '5',
        '--negotiate',
        '-u',
        ':',
        `http://localhost:${port}/whoami`,
      ],
      { env: childEnv(realm), timeout: 10_000 },
      (err, stdout) => {
        if (err && !stdout) return reject(err);
        // curl -D prints every response's headers (401 then 200); judge the last one.
        const blocks = stdout.split(/\r?\n\r?\n/).filter((b) => b.startsWith('HTTP/'));
        const last = blocks.at(-1) ?? '';
        const status = Number(/^HTTP\/\S+ (\d{3})/.exec(last)?.[1] ?? 0);
        const mutual = /^www-authenticate:\s*negotiate\s+\S+/im.test(last);
        const user = /^x-remote-user:\s*(.*?)\s*$/im.exec(last)?.[1] ?? null;
        resolve({ status, mutual, user });
      },
    );
  });
}

/**
 * SIGTERM the given child (by PID, never by name), wait up to graceMs for it to exit, then
 * SIGKILL whatever of its tree is left.
 * @param {import('node:child_process').ChildProcess} child
 * @param {number} graceMs
 */
export async function stopChild(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  const tree = processTree(/** @type {number} */ (child.pid));
  child.kill('SIGTERM');
  const t = await Promise.race([exited.then(() => 'exit'), sleep(graceMs).then(() => 'timeout')]);
  if (t === 'timeout') {
    for (const p of tree) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await Promise.race([exited, sleep(2000)]);
  }
  // Apache children exit shortly after the parent; give stragglers of our tree a moment.
  for (let i = 0; i < 40 && tree.some(alive); i++) await sleep(50);
}

/** @param {number} pid */
function alive(pid) {
  try {
    // A zombie still has /proc/<pid>; treat state Z as gone.
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Starts a Node peer server (`script` with `args`) that prints a JSON `{"event":"listening",
 * "port":N}` line on stdout, waits for that line, and (unless `verify` is false) checks one
 * curl --negotiate 200 with mutual authentication. On failure the child is stopped and the
 * error carries the tail of its stderr.
 * @param {{ name: string, script: string, args: string[], env: Record<string, string | undefined>,
 *   realm: Record<string, string>, readyTimeoutMs?: number, verify?: boolean }} o
 * @returns {Promise<{ name: string, pid: number, pids(): number[], ports: { http?: number }, stop(): Promise<void> }>}
 */
export async function startNodePeer(o) {
  const child = spawn(process.execPath, [o.script, ...o.args], { env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const timeoutMs = o.readyTimeoutMs ?? 15_000;
  const handle = {
    name: o.name,
    pid: /** @type {number} */ (child.pid),
    pids: () => processTree(/** @type {number} */ (child.pid)),
    ports: /** @type {{ http?: number }} */ ({}),
    stop: () => stopChild(child, 5000),
  };
  try {
    handle.ports.http = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line after ${timeoutMs} ms`)), timeoutMs);
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`exited ${code ?? sig}`));
      });
      const rl = createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) });
      rl.on('line', (line) => {
        try {
          const ev = JSON.parse(line);
          if (ev.event === 'listening') {
            clearTimeout(timer);
            resolve(ev.port);
          }
        } catch {
          /* not JSON */
        }
      });
    });
    if (o.verify !== false) {
      const r = await curlNegotiate(o.realm, /** @type {number} */ (handle.ports.http));
      if (r.status !== 200 || !r.mutual) throw new Error(`curl --negotiate gave ${r.status} mutual=${r.mutual}`);
    }
  } catch (e) {
    await handle.stop().catch(() => {});
    throw new Error(
      `${o.name} peer failed: ${/** @type {Error} */ (e).message}${stderr ? `; stderr: ${stderr.trim()}` : ''}`,
      { cause: e },
    );
  }
  return handle;
}
