// Start/stop the `kerberos` npm peer (bench/peers/kerberos-npm/server.mjs) as a child process.
import { fileURLToPath } from 'node:url';
import { childEnv, realmEnv, startNodePeer } from './peerProcess.mjs';

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
  return startNodePeer({
    name: 'kerberos-npm',
    script: SERVER,
    args: [String(opts.port ?? 0), opts.service ?? 'HTTP@localhost'],
    env: { ...childEnv(realm), KRB5_KTNAME: keytab.includes(':') ? keytab : `FILE:${keytab}`, ...opts.extraEnv },
    realm,
    readyTimeoutMs: opts.readyTimeoutMs,
    verify: opts.verify,
  });
}
