/**
 * The framework-neutral adapter (src/adapter/) in a plain node:http server, against real
 * clients: curl --negotiate, python3-gssapi verifying the final token (mutual authentication),
 * one pool serving two servers, cookie sessions, and connection-bound NTLM over HTTP (raw and
 * in SPNEGO) driven by a python3-gssapi initiator on one raw keep-alive connection: the three
 * legs on one connection, leg 3 on another connection refused, the context freed when the
 * socket closes or the handshake times out, the per-address bound, and NTLM refused when the
 * authenticator was not given `ntlm: true`.
 *
 * Kerberos clients use the hostname `localhost` (SPN HTTP/localhost); servers listen on
 * 127.0.0.1 and curl gets `--resolve localhost:PORT:127.0.0.1`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  ADAPTER_MULTI_LEG_REFUSAL,
  AuthPool,
  HandshakesPerAddress,
  NegotiateAuthenticator,
  type NegotiateAuthenticatorOptions,
} from '../../src/adapter/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { createLogger } from '../../src/logger.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { PYTHON, requirePythonGssapi, runClient, useRealm } from '../support/server.js';
import { FIXTURES, Initiator, firstTokens, type InitiatorMech } from '../support/initiator.js';
import { httpGet } from '../support/httpGet.js';
import { KeepAliveConnection, type KeepAliveAnswer } from '../support/keepAliveHttp.js';
import { startAdapterServer, type AdapterServer } from '../support/adapterServer.js';
import { waitUntil } from '../support/waitUntil.js';

const curl = requireTool('curl', 'curl');
const HTTP_CLIENT = path.join(FIXTURES, 'http_client.py');
const T = { timeout: 30_000 };
const logger = createLogger(process.env['NEGOTIATE_TEST_LOG'] === '1' ? 'debug' : 'silent');

let realm: ThrowawayRealm | undefined;
let pool: AuthPool | undefined;
const servers: AdapterServer[] = [];
const authenticators: NegotiateAuthenticator[] = [];
const krbTokens: Buffer[] = [];

let plain: AdapterServer; // ntlm off
let second: AdapterServer; // ntlm off, same pool, its own authenticator
let ntlm: AdapterServer; // ntlm on
let ntlmAuth: NegotiateAuthenticator;
let cookies: AdapterServer; // cookie sessions

async function serve(options: Omit<NegotiateAuthenticatorOptions, 'pool'> = {}): Promise<AdapterServer> {
  assert.ok(pool);
  const auth = new NegotiateAuthenticator({ pool, logger, ...options });
  authenticators.push(auth);
  const s = await startAdapterServer(auth);
  servers.push(s);
  return s;
}

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm({ password: randomBytes(16).toString('hex') });
  useRealm(realm);
  pool = await AuthPool.start({ credentials: { keytab: realm.keytab, ntlm: true }, workers: 2 });
  plain = await serve();
  second = await serve();
  ntlm = await serve({ ntlm: true });
  ntlmAuth = authenticators.at(-1) as NegotiateAuthenticator;
  cookies = await serve({ sessionCookie: { ttlSeconds: 3600 } });
  krbTokens.push(...(await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 4)));
});

after(async () => {
  for (const s of servers) await s.close();
  for (const a of authenticators) await a.close();
  await pool?.close();
  await realm?.destroy();
});

function theRealm(): ThrowawayRealm {
  assert.ok(realm, 'realm started in before()');
  return realm;
}

function thePool(): AuthPool {
  assert.ok(pool, 'pool started in before()');
  return pool;
}

function negotiate(token: Uint8Array): Record<string, string> {
  return { Authorization: `Negotiate ${Buffer.from(token).toString('base64')}` };
}

/** The gssapi-data of the response's `WWW-Authenticate: Negotiate <b64>`, or undefined for a bare challenge. */
function challengeToken(r: KeepAliveAnswer): Buffer | undefined {
  const values = r.headers.get('www-authenticate') ?? [];
  assert.equal(values.length, 1, `one WWW-Authenticate, got ${JSON.stringify(values)}`);
  const m = /^Negotiate(?: ([A-Za-z0-9+/]+=*))?$/.exec(values[0] ?? '');
  assert.ok(m, `a Negotiate challenge, got ${values[0]}`);
  return m[1] === undefined ? undefined : Buffer.from(m[1], 'base64');
}

async function curlWhoami(port: number): Promise<{ body: Record<string, unknown>; stderr: string }> {
  const run = await runClient(
    curl,
    [
      '-sS',
      '-v',
      '--negotiate',
      '-u',
      ':',
      '--resolve',
      `localhost:${port}:127.0.0.1`,
      `http://localhost:${port}/whoami`,
    ],
    theRealm(),
    15_000,
  );
  assert.equal(run.code, 0, `curl failed:\n${run.stderr}`);
  return { body: JSON.parse(run.stdout) as Record<string, unknown>, stderr: run.stderr };
}

async function noLiveContexts(): Promise<void> {
  await waitUntil(
    () => thePool().stats().live === 0 && ntlmAuth.pendingHandshakes === 0,
    () => `no live context, have ${JSON.stringify(thePool().stats())}, pending ${ntlmAuth.pendingHandshakes}`,
    3000,
  );
}

test('curl --negotiate through the adapter: the identity, and the mutual-auth token on the 200', T, async () => {
  const before = plain.sessions.length;
  const { body, stderr } = await curlWhoami(plain.port);
  assert.equal(body['principal'], theRealm().userPrincipal);
  assert.equal(body['mech'], 'krb5');
  assert.equal(body['spnego'], true);
  assert.equal(body['via'], 'negotiate');
  assert.equal(body['remoteAddress'], '127.0.0.1');
  const ok = stderr.lastIndexOf('< HTTP/1.1 200');
  assert.ok(ok >= 0, stderr);
  assert.match(stderr.slice(ok), /< WWW-Authenticate: Negotiate [A-Za-z0-9+/]+=*\r?\n/);
  assert.equal(plain.sessions.length, before + 1);
  const s = plain.sessions.at(-1);
  assert.equal(s?.frontend, 'adapter');
  assert.equal(s?.via, 'negotiate');
  assert.equal(typeof s?.latencyMs, 'number');
  await noLiveContexts();
});

test('python3-gssapi verifies the final token through the adapter (mutual authentication)', T, async () => {
  for (const mech of ['spnego', 'krb5']) {
    const run = await runClient(
      PYTHON,
      [HTTP_CLIENT, '--mech', mech, `http://localhost:${plain.port}/whoami`],
      theRealm(),
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
    assert.equal(out.body['principal'], theRealm().userPrincipal);
    assert.equal(out.body['spnego'], mech === 'spnego');
  }
});

test('one pool serves two servers (and a third with NTLM on, Kerberos still single-leg)', T, async () => {
  const stats = thePool().stats();
  for (const s of [plain, second, ntlm]) {
    const { body } = await curlWhoami(s.port);
    assert.equal(body['principal'], theRealm().userPrincipal);
  }
  assert.ok(thePool().stats().completed >= stats.completed + 3);
  await noLiveContexts();
});

test('no credentials: 401 with a bare Negotiate challenge, not a failure', T, async () => {
  const before = plain.failures.length;
  const r = await httpGet(plain.port, '/whoami');
  assert.equal(r.status, 401);
  assert.equal(r.headers['www-authenticate'], 'Negotiate');
  assert.equal(r.body, 'Negotiate authentication required\n');
  assert.equal(plain.failures.length, before);
});

test('cookie sessions: Set-Cookie on the handshake, the cookie alone authenticates later', T, async () => {
  const first = await httpGet(cookies.port, '/whoami', negotiate(krbTokens.shift() as Buffer));
  assert.equal(first.status, 200, first.body);
  const set = first.headers['set-cookie'];
  assert.ok(set && set.length === 1, JSON.stringify(set));
  const pair = (set[0] ?? '').split(';')[0] ?? '';
  const again = await httpGet(cookies.port, '/whoami', { Cookie: pair });
  assert.equal(again.status, 200, again.body);
  assert.equal((JSON.parse(again.body) as { via: string }).via, 'cookie');
  // A forged cookie is refused and the client told to drop it.
  const forged = await httpGet(cookies.port, '/whoami', { Cookie: `${pair.slice(0, -4)}AAAA` });
  assert.equal(forged.status, 401);
  assert.match(String(forged.headers['set-cookie']), /negotiate_session=; Max-Age=0/);
});

/** Drives one NTLM handshake (legs 1-3) on `conn`; returns the last answer. */
async function ntlmHandshake(init: Initiator, conn: KeepAliveConnection): Promise<KeepAliveAnswer> {
  const leg1 = await init.step();
  const r1 = await conn.get('/whoami', negotiate(leg1.token));
  assert.equal(r1.status, 401, r1.body);
  const challenge = challengeToken(r1);
  assert.ok(challenge && challenge.length > 0, 'leg 2: the NTLM CHALLENGE in WWW-Authenticate');
  const leg3 = await init.step(challenge);
  return conn.get('/whoami', negotiate(leg3.token));
}

for (const [mech, spnego] of [
  ['ntlm', false],
  ['spnego-ntlm', true],
] as Array<[InitiatorMech, boolean]>) {
  test(
    `NTLM ${spnego ? 'in SPNEGO' : 'raw'}: three legs on one keep-alive connection → 200 with the identity`,
    T,
    async () => {
      const init = Initiator.start(theRealm(), { mech, service: 'HTTP@localhost' });
      const conn = await KeepAliveConnection.open(ntlm.port);
      const before = ntlm.sessions.length;
      try {
        const r3 = await ntlmHandshake(init, conn);
        assert.equal(r3.status, 200, r3.body);
        const body = JSON.parse(r3.body) as Record<string, unknown>;
        assert.equal(body['principal'], theRealm().ntlmUser);
        assert.equal(body['mech'], 'ntlmssp');
        assert.equal(body['spnego'], spnego);
        assert.equal(ntlm.sessions.length, before + 1);
        if (spnego) {
          // SPNEGO's accept-completed (with its mechListMIC) comes with the 200: the client checks it.
          const last = challengeToken(r3);
          assert.ok(last, 'the final SPNEGO token on the 200');
          assert.equal((await init.step(last)).complete, true);
        }
        // The established context went with the handshake; the connection stays usable.
        assert.equal(ntlmAuth.pendingHandshakes, 0);
        assert.equal(conn.closed, false);
        const next = await conn.get('/whoami');
        assert.equal(next.status, 401);
      } finally {
        conn.close();
        init.close();
      }
      await noLiveContexts();
    },
  );
}

test('NTLM leg 3 on a new connection never continues the first connection’s context', T, async () => {
  const init = Initiator.start(theRealm(), { mech: 'ntlm', service: 'HTTP@localhost' });
  const first = await KeepAliveConnection.open(ntlm.port);
  const other = await KeepAliveConnection.open(ntlm.port);
  const before = ntlm.failures.length;
  const sessionsBefore = ntlm.sessions.length;
  try {
    const r1 = await first.get('/whoami', negotiate((await init.step()).token));
    assert.equal(r1.status, 401);
    const challenge = challengeToken(r1);
    assert.ok(challenge);
    assert.equal(ntlmAuth.pendingHandshakes, 1);
    const leg3 = await init.step(challenge);
    // The relay case: the AUTHENTICATE arrives on another connection. It starts a context of its
    // own, which gss-ntlmssp refuses; the first connection's context is untouched.
    const r3 = await other.get('/whoami', negotiate(leg3.token));
    assert.equal(r3.status, 401, r3.body);
    assert.equal(challengeToken(r3), undefined, 'a bare challenge: start over');
    assert.match(r3.body, /Negotiate authentication failed \(ERR_GSS_[A-Z_]+\)/);
    assert.equal(ntlm.failures.length, before + 1);
    assert.equal(ntlmAuth.pendingHandshakes, 1);
    assert.equal(ntlm.sessions.length, sessionsBefore, 'nobody authenticated');
    // And the context is freed when its socket closes.
    first.close();
    await noLiveContexts();
  } finally {
    first.close();
    other.close();
    init.close();
  }
});

test('a half-done NTLM handshake is freed when its socket closes', T, async () => {
  const init = Initiator.start(theRealm(), { mech: 'spnego-ntlm', service: 'HTTP@localhost' });
  const conn = await KeepAliveConnection.open(ntlm.port);
  try {
    const r1 = await conn.get('/whoami', negotiate((await init.step()).token));
    assert.equal(r1.status, 401);
    assert.ok(challengeToken(r1));
    assert.equal(ntlmAuth.pendingHandshakes, 1);
    assert.equal(thePool().stats().handshaking, 1);
    conn.close();
    await noLiveContexts();
  } finally {
    conn.close();
    init.close();
  }
});

test('a new handshake on a connection drops its half-done one (Kerberos after an abandoned NTLM)', T, async () => {
  const init = Initiator.start(theRealm(), { mech: 'ntlm', service: 'HTTP@localhost' });
  const conn = await KeepAliveConnection.open(ntlm.port);
  try {
    const r1 = await conn.get('/whoami', negotiate((await init.step()).token));
    assert.equal(r1.status, 401);
    assert.equal(ntlmAuth.pendingHandshakes, 1);
    const r2 = await conn.get('/whoami', negotiate(krbTokens.shift() as Buffer));
    assert.equal(r2.status, 200, r2.body);
    assert.equal((JSON.parse(r2.body) as { principal: string }).principal, theRealm().userPrincipal);
    await noLiveContexts();
  } finally {
    conn.close();
    init.close();
  }
});

test('NTLM is refused when the authenticator has no ntlm: true, even on an NTLM-capable pool', T, async () => {
  for (const mech of ['ntlm', 'spnego-ntlm'] as const) {
    const init = Initiator.start(theRealm(), { mech, service: 'HTTP@localhost' });
    const conn = await KeepAliveConnection.open(plain.port);
    try {
      const r = await conn.get('/whoami', negotiate((await init.step()).token));
      assert.equal(r.status, 401);
      assert.equal(challengeToken(r), undefined, 'no NTLM CHALLENGE is sent');
      assert.equal(r.body, ADAPTER_MULTI_LEG_REFUSAL);
      assert.equal(plain.failures.at(-1)?.code, 'ERR_HTTP_MULTI_LEG_UNSUPPORTED');
    } finally {
      conn.close();
      init.close();
    }
  }
  await noLiveContexts();
});

test('half-done NTLM handshakes: the per-address bound (503) and the handshake timeout', T, async () => {
  const bounded = await serve({
    ntlm: true,
    handshakesPerAddress: new HandshakesPerAddress(1),
    handshakeTimeoutMs: 400,
  });
  const auth = authenticators.at(-1) as NegotiateAuthenticator;
  const a = Initiator.start(theRealm(), { mech: 'ntlm', service: 'HTTP@localhost' });
  const b = Initiator.start(theRealm(), { mech: 'ntlm', service: 'HTTP@localhost' });
  const ca = await KeepAliveConnection.open(bounded.port);
  const cb = await KeepAliveConnection.open(bounded.port);
  try {
    const ra = await ca.get('/whoami', negotiate((await a.step()).token));
    assert.equal(ra.status, 401);
    const challenge = challengeToken(ra);
    assert.ok(challenge);
    const rb = await cb.get('/whoami', negotiate((await b.step()).token));
    assert.equal(rb.status, 503, rb.body);
    assert.equal(rb.headers.get('retry-after')?.[0], '1');
    assert.equal(bounded.failures.at(-1)?.code, 'ERR_HANDSHAKES_PER_ADDRESS');
    assert.equal(auth.pendingHandshakes, 1);
    // No leg 3 within the timeout: the context is freed, and a late leg 3 is refused.
    await waitUntil(() => auth.pendingHandshakes === 0, 'the half-done handshake to time out', 3000);
    const late = await ca.get('/whoami', negotiate((await a.step(challenge)).token));
    assert.equal(late.status, 401, late.body);
    await waitUntil(
      () => thePool().stats().live === 0,
      () => JSON.stringify(thePool().stats()),
      3000,
    );
  } finally {
    ca.close();
    cb.close();
    a.close();
    b.close();
  }
});

test('close() frees every connection-bound context and refuses later handshakes with 503', T, async () => {
  const s = await serve({ ntlm: true });
  const auth = authenticators.at(-1) as NegotiateAuthenticator;
  const init = Initiator.start(theRealm(), { mech: 'ntlm', service: 'HTTP@localhost' });
  const conn = await KeepAliveConnection.open(s.port);
  try {
    const r1 = await conn.get('/whoami', negotiate((await init.step()).token));
    assert.equal(r1.status, 401);
    assert.equal(auth.pendingHandshakes, 1);
    await auth.close();
    assert.equal(auth.pendingHandshakes, 0);
    await waitUntil(
      () => thePool().stats().live === 0,
      () => JSON.stringify(thePool().stats()),
      3000,
    );
    const r2 = await conn.get('/whoami', negotiate(krbTokens.shift() as Buffer));
    assert.equal(r2.status, 503);
    assert.equal(s.failures.at(-1)?.code, 'ERR_POOL_CLOSED');
  } finally {
    conn.close();
    init.close();
  }
});

test('bad options are refused with ERR_CONFIG', () => {
  const p = thePool();
  assert.throws(() => new NegotiateAuthenticator({ pool: p, maxTokenBytes: 0 }), { code: 'ERR_CONFIG' });
  assert.throws(() => new NegotiateAuthenticator({ pool: p, ntlm: true, handshakeTimeoutMs: -1 }), {
    code: 'ERR_CONFIG',
  });
  const bogus: string = 'sometimes';
  assert.throws(
    () =>
      new NegotiateAuthenticator({ pool: p, channelBinding: bogus as NegotiateAuthenticatorOptions['channelBinding'] }),
    { code: 'ERR_CONFIG', message: /channelBinding must be/ },
  );
  assert.throws(() => new NegotiateAuthenticator({ pool: p, sessionCookie: { ttlSeconds: 0 } }), {
    code: 'ERR_CONFIG',
  });
});
