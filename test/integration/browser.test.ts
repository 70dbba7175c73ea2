/**
 * A real browser: headless Chromium (Debian's package, driven by playwright-core) loads
 * /whoami from the HTTP front end and authenticates with Kerberos from the ccache in
 * KRB5CCNAME. Chromium does SPNEGO only for hosts on --auth-server-allowlist and builds the
 * SPN from the hostname, so the URL uses `localhost` (HTTP/localhost is in the keytab).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser } from 'playwright-core';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm, requireTool } from '../support/realm.js';
import { startTestServer, type TestServer } from '../support/server.js';

const CHROMIUM = '/usr/bin/chromium';

let realm: ThrowawayRealm;
let server: TestServer;
let browser: Browser;

before(async () => {
  requireTool('chromium', 'chromium');
  realm = await startTestRealm();
  server = await startTestServer(realm, { http: { host: '127.0.0.1', port: 0 } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, ...realm.env() } as Record<string, string>,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      // This machine has no network but loopback: keep Chromium from trying.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--auth-server-allowlist=localhost',
    ],
    timeout: 30_000,
  });
});

after(async () => {
  await browser?.close();
  await server?.server.close(0);
  await realm?.destroy();
});

test('headless Chromium authenticates to /whoami with Kerberos (SPNEGO)', { timeout: 60_000 }, async () => {
  const page = await browser.newPage();
  const url = `http://localhost:${server.httpPort}/whoami`;
  const sessions: string[] = [];
  server.server.on('session', (s: { principal: string }) => sessions.push(s.principal));
  // Known Chromium quirk: the first navigation of a fresh browser answers the 401 without
  // trying Negotiate ("Unable to create AuthHandler"); the next one authenticates.
  let status = 0;
  let body = '';
  for (let attempt = 0; attempt < 3 && status !== 200; attempt++) {
    const response = await page.goto(url, { timeout: 15_000 });
    status = response?.status() ?? 0;
    body = (await response?.text()) ?? '';
  }
  assert.equal(status, 200, `Chromium never authenticated; last body: ${body.slice(0, 200)}`);
  const who = JSON.parse(body) as { principal: string; mech: string; spnego: boolean; flags: { mutual: boolean } };
  assert.equal(who.principal, realm.userPrincipal);
  assert.equal(who.mech, 'krb5');
  assert.equal(who.spnego, true, 'browsers always use SPNEGO');
  assert.equal(who.flags.mutual, false, 'Chromium never asks for mutual authentication');
  assert.ok(sessions.includes(realm.userPrincipal));
  await page.close();
});
