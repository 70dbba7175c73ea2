// The C ceiling: tools/native/accept_loop.c accepting pre-generated tokens with MIT's
// gss_accept_sec_context in T threads (a credential each), no sockets, no framing. What any
// server on this machine could at best reach with MIT krb5.
import { spawn } from 'node:child_process';
import { ensureBuilt } from '../../tools/native/build.mjs';
import { encodeRecords, loadEnv } from '../../tools/tokens.mjs';

/**
 * @param {{ env: Record<string,string|undefined>|string, tokens: Buffer[], threads?: number,
 *   rcache?: 'default'|'none'|string, mech?: 'spnego'|'krb5', keytab?: string, maxSeconds?: number,
 *   identity?: boolean }} opts
 *   env: the realm's env (KRB5_CONFIG, KRB5_KTNAME, KRB5RCACHEDIR for the default cache).
 *   rcache: 'default' (MIT's dfl: file cache), 'none', 'file2:/path' (or 'file:/path', same).
 *   maxSeconds: stop early after this long (the run is also bounded by the token count).
 *   identity: also read the client's name and PAC after each accept (accept_loop --identity).
 * @returns {Promise<{ rate: number, handshakes: number, failures: number, seconds: number, cpuSeconds: number, threads:
 *   number }>}
 */
export function runCeiling({
  env,
  tokens,
  threads = 1,
  rcache = 'default',
  mech = 'spnego',
  keytab,
  maxSeconds = 30,
  identity = false,
}) {
  const bin = ensureBuilt('accept_loop');
  if (rcache.startsWith('file:')) rcache = `file2:${rcache.slice(5)}`;
  if (!(rcache === 'default' || rcache === 'none' || rcache.startsWith('file2:')))
    throw new Error(`bad rcache ${rcache}`);
  const args = ['--threads', String(threads), '--rcache', rcache, '--mech', mech, '--max-seconds', String(maxSeconds)];
  if (keytab) args.push('--keytab', keytab);
  if (identity) args.push('--identity');
  args.push('-');
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...loadEnv(env) }, stdio: ['pipe', 'pipe', 'pipe'] });
    const timeoutMs = (maxSeconds + 30) * 1000;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => {
      if (err.length < 4096) err += c;
    });
    child.stdin.on('error', () => {}); // reported through the exit status instead
    child.stdin.end(encodeRecords(tokens));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`accept_loop failed (${signal ?? code}): ${err.trim()}`));
        return;
      }
      try {
        const r = JSON.parse(out.trim().split('\n').pop());
        resolve({
          rate: r.rate,
          handshakes: r.handshakes,
          failures: r.failures,
          seconds: r.seconds,
          cpuSeconds: r.cpuSeconds,
          threads: r.threads,
        });
      } catch {
        reject(new Error(`accept_loop output unparsable: ${out.slice(0, 200)}`));
      }
    });
  });
}
