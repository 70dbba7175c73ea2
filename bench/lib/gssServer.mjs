// MIT's gss-server (Debian package krb5-gss-samples) as the peer for the gss-sample framing.
//
// Its concurrency model, which the comparison must state: on Unix, MIT 1.20's gss-server is
// strictly sequential. One process, one thread (`-threads` exists only in the Windows
// build), a blocking accept() loop: each connection's whole session (context tokens, then
// the wrapped message, unwrap, and the MIC reply) runs to completion before the next
// accept(). It acquires its acceptor credential once at startup (registering -keytab as the
// acceptor keytab) and uses the default replay cache. It binds INADDR_ANY (no address
// option); the bench only ever connects to 127.0.0.1.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { generateTokens, isApRep, loadEnv } from '../../tools/tokens.mjs';

const GSS_SERVER = '/usr/bin/gss-server';

/**
 * @param {{ env: Record<string,string|undefined>|string, keytab?: string, port?: number,
 *   service?: string, readyTimeoutMs?: number, verify?: boolean }} opts
 *   env: the realm's env (object, or the path of its `env` file): KRB5_CONFIG, KRB5RCACHEDIR.
 *   keytab: defaults to env.KRB5_KTNAME (a leading FILE: is stripped; gss-server wants a path).
 *   port: 0/undefined picks a free port (gss-server cannot report one it picked itself).
 *   service: the acceptor name, default host@localhost (what gss-client targets).
 *   verify: after the port opens, run one real handshake (a fresh token from alice's ccache,
 *   so env needs KRB5CCNAME) and require an AP-REP: gss-server starts and listens even
 *   with a missing keytab, and would otherwise fail every request of the run.
 * @returns {Promise<{ name: string, pid: number, pids(): number[], ports: { gssSample: number }, stop(): Promise<void> }>}
 */
export async function startGssServer({ env, keytab, port, service = 'host@localhost', readyTimeoutMs = 5000, verify = true }) {
  if (!existsSync(GSS_SERVER)) throw new Error(`${GSS_SERVER} missing: apt-get install krb5-gss-samples`);
  const realm = loadEnv(env);
  keytab ??= realm.KRB5_KTNAME;
  if (!keytab) throw new Error('startGssServer: no keytab (pass keytab or env.KRB5_KTNAME)');
  keytab = keytab.replace(/^FILE:/, '');
  port ||= await freePort();
  const child = spawn(GSS_SERVER, ['-port', String(port), '-keytab', keytab, service], {
    env: { ...process.env, ...realm },
    // It prints a line per connection on stdout: discard it (cheap, and never a token).
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => {
    if (stderr.length < 4096) stderr += c;
  });
  /** @type {{ code: number|null, signal: string|null } | undefined} */
  let exited;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });
  const spawnError = new Promise((_, reject) => child.on('error', reject));

  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exitPromise;
    clearTimeout(t);
  };

  // Ready when the port accepts a connection. The probe connects and closes at once: the
  // sequential server reads EOF for that "session", logs a failure and goes back to accept().
  const deadline = Date.now() + readyTimeoutMs;
  try {
    for (;;) {
      if (exited) throw new Error(`gss-server exited (${exited.signal ?? exited.code}): ${stderr.trim()}`);
      if (await Promise.race([canConnect(port), spawnError])) break;
      if (Date.now() > deadline) throw new Error(`gss-server not listening on ${port} after ${readyTimeoutMs} ms: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (verify) {
      const [token] = await generateTokens({ env: realm, mech: 'krb5', service, count: 1 });
      const reply = await gssSampleHandshake(port, token);
      if (!isApRep(reply)) throw new Error(`gss-server on ${port} did not complete a handshake (keytab ${keytab}?): ${stderr.trim()}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: 'gss-server',
    pid: /** @type {number} */ (child.pid),
    pids: () => (exited ? [] : [/** @type {number} */ (child.pid)]),
    ports: { gssSample: port },
    stop,
  };
}

/**
 * One gss-sample session: NOOP|CONTEXT_NEXT, the context token, read the server's context
 * reply, then NOOP (end). Resolves with the reply token (empty if none), bounded to 3 s.
 * @param {number} port
 * @param {Buffer} token
 * @returns {Promise<Buffer>}
 */
export function gssSampleHandshake(port, token) {
  const frame = (/** @type {number} */ flags, /** @type {Buffer} */ body) => {
    const h = Buffer.alloc(5);
    h[0] = flags;
    h.writeUInt32BE(body.length, 1);
    return Buffer.concat([h, body]);
  };
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, noDelay: true });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (/** @type {Buffer} */ reply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.end(frame(0x01, Buffer.alloc(0)));
      resolve(reply);
    };
    const timer = setTimeout(() => {
      s.destroy();
      finish(Buffer.alloc(0));
    }, 3000);
    s.once('connect', () => s.write(Buffer.concat([frame(0x11, Buffer.alloc(0)), frame(0x02, token)])));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) finish(buf[0] === 0x02 ? buf.subarray(5, 5 + buf.readUInt32BE(1)) : Buffer.alloc(0));
    });
    s.on('error', () => finish(Buffer.alloc(0)));
    s.on('close', () => finish(Buffer.alloc(0)));
  });
}

/** @param {number} port */
function canConnect(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setTimeout(500);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
}

/** A free loopback port (racy in principle; gss-server then fails to bind and we report it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}
