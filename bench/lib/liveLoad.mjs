/**
 * Raw-TCP (`sspi` framing) load from a LIVE initiator: tools/native/live_client.c runs
 * gss_init_sec_context for every leg of every handshake, in `connections` threads, one handshake
 * per connection. Needed for NTLM, whose AUTHENTICATE answers the server's CHALLENGE and so
 * cannot be pre-generated; Kerberos runs through the same client for a like-for-like ratio.
 * A handshake counts when the client decrypts the server's sealed greeting (the server holds the
 * session key, so it accepted). The client's own CPU is reported as the load generator's.
 */
import { spawn } from 'node:child_process';
import { ensureBuilt } from '../../tools/native/build.mjs';
import { loadEnv } from '../../tools/tokens.mjs';

/** @typedef {import('./httpLoad.mjs').LoadResult} LoadResult */

/**
 * @param {{ env: Record<string,string|undefined>|string, host?: string, port: number,
 *   mech: 'ntlm'|'spnego-ntlm'|'krb5'|'spnego', service?: string, connections: number,
 *   durationS: number, maxHandshakes: number, serverName: string, scenario: string, timeoutS?: number }} o
 *   env: the realm's (KRB5CCNAME and KRB5_CONFIG for Kerberos; NEGOTIATE_NTLM_USER and
 *   NEGOTIATE_PASSWORD for NTLM, passed through the environment, never argv).
 * @returns {Promise<LoadResult>}
 */
export function runLiveLoad(o) {
  const bin = ensureBuilt('live_client');
  if (!['ntlm', 'spnego-ntlm', 'krb5', 'spnego'].includes(o.mech)) throw new Error(`runLiveLoad: bad mech ${o.mech}`);
  const args = [
    '--host', o.host ?? '127.0.0.1', '--port', String(o.port), '--mech', o.mech, '--service', o.service ?? 'host@localhost',
    '--connections', String(o.connections), '--max-seconds', String(o.durationS), '--max-handshakes', String(o.maxHandshakes),
    '--timeout-ms', String((o.timeoutS ?? 5) * 1000),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...loadEnv(o.env) }, stdio: ['ignore', 'pipe', 'pipe'] });
    // Bounded: the run itself stops after durationS; allow credential set-up and stragglers.
    const timer = setTimeout(() => child.kill('SIGKILL'), (o.durationS + 30 + (o.timeoutS ?? 5)) * 1000);
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => {
      if (err.length < 4096) err += c;
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`live_client failed (${signal ?? code}): ${err.trim()}`));
      try {
        const r = JSON.parse(out.trim().split('\n').pop() ?? '');
        /** @type {Record<string, number>} */
        const errorKinds = r.errors ?? {};
        let errors = 0;
        for (const k in errorKinds) errors += /** @type {number} */ (errorKinds[k]);
        resolve({
          scenario: o.scenario,
          server: o.serverName,
          connections: r.connections,
          durationS: r.seconds,
          requests: r.handshakes + errors,
          ok: r.handshakes,
          errors,
          errorKinds,
          rps: Math.round(r.rate),
          latencyMs: r.latencyMs,
          loadgenCpuS: r.cpuSeconds,
        });
      } catch {
        reject(new Error(`live_client output unparsable: ${out.slice(0, 200)}`));
      }
    });
  });
}
