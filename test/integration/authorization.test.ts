/**
 * Authorization after the handshake (src/authorization/), against the MIT realm with real
 * clients: each rule allowing and refusing; a refused HTTP client gets 403 *with* the mutual
 * token (python3-gssapi verifies it); the authorize hook refusing, failing and enriching on
 * HTTP (uWS and the node engine through the adapter), WebSocket and gss-sample (MIT gss-client);
 * local names in /whoami; a delegated ccache kept for the request and removed after the response.
 * Active Directory groups (--require-group allowing) are in activeDirectory tests; here the MIT
 * realm has no PAC, so --require-group refuses.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';

import {
  Authorizer,
  type AuthorizationRules,
  type AuthorizeHook,
  type AuthorizeResult,
} from '../../src/authorization/index.js';
import type { AuthorizationRefusal } from '../../src/handshake/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { Session } from '../../src/session.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, runClient, startTestServer, type TestServer } from '../support/server.js';
import { pythonNegotiate } from '../support/negotiateClients.js';
import { Initiator } from '../support/initiator.js';
import { waitUntil } from '../support/waitUntil.js';

const gssClient = requireTool('gss-client', 'krb5-gss-samples');
const ALICE = 'alice@KRBTEST.COM';

let realm: ThrowawayRealm;
/** The hook of `hooked` and `hookedNode`, set by each test. */
let hook: (identity: Parameters<AuthorizeHook>[0]) => AuthorizeResult | Promise<AuthorizeResult> = () => true;
let hooked: TestServer; // allowPrincipals [alice] + the hook; local names; delegation kept; uWS + /ws
let hookedNode: TestServer; // the same on the node engine (the adapter)
let otherRealm: TestServer; // allowRealms [OTHER.EXAMPLE]: alice refused
let groups: TestServer; // requireGroups: alice has no PAC on MIT, refused
let delegationDir: string;
const refusals: AuthorizationRefusal[] = [];

function authorizer(rules: AuthorizationRules, withHook = false): Authorizer {
  return new Authorizer({ rules, ...(withHook ? { authorize: (id) => hook(id) } : {}) });
}

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  delegationDir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-authz-'));
  await fs.chmod(delegationDir, 0o700);
  const http = { host: '127.0.0.1', port: 0 };
  hooked = await startTestServer(realm, {
    http,
    wsPath: '/ws',
    authorizer: authorizer({ allowPrincipals: [ALICE] }, true),
    localName: 'strip-realm',
    delegationDir,
  });
  hookedNode = await startTestServer(realm, {
    http,
    httpEngine: 'node',
    sspi: undefined,
    gssSample: undefined,
    authorizer: authorizer({ allowRealms: ['KRBTEST.COM'] }, true),
  });
  otherRealm = await startTestServer(realm, { http, authorizer: authorizer({ allowRealms: ['OTHER.EXAMPLE'] }) });
  groups = await startTestServer(realm, {
    http,
    sspi: undefined,
    gssSample: undefined,
    authorizer: authorizer({ requireGroups: ['S-1-5-21-1-2-3-513'] }),
  });
  for (const s of [hooked, hookedNode, otherRealm, groups])
    s.server.on('authorizationRefused', (r: AuthorizationRefusal) => refusals.push(r));
});

after(async () => {
  for (const s of [hooked, hookedNode, otherRealm, groups]) await s?.server.close();
  await realm?.destroy();
  await fs.rm(delegationDir, { recursive: true, force: true });
});

async function metric(s: TestServer, frontend: string, rule: string): Promise<number> {
  const text = await s.server.metrics.registry.metrics();
  const m = text.match(
    new RegExp(`^negotiate_authorization_refusals_total\\{frontend="${frontend}",rule="${rule}"\\} (\\d+)$`, 'm'),
  );
  return m ? Number(m[1]) : 0;
}

test('allow-principal lets alice in: /whoami with her local name (strip-realm)', async () => {
  hook = () => true;
  const r = await pythonNegotiate(realm, hooked.httpPort, '/whoami');
  assert.equal(r.code, 0, JSON.stringify(r));
  const body = r.body as { principal: string; localName?: string; extra?: unknown };
  assert.equal(body.principal, ALICE);
  assert.equal(body.localName, 'alice');
  assert.equal(body.extra, undefined);
});

test('allow-realm refuses another realm: 403 with the mutual token, logged rule, metric', async () => {
  const before = await metric(otherRealm, 'http', 'allow-realm');
  const r = await pythonNegotiate(realm, otherRealm.httpPort, '/whoami', undefined, { expectStatus: 403 });
  assert.equal(r.code, 0, `403 whose final token completes a mutual context: ${JSON.stringify(r)}`);
  assert.equal(r.mutual, true);
  assert.match(String(r.body), /not authorized/);
  assert.equal(await metric(otherRealm, 'http', 'allow-realm'), before + 1);
  const refusal = refusals.find((x) => x.rule === 'allow-realm' && x.frontend === 'http');
  assert.equal(refusal?.principal, ALICE);
  assert.equal(refusal?.status, 403);
});

test('allow-realm lets in its realm on the node engine (the adapter), and its hook enriches', async () => {
  hook = (id) => ({ extra: { role: 'admin', seenBy: id.frontend } });
  const r = await pythonNegotiate(realm, hookedNode.httpPort, '/whoami');
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.deepEqual((r.body as { extra?: unknown }).extra, { role: 'admin', seenBy: 'adapter' });
});

test('require-group refuses a client without a verified PAC (MIT realm): 403 with the mutual token', async () => {
  const r = await pythonNegotiate(realm, groups.httpPort, '/whoami', undefined, { expectStatus: 403 });
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.equal(await metric(groups, 'http', 'require-group'), 1);
  const refusal = refusals.find((x) => x.rule === 'require-group');
  assert.match(refusal?.reason ?? '', /no verified PAC/);
});

test('the hook on HTTP: false is 403, { status, reason } that status, a throw 500; extra reaches /whoami', async () => {
  hook = () => false;
  let r = await pythonNegotiate(realm, hooked.httpPort, '/whoami', undefined, { expectStatus: 403 });
  assert.equal(r.code, 0, JSON.stringify(r));
  hook = () => ({ status: 451, reason: 'not in this country' });
  r = await pythonNegotiate(realm, hooked.httpPort, '/whoami', undefined, { expectStatus: 451 });
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.equal(r.body, 'not in this country\n');
  hook = () => {
    throw new Error('directory down');
  };
  r = await pythonNegotiate(realm, hooked.httpPort, '/whoami', undefined, { expectStatus: 500 });
  assert.equal(r.status, 500);
  assert.ok(refusals.some((x) => x.failed && /directory down/.test(x.reason)));
  hook = (id) => Promise.resolve({ extra: { principal: id.principal, groups: ['ops'] } });
  r = await pythonNegotiate(realm, hooked.httpPort, '/whoami');
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.deepEqual((r.body as { extra?: unknown }).extra, { principal: ALICE, groups: ['ops'] });
  // The node engine's hook refuses the same way.
  hook = () => false;
  r = await pythonNegotiate(realm, hookedNode.httpPort, '/whoami', undefined, { expectStatus: 403 });
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.equal(await metric(hookedNode, 'adapter', 'hook'), 1);
});

/** A WebSocket handshake of alice on `port`: the messages and the close the server sent. */
async function wsHandshake(port: number): Promise<{ binary: number; texts: string[]; close: number }> {
  const ini = Initiator.start(realm, { mech: 'spnego', service: 'HTTP@localhost' });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const out = { binary: 0, texts: [] as string[], close: 0 };
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const closed = new Promise<void>((resolve) => {
      ws.on('close', (code: number) => {
        out.close = code;
        resolve();
      });
    });
    let verified: Promise<boolean> | undefined;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        out.binary += 1;
        // The final token: mutual authentication completes even when authorization refuses.
        verified = ini.step(data).then((s) => s.complete);
      } else {
        out.texts.push(data.toString('utf8'));
        ws.close(1000);
      }
    });
    ws.send((await ini.step()).token, { binary: true });
    await closed;
    if (verified !== undefined) assert.equal(await verified, true, 'the final token completes the context');
    return out;
  } finally {
    ini.close();
  }
}

test('the hook on WebSocket: refusing sends the final token, then closes 4403; extra in the announcement', async () => {
  hook = () => false;
  let r = await wsHandshake(hooked.httpPort);
  assert.equal(r.close, 4403);
  assert.equal(r.binary, 1);
  assert.deepEqual(r.texts, []);
  hook = () => ({ extra: { tier: 'gold' } });
  r = await wsHandshake(hooked.httpPort);
  assert.equal(r.texts.length, 1);
  const msg = JSON.parse(r.texts[0] ?? '{}') as { type: string; extra?: unknown; localName?: string };
  assert.equal(msg.type, 'authenticated');
  assert.deepEqual(msg.extra, { tier: 'gold' });
  assert.equal(msg.localName, 'alice');
  hook = () => {
    throw new Error('boom');
  };
  r = await wsHandshake(hooked.httpPort);
  assert.equal(r.close, 1011);
});

test('gss-sample (TCP): the hook refusing closes the connection; enriching puts extra on the Session', async () => {
  const sessions: Session[] = [];
  const onSession = (s: Session): void => void sessions.push(s);
  hooked.server.on('session', onSession);
  try {
    const args = ['-port', String(hooked.gssSamplePort), 'localhost', 'host@localhost', 'hello'];
    hook = () => false;
    const refused = await runClient(gssClient, args, realm, 15_000);
    assert.notEqual(refused.code, 0, `gss-client must fail:\n${refused.stdout}`);
    assert.ok(refusals.some((x) => x.frontend === 'gss-sample' && x.rule === 'hook'));
    assert.equal(sessions.length, 0, 'no session for a refused client');
    hook = () => ({ extra: { note: 'tcp' } });
    const ok = await runClient(gssClient, args, realm, 15_000);
    assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr}`);
    await waitUntil(() => sessions.length === 1, 'the gss-sample session');
    assert.deepEqual(sessions[0]?.extra, { note: 'tcp' });
    assert.equal(sessions[0]?.localName, 'alice');
  } finally {
    hooked.server.off('session', onSession);
  }
});

test('allow-principal refuses on TCP too: gss-client against a server allowing another realm', async () => {
  const args = ['-port', String(otherRealm.gssSamplePort), 'localhost', 'host@localhost', 'hello'];
  const r = await runClient(gssClient, args, realm, 15_000);
  assert.notEqual(r.code, 0);
  assert.ok(refusals.some((x) => x.frontend === 'gss-sample' && x.rule === 'allow-realm'));
});

test('a delegated ccache is kept while the handler runs and removed once the HTTP response is done', async () => {
  hook = () => true;
  const http = hooked.server.http;
  assert.ok(http);
  let seen: { path: string; mode: number } | undefined;
  http.protect(
    '/delegated',
    async (identity, res) => {
      assert.ok(identity.delegatedCcache !== undefined, 'the identity names the kept ccache');
      const st = await fs.stat(identity.delegatedCcache);
      seen = { path: identity.delegatedCcache, mode: st.mode & 0o777 };
      res.json({ kept: true });
    },
    { methods: ['get'] },
  );
  const r = await pythonNegotiate(realm, hooked.httpPort, '/delegated', undefined, { delegate: true });
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.deepEqual(seen, { path: path.join(delegationDir, ALICE), mode: 0o600 });
  await waitUntil(async () => (await fs.readdir(delegationDir)).length === 0, 'the ccache removed after the response');
});
