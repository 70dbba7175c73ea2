/**
 * One NTLM user, one name ("Hostile clients II", item 2). gss-ntlmssp finds the users-file
 * entry without regard to case and accepts a user name with or without its domain, in any of
 * the forms clients send; the identity the server reports must still be the one entry's
 * canonical `DOMAIN\user`, spelt as the users file spells it, whatever the client typed, so
 * that access lists comparing exact strings see one user.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm } from '../support/realm.js';
import { PYTHON, jsonLines, requirePythonGssapi, runClient, startTestServer, type TestServer, SSPI_CLIENT } from '../support/server.js';
import { waitUntil } from '../support/waitUntil.js';
import { ServerWatch } from './harness.js';

const T = { timeout: 90_000 };
let realm: ThrowawayRealm;
let ts: TestServer;
let watch: ServerWatch;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  ts = await startTestServer(realm, { ntlm: true });
  watch = new ServerWatch(ts.server);
});
after(async () => {
  await ts?.server.close();
  await realm?.destroy();
});

test('alice, ALICE, \\alice, alice@DOMAIN and DOMAIN\\alice are all reported as the users file spells her', T, async () => {
  const domain = realm.ntlmDomain;
  const user = realm.ntlmUser.slice(domain.length + 1);
  const variants = [user, user.toUpperCase(), `\\${user}`, `${user}@${domain}`, `${domain}\\${user}`, `${domain}\\${user.toUpperCase()}`];
  for (const typed of variants) {
    const m = watch.mark();
    for (const mech of ['ntlm', 'spnego-ntlm']) {
      const r = await runClient(PYTHON, [SSPI_CLIENT, '--port', String(ts.sspiPort), '--timeout', '10', '--mech', mech, `--user=${typed}`, `--password=${realm.password}`], realm, 20_000);
      assert.equal(jsonLines(r.stdout)[0]?.['ok'], true, `${typed} (${mech}) logs in: ${r.stdout} ${r.stderr}`);
    }
    await waitUntil(() => watch.sessions.length >= m.sessions + 2, `two sessions for ${typed}`);
    for (const s of watch.sessions.slice(m.sessions)) assert.equal(s.principal, realm.ntlmUser, `typed as ${JSON.stringify(typed)}`);
  }
});
