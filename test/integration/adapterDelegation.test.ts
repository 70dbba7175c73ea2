/**
 * Delegation end to end through the adapter (issue 13 item 3), against a real MIT realm: an app
 * on node:http protected by NegotiateAuthenticator, its pool keeping delegated credentials
 * (credentials.delegationDir). python3-gssapi forwards alice's TGT; the app's handler uses the
 * kept ccache (KRB5CCNAME) to reach two other services as alice: MIT's gss-client to the
 * server's gss-sample front end, and curl --negotiate to a second HTTP service. The ccache is
 * 0600, and gone once the response is done; a client that forwards nothing gives the app none.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AuthPool, NegotiateAuthenticator } from '../../src/adapter/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { Session } from '../../src/session.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, runClient, startTestServer, useRealm, type TestServer } from '../support/server.js';
import { curlNegotiate, pythonNegotiate } from '../support/negotiateClients.js';
import { waitUntil } from '../support/waitUntil.js';

const gssClient = requireTool('gss-client', 'krb5-gss-samples');
const ALICE = 'alice@KRBTEST.COM';

/** What the app's handler found and did with the identity's delegated ccache. */
interface OnwardReport {
  principal: string;
  ccache: string | null;
  mode: number | null;
  gssSample: { code: number | null; asAlice: boolean } | null;
  secondHttp: { code: number | null; principal: string | null } | null;
}

let realm: ThrowawayRealm;
let backEnds: TestServer; // the services the app reaches onward: gss-sample and HTTP
let pool: AuthPool;
let auth: NegotiateAuthenticator;
let app: http.Server;
let appPort: number;
let delegationDir: string;
const backEndSessions: Session[] = [];

/** The app: authenticates, then acts as the client toward both back ends with its ccache. */
async function onward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const outcome = await auth.authenticate(req);
  auth.apply(outcome, res);
  if (outcome.kind !== 'authenticated') return;
  const ccache = outcome.identity.delegatedCcache;
  const report: OnwardReport = {
    principal: outcome.identity.principal,
    ccache: ccache ?? null,
    mode: null,
    gssSample: null,
    secondHttp: null,
  };
  if (ccache !== undefined) {
    report.mode = (await fs.stat(ccache)).mode & 0o777;
    const env = { KRB5CCNAME: `FILE:${ccache}` };
    const gss = await runClient(
      gssClient,
      ['-port', String(backEnds.gssSamplePort), 'localhost', 'host@localhost', 'onward as alice'],
      realm,
      15_000,
      env,
    );
    report.gssSample = {
      code: gss.code,
      asAlice: /"alice@KRBTEST\.COM" to "host\/localhost@KRBTEST\.COM"/.test(gss.stdout),
    };
    const web = await curlNegotiate(realm, backEnds.httpPort, '/whoami', undefined, env);
    let principal: string | null;
    try {
      principal = web.status === 200 ? ((JSON.parse(web.body) as { principal?: string }).principal ?? null) : null;
    } catch {
      principal = null;
    }
    report.secondHttp = { code: web.code, principal };
  }
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(report));
}

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  useRealm(realm);
  backEnds = await startTestServer(realm, { http: { host: '127.0.0.1', port: 0 } });
  backEnds.server.on('session', (s: Session) => backEndSessions.push(s));
  delegationDir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-adapter-deleg-'));
  await fs.chmod(delegationDir, 0o700);
  pool = await AuthPool.start({ credentials: { keytab: realm.keytab, delegationDir }, workers: 2 });
  auth = new NegotiateAuthenticator({ pool });
  app = http.createServer((req, res) => void onward(req, res));
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appPort = (app.address() as AddressInfo).port;
});

after(async () => {
  app?.closeAllConnections();
  await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
  await auth?.close();
  await pool?.close();
  await backEnds?.server.close();
  await realm?.destroy();
  if (delegationDir !== undefined) await fs.rm(delegationDir, { recursive: true, force: true });
});

test('alice forwards her TGT: the app reaches gss-sample and a second HTTP service as alice', async () => {
  const before = backEndSessions.length;
  const r = await pythonNegotiate(realm, appPort, '/onward', undefined, { delegate: true });
  assert.equal(r.code, 0, JSON.stringify(r));
  const report = r.body as OnwardReport;
  assert.equal(report.principal, ALICE);
  assert.equal(report.ccache, path.join(delegationDir, ALICE));
  assert.equal(report.mode, 0o600);
  assert.deepEqual(report.gssSample, { code: 0, asAlice: true });
  assert.deepEqual(report.secondHttp, { code: 0, principal: ALICE });
  // Both back ends saw alice herself, not the app's service principal.
  await waitUntil(() => backEndSessions.length >= before + 2, 'the back ends’ sessions');
  assert.deepEqual(
    backEndSessions.slice(before).map((s) => s.principal),
    [ALICE, ALICE],
  );
  await waitUntil(async () => (await fs.readdir(delegationDir)).length === 0, 'the ccache removed after the response');
});

test('a client that forwards nothing gives the app no ccache, and nothing is written', async () => {
  const r = await pythonNegotiate(realm, appPort, '/onward', undefined, { delegate: false });
  assert.equal(r.code, 0, JSON.stringify(r));
  const report = r.body as OnwardReport;
  assert.equal(report.principal, ALICE);
  assert.equal(report.ccache, null);
  assert.deepEqual(await fs.readdir(delegationDir), []);
});
