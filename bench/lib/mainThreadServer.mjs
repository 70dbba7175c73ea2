// Start/stop the main-thread peer (bench/peers/main-thread/server.mjs): negotiate-server's
// native addon called inline on the main thread behind uWebSockets.js, no worker pool.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { childEnv, curlNegotiate, realmEnv, stopChild } from './peerProcess.mjs';
import { processTree } from './proc.mjs';

const SERVER = fileURLToPath(new URL('../peers/main-thread/server.mjs', import.meta.url));

/**
 * @param {{ env: string | Record<string, string>, keytab?: string, port?: number,
 *   replayCache?: 'default' | 'none' | string, readyTimeoutMs?: number, verify?: boolean }} opts
 *   replayCache: as the accept_loop's --rcache (default, none, file2:PATH).
 * @returns {Promise<{ name: string, pid: number, pids(): number[], ports: { http?: number }, stop(): Promise<void> }>}
 */
export async function startMainThread(opts) {
  const realm = realmEnv(opts.env);
  const keytab = opts.keytab ?? realm.KRB5_KTNAME;
  if (!keytab) throw new Error('no keytab (pass keytab or KRB5_KTNAME in env)');
  const env = { ...childEnv(realm), KRB5_KTNAME: keytab.includes(':') ? keytab : `FILE:${keytab}` };
  const child = spawn(process.execPath, [SERVER, String(opts.port ?? 0), opts.replayCache ?? 'default'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const timeoutMs = opts.readyTimeoutMs ?? 15_000;
  const handle = {
    name: 'main-thread addon',
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
    if (opts.verify !== false) {
      const r = await curlNegotiate(realm, /** @type {number} */ (handle.ports.http));
      if (r.status !== 200 || !r.mutual) throw new Error(`curl --negotiate gave ${r.status} mutual=${r.mutual}`);
    }
  } catch (e) {
    await handle.stop().catch(() => {});
    throw new Error(`main-thread server failed: ${/** @type {Error} */ (e).message}${stderr ? `; stderr: ${stderr.trim()}` : ''}`);
  }
  return handle;
}
