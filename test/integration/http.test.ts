/**
 * The HTTP front end (RFC 4559, PROTOCOLS.md §3) against real clients: curl --negotiate and a
 * python3-gssapi client that verifies the server's final token (mutual authentication); the
 * refusals (no credentials, other schemes, bad base64, NTLM's multi-leg, replays, oversize
 * headers, overload); cookie sessions; uWS fallback refusal; close() of keep-alive connections.
 *
 * Kerberos clients use the hostname `localhost` (SPN HTTP/localhost); the listeners are bound
 * to 127.0.0.1 and curl gets `--resolve localhost:PORT:127.0.0.1`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http, { type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { httpGet } from '../support/httpGet.js';
import { fileURLToPath, pathToFileURL } from 'node:url';

import {
  HttpAcceptor,
  MULTI_LEG_REFUSAL,
  type HttpHandshakeFailure,
  type HttpIdentity,
} from '../../src/acceptors/HttpAcceptor.js';
import { AuthPool } from '../../src/pool/AuthPool.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { createLogger } from '../../src/logger.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { FAULT_WORKER } from '../support/faultWorker.js';
import { PYTHON, requirePythonGssapi, runClient, useRealm } from '../support/server.js';
import { FIXTURES, Initiator, firstTokens } from '../support/initiator.js';
import { waitUntil } from '../support/waitUntil.js';

const curl = requireTool('curl', 'curl');
const HTTP_CLIENT = path.join(FIXTURES, 'http_client.py');
const UWS_JS = pathToFileURL(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'acceptors', 'uws.js'),
).href;
const T = { timeout: 30_000 };

interface Front {
  acceptor: HttpAcceptor;
  port: number;
  sessions: HttpIdentity[];
  failures: HttpHandshakeFailure[];
}

let realm: ThrowawayRealm | undefined;
let pool: AuthPool | undefined;
const fronts: Front[] = [];
/** Fresh SPNEGO first tokens for HTTP@localhost, made once (each is used at most once, except by the replay test). */
const tokens: Buffer[] = [];

let plain: Front; // no cookies, default limits
let cookies: Front; // cookie sessions, 1 h
let secure: Front; // cookie sessions, Secure + SameSite=Strict
let shortLived: Front; // cookie sessions, 1 s
let small: Front; // maxTokenBytes 1024

const logger = createLogger(process.env['NEGOTIATE_TEST_LOG'] === '1' ? 'debug' : 'silent');

async function front(options: Omit<ConstructorParameters<typeof HttpAcceptor>[0], 'pool' | 'logger'>): Promise<Front> {
  assert.ok(pool);
  const acceptor = new HttpAcceptor({ pool, logger, ...options });
  const f: Front = { acceptor, port: 0, sessions: [], failures: [] };
  acceptor.on('session', (s: HttpIdentity) => f.sessions.push(s));
  acceptor.on('handshakeFailed', (x: HttpHandshakeFailure) => f.failures.push(x));
  f.port = (await acceptor.listen(0, '127.0.0.1')).port;
  fronts.push(f);
  return f;
}

before(async () => {
  requirePythonGssapi();
  // A hex password: test/support/initiator.ts passes `--password <pw>` as two arguments, and a
  // default (base64url) password starting with '-' makes argparse reject it.
  realm = await startTestRealm({ password: randomBytes(16).toString('hex') });
  useRealm(realm);
  pool = await AuthPool.start({ credentials: { keytab: realm.keytab, ntlm: true }, workers: 2 });
  plain = await front({});
  cookies = await front({ sessionCookie: { ttlSeconds: 3600 } });
  secure = await front({ sessionCookie: { secure: true, sameSite: 'Strict', keys: [randomBytes(32)] } });
  shortLived = await front({ sessionCookie: { ttlSeconds: 1 } });
  small = await front({ maxTokenBytes: 1024 });
  tokens.push(...(await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 12)));
});

after(async () => {
  for (const f of fronts) await f.acceptor.close(0);
  await pool?.close();
  await realm?.destroy();
});

function theRealm(): ThrowawayRealm {
  assert.ok(realm, 'realm started in before()');
  return realm;
}

function nextToken(): Buffer {
  const t = tokens.shift();
  assert.ok(t, 'ran out of pre-made tokens: raise the count in before()');
  return t;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One GET on a fresh connection to 127.0.0.1. */
function get(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<Reply> {
  return httpGet(port, urlPath, headers);
}

function negotiate(token: Uint8Array): Record<string, string> {
  return { Authorization: `Negotiate ${Buffer.from(token).toString('base64')}` };
}

/** Writes `data` on a raw connection and collects everything until the server closes it. */
function raw(port: number, data: string, timeoutMs = 10_000): Promise<{ received: string; how: 'end' | 'reset' }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let received = '';
    let how: 'end' | 'reset' = 'end';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`the server kept the connection open for ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('latin1');
    s.on('data', (d: string) => (received += d));
    s.on('error', () => (how = 'reset'));
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ received, how });
    });
    s.write(data);
  });
}

/** Initiator.step never settles if the initiator process dies: bound it. */
async function firstLeg(init: Initiator): Promise<Buffer> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('initiator.py gave no first token within 10 s')), 10_000);
  });
  try {
    return (await Promise.race([init.step(), timeout])).token;
  } finally {
    clearTimeout(timer);
  }
}

function lastFailure(f: Front): HttpHandshakeFailure {
  const x = f.failures.at(-1);
  assert.ok(x, 'a handshakeFailed event');
  return x;
}

function assertChallenge(r: Reply, status = 401): void {
  assert.equal(r.status, status, r.body);
  assert.equal(r.headers['www-authenticate'], 'Negotiate');
}

function cookiePair(setCookie: string[] | undefined): string {
  assert.ok(setCookie && setCookie.length === 1, `one Set-Cookie, got ${JSON.stringify(setCookie)}`);
  return (setCookie[0] ?? '').split(';')[0] ?? '';
}

test('curl --negotiate gets alice from /whoami and the mutual-auth token on the 200', T, async () => {
  const r = theRealm();
  const before = plain.sessions.length;
  const run = await runClient(
    curl,
    [
      '-sS',
      '-v',
      '--negotiate',
      '-u',
      ':',
      '--resolve',
      `localhost:${plain.port}:127.0.0.1`,
      `http://localhost:${plain.port}/whoami`,
    ],
    r,
    15_000,
  );
  assert.equal(
    run.code,
    0,
    `curl failed (is Debian's curl built with GSS-API? apt-get install -y curl libgssapi-krb5-2):\n${run.stderr}`,
  );
  const body = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.equal(body['principal'], r.userPrincipal);
  assert.equal(body['mech'], 'krb5');
  assert.equal(body['spnego'], true);
  assert.equal(body['via'], 'negotiate');
  assert.equal((body['flags'] as { mutual: boolean }).mutual, true);
  // curl -v prints response headers as "< Name: value"; the 200's block carries the final token.
  const ok = run.stderr.lastIndexOf('< HTTP/1.1 200');
  assert.ok(ok >= 0, run.stderr);
  assert.match(run.stderr.slice(ok), /< WWW-Authenticate: Negotiate [A-Za-z0-9+/]+=*\r?\n/);
  assert.equal(plain.sessions.length, before + 1);
  assert.equal(plain.sessions.at(-1)?.via, 'negotiate');
  assert.equal(plain.sessions.at(-1)?.remoteAddress, '127.0.0.1');
});

test('python3-gssapi client verifies the final token (mutual authentication)', T, async () => {
  const r = theRealm();
  for (const mech of ['spnego', 'krb5']) {
    const run = await runClient(
      PYTHON,
      [HTTP_CLIENT, '--mech', mech, `http://localhost:${plain.port}/whoami`],
      r,
      15_000,
    );
    assert.equal(run.code, 0, `${mech}: ${run.stdout}${run.stderr}`);
    const out = JSON.parse(run.stdout) as {
      status: number;
      complete: boolean;
      mutual: boolean;
      body: Record<string, unknown>;
    };
    assert.equal(out.status, 200);
    assert.equal(out.complete, true);
    assert.equal(out.mutual, true);
    assert.equal(out.body['principal'], r.userPrincipal);
    assert.equal(out.body['spnego'], mech === 'spnego');
  }
});

test('no credentials: 401 with a bare Negotiate challenge', T, async () => {
  const before = plain.failures.length;
  const r = await get(plain.port, '/whoami');
  assertChallenge(r);
  assert.match(r.body, /Negotiate authentication required/);
  assert.equal(r.headers['set-cookie'], undefined);
  assert.equal(plain.failures.length, before, 'the first challenge is not a failure');
});

test('NTLM through SPNEGO is refused with the multi-leg reason', T, async () => {
  const init = Initiator.start(theRealm(), { mech: 'spnego-ntlm', service: 'HTTP@localhost' });
  try {
    const token = await firstLeg(init);
    const r = await get(plain.port, '/whoami', negotiate(token));
    assertChallenge(r);
    assert.equal(r.body, MULTI_LEG_REFUSAL);
    assert.match(r.body, /multi-leg/);
    assert.match(r.body, /NTLM/);
    assert.match(r.body, /WebSocket or TCP front ends/);
    assert.equal(lastFailure(plain).code, 'ERR_HTTP_MULTI_LEG_UNSUPPORTED');
  } finally {
    init.close();
  }
});

test('raw NTLMSSP inside the Negotiate scheme is refused the same way', T, async () => {
  const init = Initiator.start(theRealm(), { mech: 'ntlm' });
  try {
    const token = await firstLeg(init);
    assert.equal(token.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
    const r = await get(plain.port, '/whoami', negotiate(token));
    assertChallenge(r);
    assert.equal(r.body, MULTI_LEG_REFUSAL);
  } finally {
    init.close();
  }
});

test('a replayed token is refused with 401', T, async () => {
  const token = nextToken();
  const first = await get(plain.port, '/whoami', negotiate(token));
  assert.equal(first.status, 200, first.body);
  const again = await get(plain.port, '/whoami', negotiate(token));
  assertChallenge(again);
  assert.match(again.body, /Negotiate authentication failed \(ERR_GSS_[A-Z_]+\)/);
  assert.match(lastFailure(plain).code, /^ERR_GSS_/);
});

test('garbage base64 is a 401 with ERR_HTTP_BAD_AUTHORIZATION', T, async () => {
  for (const bad of ['Negotiate !!!notbase64', 'Negotiate YWJj ZGVm', 'Negotiate YWJjZA', 'Negotiate']) {
    const r = await get(plain.port, '/whoami', { Authorization: bad });
    assertChallenge(r);
    assert.equal(lastFailure(plain).code, 'ERR_HTTP_BAD_AUTHORIZATION', bad);
  }
});

test('Authorization: NTLM is refused naming the scheme', T, async () => {
  const r = await get(plain.port, '/whoami', { Authorization: 'NTLM TlRMTVNTUAABAAAA' });
  assertChallenge(r);
  assert.match(r.body, /scheme "NTLM" is not supported/);
  assert.equal(lastFailure(plain).code, 'ERR_HTTP_UNSUPPORTED_SCHEME');
  const basic = await get(plain.port, '/whoami', { Authorization: 'Basic YWxpY2U6c2VjcmV0' });
  assertChallenge(basic);
  assert.match(basic.body, /"Basic"/);
  assert.doesNotMatch(basic.body, /YWxpY2U6c2VjcmV0/);
});

test('a 48,000-byte token passes the parser and is refused by GSSAPI with 401', T, async () => {
  // ~64,100 header bytes in one write: over loopback that arrives in one read, which this uWS
  // build parses whole (see the next tests for what happens otherwise).
  const r = await get(plain.port, '/whoami', negotiate(randomBytes(48_000)));
  assertChallenge(r);
  const f = lastFailure(plain);
  assert.match(f.code, /^ERR_GSS_/, f.message);
});

test('a token above maxTokenBytes is refused before decoding with 431', T, async () => {
  const r = await get(small.port, '/whoami', negotiate(randomBytes(2000)));
  assertChallenge(r, 431);
  assert.match(r.body, /limit is 1368 \(1024 bytes decoded\)/);
  assert.equal(lastFailure(small).code, 'ERR_HTTP_HEADER_TOO_LARGE');
  // At the limit it goes to GSSAPI (and fails there: random bytes).
  const atLimit = await get(small.port, '/whoami', negotiate(randomBytes(1024)));
  assertChallenge(atLimit, 401);
});

test('a header block far above the limit: uWS answers 431 itself and closes', T, async () => {
  const failuresBefore = plain.failures.length;
  const { received } = await raw(
    plain.port,
    `GET /whoami HTTP/1.1\r\nHost: localhost\r\nAuthorization: Negotiate ${'A'.repeat(400_000)}\r\n\r\n`,
  );
  assert.match(received, /^HTTP\/1\.1 431 /);
  assert.equal(plain.failures.length, failuresBefore, 'the request never reached the acceptor');
});

test('cookie sessions: the 200 sets a cookie; the cookie alone authenticates', T, async () => {
  const first = await get(cookies.port, '/whoami', negotiate(nextToken()));
  assert.equal(first.status, 200, first.body);
  assert.match(first.headers['www-authenticate'] ?? '', /^Negotiate [A-Za-z0-9+/]+=*$/);
  const setCookie = first.headers['set-cookie']?.[0] ?? '';
  assert.match(
    setCookie,
    /^negotiate_session=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/,
  );
  assert.doesNotMatch(setCookie, /Secure/);
  const maxAge = Number(/Max-Age=(\d+)/.exec(setCookie)?.[1]);
  assert.ok(maxAge > 3500 && maxAge <= 3600, `Max-Age ${maxAge}`);

  const sessionsBefore = cookies.sessions.length;
  const second = await get(cookies.port, '/whoami', {
    Cookie: `theme=dark; ${cookiePair(first.headers['set-cookie'])}`,
  });
  assert.equal(second.status, 200, second.body);
  const body = JSON.parse(second.body) as Record<string, unknown>;
  assert.equal(body['via'], 'cookie');
  assert.equal(body['principal'], theRealm().userPrincipal);
  assert.equal(body['mech'], 'krb5');
  assert.equal(second.headers['www-authenticate'], undefined, 'no handshake, no token');
  assert.equal(second.headers['set-cookie'], undefined);
  assert.equal(cookies.sessions.length, sessionsBefore, 'cookie requests are not new sessions');
});

test('cookie sessions work with curl and a cookie jar', T, async () => {
  const r = theRealm();
  const jar = path.join(r.dir, 'curl-cookies.txt');
  const base = ['-sS', '--resolve', `localhost:${cookies.port}:127.0.0.1`, `http://localhost:${cookies.port}/whoami`];
  const one = await runClient(curl, ['--negotiate', '-u', ':', '-c', jar, ...base], r, 15_000);
  assert.equal(one.code, 0, one.stderr);
  assert.equal((JSON.parse(one.stdout) as { via: string }).via, 'negotiate');
  const two = await runClient(curl, ['-b', jar, ...base], r, 15_000);
  assert.equal(two.code, 0, two.stderr);
  assert.equal((JSON.parse(two.stdout) as { via: string }).via, 'cookie');
});

test('a tampered cookie is ignored: 401 and the cookie is cleared', T, async () => {
  const first = await get(cookies.port, '/whoami', negotiate(nextToken()));
  assert.equal(first.status, 200, first.body);
  const pair = cookiePair(first.headers['set-cookie']);
  const [name, value = ''] = pair.split('=');
  const [payload = '', mac = ''] = value.split('.');
  const forged = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('alice', 'admin')).toString(
    'base64url',
  );
  for (const bad of [
    `${forged}.${mac}`,
    `${payload}.${mac.slice(0, -2)}AA`,
    `${payload}.`,
    'garbage',
    'x'.repeat(10_000),
  ]) {
    const r = await get(cookies.port, '/whoami', { Cookie: `${name}=${bad}` });
    assertChallenge(r);
    assert.match(r.headers['set-cookie']?.[0] ?? '', /^negotiate_session=; Max-Age=0;/);
  }
  // A cookie from another server (another key) is no better.
  const other = await get(secure.port, '/whoami', negotiate(nextToken()));
  assert.equal(other.status, 200);
  assertChallenge(await get(cookies.port, '/whoami', { Cookie: cookiePair(other.headers['set-cookie']) }));
});

test('an expired cookie is ignored (ttlSeconds: 1)', T, async () => {
  const first = await get(shortLived.port, '/whoami', negotiate(nextToken()));
  assert.equal(first.status, 200, first.body);
  const pair = cookiePair(first.headers['set-cookie']);
  assert.match(first.headers['set-cookie']?.[0] ?? '', /Max-Age=1;/);
  // The payload is readable: wait exactly until its expiry (1-2 s away), not a fixed sleep.
  const payload = pair.split('=')[1]?.split('.')[0] ?? '';
  const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { exp: number }).exp * 1000;
  const still = await get(shortLived.port, '/whoami', { Cookie: pair });
  assert.equal(still.status, 200, 'valid before its expiry');
  assert.equal((JSON.parse(still.body) as { via: string }).via, 'cookie');
  const wait = exp - Date.now() + 20;
  assert.ok(wait < 2100, `expiry ${wait} ms away`);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  assertChallenge(await get(shortLived.port, '/whoami', { Cookie: pair }));
});

test('Secure and SameSite=Strict only when configured', T, async () => {
  const r = await get(secure.port, '/whoami', negotiate(nextToken()));
  assert.equal(r.status, 200, r.body);
  assert.match(r.headers['set-cookie']?.[0] ?? '', /; HttpOnly; SameSite=Strict; Secure$/);
  const noCookies = await get(plain.port, '/whoami', negotiate(nextToken()));
  assert.equal(noCookies.status, 200);
  assert.equal(noCookies.headers['set-cookie'], undefined, 'no cookie sessions unless configured');
});

test('protect() hands the handler identity, headers (without Authorization) and route parameters', T, async () => {
  const seen: Array<{ identity: HttpIdentity; headers: Record<string, string>; parameters: readonly string[] }> = [];
  cookies.acceptor.protect('/items/:id', (identity, res, headers, request) => {
    seen.push({ identity, headers: { ...headers }, parameters: request.parameters });
    // Answer after an await: the reply must cork on its own.
    void Promise.resolve().then(() => res.end(`item ${request.parameters[0] ?? ''}`, { headers: { 'X-Item': 'yes' } }));
  });
  cookies.acceptor.protect('/boom', () => {
    throw new Error('handler bug');
  });
  const r = await get(cookies.port, '/items/42?x=1', { ...negotiate(nextToken()), 'X-Test': 'hello' });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, 'item 42');
  assert.equal(r.headers['x-item'], 'yes');
  assert.match(r.headers['www-authenticate'] ?? '', /^Negotiate /, 'the final token goes with the handler response');
  assert.ok(r.headers['set-cookie']);
  assert.equal(seen[0]?.headers['x-test'], 'hello');
  assert.equal(seen[0]?.headers['authorization'], undefined);
  assert.deepEqual(seen[0]?.parameters, ['42']);
  assert.equal(seen[0]?.identity.principal, theRealm().userPrincipal);
  const boom = await get(cookies.port, '/boom', { Cookie: cookiePair(r.headers['set-cookie']) });
  assert.equal(boom.status, 500);
  // Unrouted paths get a 404 (this uWS build would otherwise drop the connection).
  assert.equal((await get(cookies.port, '/nowhere')).status, 404);
});

test(
  'a full worker queue answers 503 with Retry-After: 1; a client gone mid-handshake is never written to',
  T,
  async () => {
    const r = theRealm();
    const tiny = await AuthPool.start({
      credentials: { keytab: r.keytab, ntlm: true },
      workers: 1,
      maxQueue: 1,
      workerFile: FAULT_WORKER,
    });
    const acceptor = new HttpAcceptor({ pool: tiny, logger });
    const failures: HttpHandshakeFailure[] = [];
    acceptor.on('handshakeFailed', (f: HttpHandshakeFailure) => failures.push(f));
    try {
      const { port } = await acceptor.listen(0, '127.0.0.1');
      // Hold the one worker and fill the queue's one slot with stalls.
      const threadId = await tiny.stallWorker(0);
      const held = await tiny.stallWorkerWhile(threadId);
      const queued = tiny.stallWorker(0);
      try {
        const res = await get(port, '/whoami', negotiate(nextToken()));
        assert.equal(res.status, 503, res.body);
        assert.equal(res.headers['retry-after'], '1');
        assert.equal(failures.at(-1)?.code, 'ERR_POOL_QUEUE_FULL');
      } finally {
        held.release();
        await held.done;
        await queued;
      }

      // A client that goes away while its token waits for a worker: the late result must not be
      // written to the dead response (uWS would crash the process), and nothing leaks.
      const again = await tiny.stallWorkerWhile(threadId);
      try {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        s.write(
          `GET /whoami HTTP/1.1\r\nHost: localhost\r\nAuthorization: Negotiate ` +
            `${nextToken().toString('base64')}\r\n\r\n`,
        );
        await waitUntil(() => tiny.stats().queued === 1, 'the token to reach the pool queue');
        await new Promise<void>((resolve) => s.destroy().once('close', () => resolve()));
      } finally {
        again.release();
        await again.done;
      }
      await waitUntil(() => acceptor.inFlight === 0, 'the aborted request to finish');
      assert.equal(tiny.stats().live, 0);
      assertChallenge(await get(port, '/whoami'));
    } finally {
      await acceptor.close(0);
      await tiny.close();
    }
  },
);

test('close() also closes idle keep-alive connections', T, async () => {
  const f = await front({});
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const socketClosed = new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: f.port, path: '/whoami', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          // The connection stays open, idle, in the agent's pool.
          assert.equal(res.statusCode, 401);
          const timer = setTimeout(() => reject(new Error('keep-alive connection still open 5 s after close()')), 5000);
          req.socket?.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          void f.acceptor.close(0);
        });
      });
      req.on('error', reject);
    });
    await socketClosed;
    await assert.rejects(get(f.port, '/whoami'), /ECONNREFUSED/);
  } finally {
    agent.destroy();
  }
});

test('no security context outlives its HTTP request', T, () => {
  assert.ok(pool);
  assert.equal(pool.stats().live, 0);
});

function nodeEval(
  code: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', code],
      { env: { ...process.env, ...env }, timeout: 15_000 },
      (err, stdout, stderr) => {
        const c = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : null
          : 0;
        resolve({ code: c, stdout, stderr });
      },
    );
  });
}

test(
  'uWS is native, UWS_USE_FALLBACK changes nothing, header limit follows the token limit unless the operator set one',
  T,
  async () => {
    const probe = (env: Record<string, string>): ReturnType<typeof nodeEval> =>
      nodeEval(
        `const { loadUws, headerLimitFor } = await import(${JSON.stringify(UWS_JS)});
       const uws = loadUws({ maxTokenBytes: 48000 });
       const native = Function.prototype.toString.call(uws.App).includes('[native code]');
       const limit = process.env.UWS_HTTP_MAX_HEADERS_SIZE;
       process.stderr.write(JSON.stringify({ native, limit, wanted: headerLimitFor(48000) }));`,
        env,
      );
    const r = await probe({ UWS_USE_FALLBACK: '1', UWS_HTTP_MAX_HEADERS_SIZE: '' }); // this process set its own
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'nothing on stdout');
    const seen = JSON.parse(r.stderr) as { native: boolean; limit: string; wanted: number };
    assert.equal(seen.native, true);
    assert.equal(Number(seen.limit), seen.wanted);
    assert.ok(seen.wanted >= 64_000 + 16 * 1024, 'base64 of 48,000 bytes plus room for other headers');
    const own = await probe({ UWS_HTTP_MAX_HEADERS_SIZE: '200000' });
    assert.equal((JSON.parse(own.stderr) as { limit: string }).limit, '200000', "the operator's setting wins");
  },
);
