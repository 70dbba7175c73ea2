/**
 * Issue 10, item 7: the fresh credential wins. A request that carries a valid session cookie
 * for one user and an `Authorization: Negotiate` token for another is answered as the token's
 * user, and a failing Authorization header fails the request even next to a valid cookie: the
 * cookie only stands in for a handshake on requests that carry no Authorization header.
 * (Before the fix the cookie was checked first and the header never looked at: such a request
 * was answered as the cookie's user.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { httpGet } from '../support/httpGet.js';
import { randomBytes } from 'node:crypto';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { firstTokens } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { tokensFromCcache } from './realTokens.js';
import { ServerWatch } from './harness.js';

const T = { timeout: 30_000 };

let realm: ThrowawayRealm;
let ts: TestServer;
let watch: ServerWatch;
let bobPrincipal: string;
/** Fresh SPNEGO tokens for HTTP@localhost, each used once. */
let aliceTokens: Buffer[] = [];
let bobTokens: Buffer[] = [];

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm({ password: randomBytes(16).toString('hex') });
  ts = await startTestServer(realm, { http: { host: '127.0.0.1', port: 0 }, sessionCookieTtlSeconds: 3600 });
  watch = new ServerWatch(ts.server);
  const bobCcache = `${realm.dir}/bob-${process.pid}.ccache`;
  await realm.addPrincipal('bob', { password: realm.password });
  await realm.kinit('bob', realm.password, bobCcache);
  bobPrincipal = `bob@${realm.realmName}`;
  aliceTokens = await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 4);
  bobTokens = await tokensFromCcache(realm, bobCcache, { mech: 'spnego', service: 'HTTP@localhost' }, 1);
});

after(async () => {
  await ts?.server.close(0);
  await realm?.destroy();
});

interface Answer {
  status: number;
  body: string;
  setCookie: string[];
}

async function get(headers: Record<string, string>): Promise<Answer> {
  const r = await httpGet(ts.httpPort, '/whoami', headers);
  return { status: r.status, body: r.body, setCookie: r.headers['set-cookie'] ?? [] };
}

function whoami(a: Answer): { principal: string; via: string } {
  assert.equal(a.status, 200, a.body);
  return JSON.parse(a.body) as { principal: string; via: string };
}

/** The `name=value` part of the session cookie a response set. */
function cookieOf(a: Answer): string {
  const c = a.setCookie[0];
  assert.ok(c, 'the 200 sets a session cookie');
  return c.split(';')[0] as string;
}

let bobCookie = '';

test("bob's cookie alone is bob's session", T, async () => {
  const first = await get({ Authorization: `Negotiate ${(bobTokens.shift() as Buffer).toString('base64')}` });
  assert.equal(whoami(first).principal, bobPrincipal);
  bobCookie = cookieOf(first);
  const again = whoami(await get({ Cookie: bobCookie }));
  assert.deepEqual(again, { ...again, principal: bobPrincipal, via: 'cookie' });
});

test("bob's cookie with a fresh Negotiate token for alice is answered as alice, with alice's cookie", T, async () => {
  const m = watch.mark();
  const a = await get({
    Cookie: bobCookie,
    Authorization: `Negotiate ${(aliceTokens.shift() as Buffer).toString('base64')}`,
  });
  const who = whoami(a);
  assert.equal(who.principal, realm.userPrincipal, 'the Authorization header is processed, not skipped for the cookie');
  assert.equal(who.via, 'negotiate');
  assert.equal(watch.sessions.length - m.sessions, 1, 'a handshake ran');
  // The new cookie replaces bob's in the client's jar.
  const aliceCookie = cookieOf(a);
  assert.equal(whoami(await get({ Cookie: aliceCookie })).principal, realm.userPrincipal);
});

test("bob's cookie with a failing Authorization header is a 401: the failure stands", T, async () => {
  const spent = aliceTokens.shift() as Buffer;
  assert.equal(
    whoami(await get({ Authorization: `Negotiate ${spent.toString('base64')}` })).principal,
    realm.userPrincipal,
  );
  const cases: Array<[string, string]> = [
    [`Negotiate ${spent.toString('base64')}`, 'ERR_GSS_REPLAY'],
    ['Negotiate AAAA', 'ERR_GSS_DEFECTIVE_TOKEN'],
    ['Negotiate !!!!', 'ERR_HTTP_BAD_AUTHORIZATION'],
    ['Basic Ym9iOnB3', 'ERR_HTTP_UNSUPPORTED_SCHEME'],
  ];
  for (const [authorization, code] of cases) {
    const m = watch.mark();
    const r = await get({ Cookie: bobCookie, Authorization: authorization });
    assert.equal(r.status, 401, `${authorization.slice(0, 20)} next to a valid cookie: ${r.body}`);
    assert.ok(!r.body.includes('bob'), 'never answered as the cookie user');
    assert.equal((await watch.failureSince(m)).code, code);
    assert.equal(watch.sessions.length, m.sessions);
  }
  // The cookie itself was not spoiled: without a header it is still bob's session.
  assert.equal(whoami(await get({ Cookie: bobCookie })).via, 'cookie');
});
