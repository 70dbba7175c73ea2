/**
 * Hostile input to the adapter (src/adapter/) in a plain node:http server with connection-bound
 * NTLM on: oversized and malformed Authorization headers, garbage base64, other schemes,
 * tampered and out-of-order NTLM legs, legs pipelined on one connection. Each gets a clear
 * 401/431 with a bare `Negotiate` challenge and its code, never echoes the credentials, and
 * leaves nothing behind: no context in the process-wide table, no half-done handshake held.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AuthPool, NegotiateAuthenticator } from '../../src/adapter/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { Initiator } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, useRealm } from '../support/server.js';
import { httpGet } from '../support/httpGet.js';
import { KeepAliveConnection, type KeepAliveAnswer } from '../support/keepAliveHttp.js';
import { RawConn } from '../support/rawConn.js';
import { startAdapterServer, type AdapterServer } from '../support/adapterServer.js';
import { waitUntil } from '../support/waitUntil.js';

const MAX_TOKEN = 2048;
const T = { timeout: 30_000 };

let realm: ThrowawayRealm;
let pool: AuthPool;
let auth: NegotiateAuthenticator;
let s: AdapterServer;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm({ password: randomBytes(16).toString('hex') });
  useRealm(realm);
  pool = await AuthPool.start({ credentials: { keytab: realm.keytab, ntlm: true }, workers: 2 });
  auth = new NegotiateAuthenticator({ pool, ntlm: true, maxTokenBytes: MAX_TOKEN });
  s = await startAdapterServer(auth);
});

after(async () => {
  await s?.close();
  await auth?.close();
  await pool?.close();
  await realm?.destroy();
});

/** Nothing left behind: no context in the table, no half-done handshake held. */
async function nothingLeaked(): Promise<void> {
  await waitUntil(
    () => pool.stats().live === 0 && auth.pendingHandshakes === 0,
    () => `no live context; have ${JSON.stringify(pool.stats())}, pending ${auth.pendingHandshakes}`,
    3000,
  );
}

/** A refusal: `status`, a bare challenge, the failure code, the credentials never echoed. */
async function expectRefusal(authorization: string, code: string, status = 401): Promise<void> {
  const failures = s.failures.length;
  const sessions = s.sessions.length;
  const r = await httpGet(s.port, '/whoami', { Authorization: authorization });
  const what = JSON.stringify(authorization.slice(0, 60));
  assert.equal(r.status, status, `${what}: ${r.body}`);
  assert.equal(r.headers['www-authenticate'], 'Negotiate', `${what}: a bare challenge`);
  assert.equal(s.failures.length, failures + 1, what);
  assert.equal(s.failures.at(-1)?.code, code, what);
  assert.equal(s.failures.at(-1)?.frontend, 'adapter');
  const secret = authorization.trim().split(/\s+/).slice(1).join(' ');
  if (secret.length >= 4) assert.ok(!r.body.includes(secret.slice(0, 40)), `${what}: the body echoes the credentials`);
  assert.equal(s.sessions.length, sessions);
}

function negotiate(token: Uint8Array): Record<string, string> {
  return { Authorization: `Negotiate ${Buffer.from(token).toString('base64')}` };
}

function tokenOf(r: KeepAliveAnswer): Buffer {
  const m = /^Negotiate ([A-Za-z0-9+/]+=*)$/.exec(r.headers.get('www-authenticate')?.[0] ?? '');
  assert.ok(m?.[1], `a Negotiate token in ${JSON.stringify(r.headers.get('www-authenticate'))}`);
  return Buffer.from(m[1], 'base64');
}

test('an oversized token: 431 before decoding, never echoed; nothing reaches GSSAPI', T, async () => {
  const created = pool.stats().created;
  await expectRefusal(`Negotiate ${randomBytes(MAX_TOKEN + 1).toString('base64')}`, 'ERR_HTTP_HEADER_TOO_LARGE', 431);
  await expectRefusal(`Negotiate ${'!'.repeat(4000)}`, 'ERR_HTTP_HEADER_TOO_LARGE', 431);
  assert.equal(pool.stats().created, created, 'no context for an oversized token');
  await nothingLeaked();
});

test('malformed Authorization and garbage base64: 401 with its code, no context created', T, async () => {
  const created = pool.stats().created;
  for (const value of [
    'Negotiate',
    'Negotiate    ',
    'Negotiate YWJj ZGVm',
    'Negotiate YWJjZA',
    'Negotiate YWJjZA===',
    'Negotiate ====',
    'Negotiate YW-_ZA==',
    'Negotiate YWJjZB==',
    'Negotiate YW=Jj',
    'Negotiate !!!notbase64',
  ])
    await expectRefusal(value, 'ERR_HTTP_BAD_AUTHORIZATION');
  for (const value of ['NTLM TlRMTVNTUAABAAAA', 'Basic YWxpY2U6c2VjcmV0', 'NegotiateYWJjZA=='])
    await expectRefusal(value, 'ERR_HTTP_UNSUPPORTED_SCHEME');
  assert.equal(pool.stats().created, created, 'no context for a header that is not a Negotiate token');
  await nothingLeaked();
});

test('valid base64 that is no token: GSSAPI refuses it, its context is freed at once', T, async () => {
  const junk = randomBytes(200);
  junk[0] = 0xa5;
  await expectRefusal(`Negotiate ${junk.toString('base64')}`, 'ERR_GSS_DEFECTIVE_TOKEN');
  await expectRefusal('Negotiate AAAA', 'ERR_GSS_DEFECTIVE_TOKEN');
  await nothingLeaked();
});

test('a tampered NTLM leg 3 on the right connection is refused; the connection can start over', T, async () => {
  const init = Initiator.start(realm, { mech: 'ntlm', service: 'HTTP@localhost' });
  const again = Initiator.start(realm, { mech: 'ntlm', service: 'HTTP@localhost' });
  const conn = await KeepAliveConnection.open(s.port);
  try {
    const r1 = await conn.get('/whoami', negotiate((await init.step()).token));
    assert.equal(r1.status, 401);
    const leg3 = Buffer.from((await init.step(tokenOf(r1))).token);
    // Flip a bit of the NTProofStr, the first bytes of the NT challenge response (MS-NLMP
    // §2.2.1.3: its offset at byte 24 of the AUTHENTICATE message): the proof no longer verifies.
    assert.equal(leg3.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
    const at = leg3.readUInt32LE(24) + 2;
    leg3[at] = (leg3[at] ?? 0) ^ 0x01;
    const failures = s.failures.length;
    const r3 = await conn.get('/whoami', negotiate(leg3));
    assert.equal(r3.status, 401, r3.body);
    assert.equal(r3.headers.get('www-authenticate')?.[0], 'Negotiate');
    assert.equal(s.failures.length, failures + 1);
    await nothingLeaked();
    // The same connection runs a clean handshake afterwards.
    const r4 = await conn.get('/whoami', negotiate((await again.step()).token));
    assert.equal(r4.status, 401);
    const r5 = await conn.get('/whoami', negotiate((await again.step(tokenOf(r4))).token));
    assert.equal(r5.status, 200, r5.body);
  } finally {
    conn.close();
    init.close();
    again.close();
  }
  await nothingLeaked();
});

test('a leg 3 with no leg 1 before it is refused and holds nothing', T, async () => {
  const init = Initiator.start(realm, { mech: 'ntlm', service: 'HTTP@localhost' });
  const elsewhere = await KeepAliveConnection.open(s.port);
  try {
    const r1 = await elsewhere.get('/whoami', negotiate((await init.step()).token));
    const leg3 = (await init.step(tokenOf(r1))).token;
    elsewhere.close();
    await nothingLeaked();
    await expectRefusal(`Negotiate ${leg3.toString('base64')}`, 'ERR_GSS_DEFECTIVE_TOKEN');
  } finally {
    elsewhere.close();
    init.close();
  }
  await nothingLeaked();
});

test('a leg pipelined behind another on one connection is refused, not run on the same context', T, async () => {
  const init = Initiator.start(realm, { mech: 'ntlm', service: 'HTTP@localhost' });
  const c = await RawConn.connect(s.port);
  try {
    const leg1 = (await init.step()).token.toString('base64');
    const request = `GET /whoami HTTP/1.1\r\nHost: localhost\r\nAuthorization: Negotiate ${leg1}\r\n\r\n`;
    // Two legs in one segment: node parses both before the first leg's accept returns.
    await c.write(Buffer.from(request + request, 'latin1'));
    await waitUntil(
      () => s.failures.some((f) => f.code === 'ERR_CONTEXT_BUSY'),
      () => `an ERR_CONTEXT_BUSY failure; have ${JSON.stringify(s.failures.map((f) => f.code))}`,
    );
    // Refused by the adapter before the pool: the context table never saw two legs at once.
    assert.match(s.failures.find((f) => f.code === 'ERR_CONTEXT_BUSY')?.message ?? '', /still running/);
  } finally {
    c.destroy();
    init.close();
  }
  await nothingLeaked();
});
