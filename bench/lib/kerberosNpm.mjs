// Start/stop the `kerberos` npm peer (bench/peers/kerberos-npm/server.mjs) as a child process.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { childEnv, curlNegotiate, realmEnv, stopChild } from './peerProcess.mjs';
import { processTree } from './proc.mjs';

const SERVER = fileURLToPath(new URL('../peers/kerberos-npm/server.mjs', import.meta.url));

/**
 * @param {{
 *   env: string | Record<string, string>, // realm env file path or its parsed variables
 *   keytab?: string,                      // default: the realm's KRB5_KTNAME
 *   port?: number,                        // 0/undefined = any free port (reported in ports.http)
 *   service?: string,                     // default HTTP@localhost
 *   readyTimeoutMs?: number,
 *   verify?: boolean,                     // default true: one curl --negotiate 200 with mutual auth before returning
 *   extraEnv?: Record<string, string>,    // e.g. { UV_THREADPOOL_SIZE: '2' }
 * }} opts
 * @returns {Promise<{ name: string, pid: number, pids(): number[], ports: { http?: number }, stop(): Promise<void> }>}
 */
export async function startKerberosNpm(opts) {
  const realm = realmEnv(opts.env);
  const keytab = opts.keytab ?? realm.KRB5_KTNAME;
  if (!keytab) throw new Error('no keytab (pass keytab or KRB5_KTNAME in env)');
  const env = { ...childEnv(realm), KRB5_KTNAME: keytab.includes(':') ? keytab : `FILE:${keytab}`, ...opts.extraEnv };
  const child = spawn(process.execPath, [SERVER, String(opts.port ?? 0), opts.service ?? 'HTTP@localhost'],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const timeoutMs = opts.readyTimeoutMs ?? 15_000;

  const handle = {
    name: 'kerberos-npm',
    pid: /** @type {number} */ (child.pid),
    pids: () => processTree(/** @type {number} */ (child.pid)),
    ports: /** @type {{ http?: number }} */ ({}),
    stop: () => stopChild(child, 5000),
  };
  try {
    handle.ports.http = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line after ${timeoutMs} ms`)), timeoutMs);
      child.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`exited ${code ?? sig}`)); });
      const rl = createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) });
      rl.on('line', (line) => {
        try {
          const ev = JSON.parse(line);
          if (ev.event === 'listening') { clearTimeout(timer); resolve(ev.port); }
        } catch { /* not JSON */ }
      });
    });
    if (opts.verify !== false) {
      const r = await curlNegotiate(realm, /** @type {number} */ (handle.ports.http));
      if (r.status !== 200 || !r.mutual) throw new Error(`curl --negotiate gave ${r.status} mutual=${r.mutual}`);
    }
  } catch (e) {
    await handle.stop().catch(() => {});
    throw new Error(`kerberos-npm peer failed: ${/** @type {Error} */ (e).message}${stderr ? `; stderr: ${stderr.trim()}` : ''}`);
  }
  return handle;
}
