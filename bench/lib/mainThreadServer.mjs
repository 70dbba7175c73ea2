// Start/stop the main-thread peer (bench/peers/main-thread/server.mjs): negotiate-server's
// native addon called inline on the main thread behind uWebSockets.js, no worker pool.
import { fileURLToPath } from 'node:url';
import { childEnv, realmEnv, startNodePeer } from './peerProcess.mjs';

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
  return startNodePeer({
    name: 'main-thread addon',
    script: SERVER,
    args: [String(opts.port ?? 0), opts.replayCache ?? 'default'],
    env: { ...childEnv(realm), KRB5_KTNAME: keytab.includes(':') ? keytab : `FILE:${keytab}` },
    realm,
    readyTimeoutMs: opts.readyTimeoutMs,
    verify: opts.verify,
  });
}
