/**
 * A session cookie never outlives the ticket ("Hostile clients II", item 6). MIT accepts a
 * ticket up to the clock skew after it ended and reports the context's lifetime with that
 * margin added, so a token whose ticket had ended 8 s earlier got a cookie with Max-Age 289.
 * The cookie now ends when the ticket does, and a ticket that has already ended gets none.
 *
 * The expired ticket is real: alice's TGT and service ticket are issued for 4 s, the test waits
 * them out, then tells the client its clock is 30 s behind (the ccache's KDC time offset) so
 * that MIT's initiator still uses the cached ticket.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { negotiateGet } from '../support/httpGet.js';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { firstTokens } from '../support/initiator.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { setClientClockOffset, tokensFromCcache } from './realTokens.js';

const COOKIE_TTL = 3600;
let realm: ThrowawayRealm;
let ts: TestServer;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  ts = await startTestServer(realm, { http: { host: '127.0.0.1', port: 0 }, sessionCookieTtlSeconds: COOKIE_TTL });
});
after(async () => {
  await ts?.server.close();
  await realm?.destroy();
});

async function whoami(token: Buffer): Promise<{ status: number; setCookie: string | undefined }> {
  const r = await negotiateGet(ts.httpPort, token);
  return { status: r.status, setCookie: r.headers['set-cookie']?.[0] };
}

const maxAge = (setCookie: string | undefined): number => Number(/Max-Age=(\d+)/i.exec(setCookie ?? '')?.[1] ?? NaN);

function shortKinit(ccache: string, seconds: number): Promise<void> {
  const kinit = requireTool('kinit', 'krb5-user');
  return new Promise((resolve, reject) => {
    const child = execFile(
      kinit,
      ['-l', `${seconds}s`, '-c', `FILE:${ccache}`, realm.userPrincipal],
      { env: { ...process.env, ...realm.env() }, timeout: 20_000 },
      (err, _out, stderr) => (err ? reject(new Error(`kinit -l ${seconds}s failed: ${stderr}`)) : resolve()),
    );
    child.stdin?.end(`${realm.password}\n`);
  });
}

test('a ticket with time left: the cookie ends no later than the ticket', { timeout: 30_000 }, async () => {
  const ccache = path.join(realm.dir, `short-lived-${process.pid}.ccache`);
  await shortKinit(ccache, 60);
  const [token] = await tokensFromCcache(realm, ccache, { mech: 'spnego', service: 'HTTP@localhost' }, 1);
  assert.ok(token);
  const r = await whoami(token);
  assert.equal(r.status, 200);
  const age = maxAge(r.setCookie);
  assert.ok(
    age > 0 && age <= 60,
    `Max-Age ${age} must be within the ticket's 60 s, not ${COOKIE_TTL} or 60 + the 300 s skew`,
  );
  // A long ticket: the configured lifetime applies.
  const [longToken] = await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 1);
  assert.ok(longToken);
  const long = await whoami(longToken);
  assert.equal(maxAge(long.setCookie), COOKIE_TTL);
});

test(
  'a ticket that ended seconds ago (inside the clock skew) is accepted but gets no cookie',
  { timeout: 60_000 },
  async () => {
    const ccache = path.join(realm.dir, `expiring-${process.pid}.ccache`);
    await shortKinit(ccache, 4);
    // caches the 4 s service ticket
    await tokensFromCcache(realm, ccache, { mech: 'spnego', service: 'HTTP@localhost' }, 1);
    await sleep(6_000);
    await setClientClockOffset(ccache, -30);
    const [token] = await tokensFromCcache(realm, ccache, { mech: 'spnego', service: 'HTTP@localhost' }, 1);
    assert.ok(token);
    const r = await whoami(token);
    assert.equal(r.status, 200, 'MIT accepts a ticket up to the clock skew after its end');
    assert.equal(r.setCookie, undefined, `no cookie for a ticket that has ended: got ${r.setCookie}`);
  },
);
