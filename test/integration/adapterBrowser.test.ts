/**
 * Headless Chromium (Debian's package, driven by playwright-core) against a plain node:http
 * server protected by the adapter: Kerberos through SPNEGO from the ccache in KRB5CCNAME, and,
 * with no Kerberos ticket but an NTLM credential (gss-ntlmssp's NTLM_USER_FILE), NTLM inside
 * SPNEGO, which completes only because the adapter binds its legs to the connection
 * (`ntlm: true`). Chromium does Negotiate only for hosts on --auth-server-allowlist and builds
 * the SPN from the hostname, so the URL uses `localhost`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/negotiateClients.js';
import { AuthPool, NegotiateAuthenticator } from '../../src/adapter/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm, requireTool } from '../support/realm.js';
import { useRealm } from '../support/server.js';
import { startAdapterServer, type AdapterServer } from '../support/adapterServer.js';

const T = { timeout: 90_000 };

let realm: ThrowawayRealm;
let pool: AuthPool;
const authenticators: NegotiateAuthenticator[] = [];
let server: AdapterServer;
const browsers: Browser[] = [];

before(async () => {
  requireTool('chromium', 'chromium');
  realm = await startTestRealm();
  useRealm(realm);
  pool = await AuthPool.start({ credentials: { keytab: realm.keytab, ntlm: true }, workers: 2 });
  const auth = new NegotiateAuthenticator({ pool, ntlm: true });
  authenticators.push(auth);
  server = await startAdapterServer(auth);
});

after(async () => {
  for (const b of browsers) await b.close();
  await server?.close();
  for (const a of authenticators) await a.close();
  await pool?.close();
  await realm?.destroy();
});

async function launch(env: NodeJS.ProcessEnv): Promise<Browser> {
  const browser = await launchChromium({ env });
  browsers.push(browser);
  return browser;
}

/** /whoami as Chromium sees it; retried for the fresh-browser quirk (see browser.test.ts). */
async function whoami(browser: Browser): Promise<Record<string, unknown>> {
  const page = await browser.newPage();
  let status = 0;
  let body = '';
  for (let attempt = 0; attempt < 3 && status !== 200; attempt++) {
    const response = await page.goto(`http://localhost:${server.port}/whoami`, { timeout: 15_000 });
    status = response?.status() ?? 0;
    body = (await response?.text()) ?? '';
  }
  await page.close();
  assert.equal(status, 200, `Chromium never authenticated; last body: ${body.slice(0, 200)}`);
  return JSON.parse(body) as Record<string, unknown>;
}

test('headless Chromium authenticates through the adapter with Kerberos (SPNEGO)', T, async () => {
  const who = await whoami(await launch({ ...process.env, ...realm.env() }));
  assert.equal(who['principal'], realm.userPrincipal);
  assert.equal(who['mech'], 'krb5');
  assert.equal(who['spnego'], true);
  assert.ok(server.sessions.some((s) => s.principal === realm.userPrincipal && s.frontend === 'adapter'));
});

test('headless Chromium without a Kerberos ticket chooses NTLM in SPNEGO; the adapter completes it', T, async () => {
  // No ticket (a ccache that does not exist), and gss-ntlmssp's users file for the initiator.
  const env = {
    ...process.env,
    ...realm.env(),
    KRB5CCNAME: `FILE:${path.join(realm.dir, 'no-such-ccache')}`,
    NTLM_USER_FILE: realm.ntlmUserFile,
  };
  const who = await whoami(await launch(env));
  assert.equal(who['principal'], realm.ntlmUser);
  assert.equal(who['mech'], 'ntlmssp');
  assert.equal(who['spnego'], true);
  assert.ok(server.sessions.some((s) => s.mech === 'ntlmssp'));
});
