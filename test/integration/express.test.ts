/**
 * negotiate-server/express: a real Express app on node:http behind the middleware, against real
 * clients (curl --negotiate, python3-gssapi verifying the mutual-authentication token, headless
 * Chromium); a POST body reaches the route intact after the handshake; requests without or with
 * refused credentials never reach a route; two apps share one authenticator.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import express from 'express';
import type { Browser } from 'playwright-core';

import { NegotiateAuthenticator, type AdapterIdentity } from '../../src/adapter/index.js';
import { negotiate, type NegotiateMiddleware } from '../../src/express/index.js';
import { AuthPool } from '../../src/pool/AuthPool.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, useRealm } from '../support/server.js';
import { firstTokens } from '../support/initiator.js';
import {
  chromiumNegotiate,
  curlNegotiate,
  launchChromium,
  negotiateHeader,
  pythonNegotiate,
  request,
} from '../support/negotiateClients.js';

const T = { timeout: 60_000 };

interface App {
  port: number;
  /** Route calls, in order: what reached the application. */
  calls: string[];
  /** Errors the middleware passed to next(err). */
  errors: unknown[];
  server: http.Server;
}

let realm: ThrowawayRealm;
let pool: AuthPool;
let shared: NegotiateAuthenticator;
let browser: Browser;
let app: App;
const apps: App[] = [];
const tokens: Buffer[] = [];

/** A body a consumed or re-read stream could not pass off as intact: multi-byte text, 40 KB. */
const BODY = `é€ ${randomBytes(20_000).toString('hex')} ✓`;

function nextToken(): Buffer {
  const t = tokens.shift();
  assert.ok(t, 'ran out of pre-made tokens: raise the count in before()');
  return t;
}

function who(identity: AdapterIdentity | undefined): Record<string, unknown> {
  if (identity === undefined) return { principal: null };
  const { principal, mech, spnego, via, frontend } = identity;
  return { principal, mech, spnego, via, frontend, mutual: identity.flags.mutual };
}

/** GET /whoami and POST /echo (express.text parses the body behind the middleware). */
async function startApp(middleware: NegotiateMiddleware): Promise<App> {
  const e = express();
  const calls: string[] = [];
  e.use(middleware);
  e.get('/whoami', (req, res) => {
    calls.push('GET /whoami');
    res.json(who(req.negotiate));
  });
  e.post('/echo', express.text({ type: '*/*', limit: '1mb' }), (req, res) => {
    calls.push('POST /echo');
    const body: unknown = req.body;
    res.json({ ...who(req.negotiate), body: typeof body === 'string' ? body : null });
  });
  const errors: unknown[] = [];
  e.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    errors.push(err);
    if (res.headersSent) next(err);
    else res.status(500).end();
  });
  const server = http.createServer(e);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const started: App = { port: address.port, calls, errors, server };
  apps.push(started);
  return started;
}

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  useRealm(realm);
  pool = await AuthPool.start({ credentials: { keytab: realm.keytab }, workers: 2 });
  shared = await NegotiateAuthenticator.create({ pool });
  app = await startApp(negotiate(shared));
  tokens.push(...(await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 8)));
  browser = await launchChromium(realm);
});

after(async () => {
  await browser?.close();
  for (const a of apps) {
    a.server.closeAllConnections();
    await new Promise((resolve) => a.server.close(resolve));
  }
  await shared?.close();
  await pool?.close();
  await realm?.destroy();
});

test('a request without credentials gets the 401 challenge and never reaches a route', T, async () => {
  for (const [method, path, body] of [
    ['GET', '/whoami', undefined],
    ['POST', '/echo', BODY],
    ['DELETE', '/whoami', undefined],
  ] as const) {
    const r = await request(app.port, method, path, { 'Content-Type': 'text/plain' }, body);
    assert.equal(r.status, 401, `${method} ${path}`);
    assert.equal(r.headers['www-authenticate'], 'Negotiate');
  }
  assert.deepEqual(app.calls, []);
});

test(
  'curl --negotiate: a GET, and a POST whose body reaches the route intact; the mutual token on both',
  T,
  async () => {
    const get = await curlNegotiate(realm, app.port, '/whoami');
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.status, 200, get.stderr);
    assert.deepEqual(JSON.parse(get.body), {
      principal: realm.userPrincipal,
      mech: 'krb5',
      spnego: true,
      via: 'negotiate',
      frontend: 'adapter',
      mutual: true,
    });
    assert.ok(get.finalToken, `no WWW-Authenticate: Negotiate <token> on the 200:\n${get.stderr}`);

    const post = await curlNegotiate(realm, app.port, '/echo', BODY);
    assert.equal(post.status, 200, post.stderr);
    const echoed = JSON.parse(post.body) as { principal: string; body: string };
    assert.equal(echoed.principal, realm.userPrincipal);
    assert.equal(echoed.body, BODY);
    assert.ok(post.finalToken, post.stderr);
  },
);

test('python3-gssapi verifies the mutual-authentication token, on a GET and on a POST with a body', T, async () => {
  const get = await pythonNegotiate(realm, app.port, '/whoami');
  assert.equal(get.code, 0, JSON.stringify(get));
  assert.equal(get.mutual, true);
  assert.equal((get.body as { principal: string }).principal, realm.userPrincipal);

  const post = await pythonNegotiate(realm, app.port, '/echo', BODY);
  assert.equal(post.code, 0, JSON.stringify(post).slice(0, 500));
  assert.equal(post.mutual, true);
  assert.deepEqual(post.body, { ...(get.body as object), body: BODY });
});

test('headless Chromium authenticates; its fetch() POST reaches the route with its body after the 401', T, async () => {
  const before = app.calls.length;
  const r = await chromiumNegotiate(browser, app.port, '/whoami', { path: '/echo', body: BODY });
  assert.equal(r.get.status, 200, `Chromium never authenticated; last body: ${r.get.body.slice(0, 200)}`);
  assert.equal((JSON.parse(r.get.body) as { principal: string }).principal, realm.userPrincipal);
  assert.ok(r.post, 'the POST was not sent');
  assert.equal(r.post.status, 200, r.post.body.slice(0, 200));
  const echoed = JSON.parse(r.post.body) as { principal: string; body: string; mutual: boolean };
  assert.equal(echoed.principal, realm.userPrincipal);
  assert.equal(echoed.mutual, false, 'browsers never ask for mutual authentication');
  assert.equal(echoed.body, BODY);
  // Each route ran once per authenticated request, never for the 401s before them.
  assert.deepEqual(
    app.calls.slice(before).filter((c) => c === 'POST /echo'),
    ['POST /echo'],
  );
});

test('a refused token gets a 401 with the challenge and never reaches a route', T, async () => {
  const token = nextToken();
  const first = await request(app.port, 'POST', '/echo', { ...negotiateHeader(token) }, 'once');
  assert.equal(first.status, 200, first.body);
  const calls = app.calls.length;

  // The same authenticator again: the replay cache refuses it.
  const replayed = await request(app.port, 'POST', '/echo', { ...negotiateHeader(token) }, 'twice');
  assert.equal(replayed.status, 401, replayed.body);
  assert.match(String(replayed.headers['www-authenticate']), /^Negotiate/);
  // Not a GSSAPI token at all.
  const garbage = await request(app.port, 'GET', '/whoami', negotiateHeader(randomBytes(64)));
  assert.equal(garbage.status, 401, garbage.body);
  assert.equal(app.calls.length, calls, `reached a route: ${app.calls.slice(calls).join(', ')}`);
});

test('two apps share one authenticator; closing one middleware leaves the shared authenticator open', T, async () => {
  const sessions: AdapterIdentity[] = [];
  const onSession = (s: AdapterIdentity): number => sessions.push(s);
  shared.on('session', onSession);
  try {
    const second = negotiate({ authenticator: shared });
    const other = await startApp(second);
    assert.equal(await second.ready, shared);
    for (const a of [app, other]) {
      const r = await request(a.port, 'GET', '/whoami', negotiateHeader(nextToken()));
      assert.equal(r.status, 200, r.body);
      assert.equal((JSON.parse(r.body) as { principal: string }).principal, realm.userPrincipal);
    }
    assert.equal(sessions.length, 2, 'both handshakes ran on the shared authenticator');
    await second.close();
    const after = await request(other.port, 'GET', '/whoami', negotiateHeader(nextToken()));
    assert.equal(after.status, 200, 'the shared authenticator was closed by a middleware that does not own it');
  } finally {
    shared.off('session', onSession);
  }
});

test(
  'options make the middleware an authenticator of its own on the given pool; close() closes it only',
  T,
  async () => {
    const own = negotiate({ pool });
    const a = await startApp(own);
    const authenticator = await own.ready;
    assert.ok(authenticator instanceof NegotiateAuthenticator);
    assert.notEqual(authenticator, shared);
    const r = await request(a.port, 'GET', '/whoami', negotiateHeader(nextToken()));
    assert.equal(r.status, 200, r.body);
    await own.close();
    // The pool was given, so it stays open for the shared authenticator.
    const still = await request(app.port, 'GET', '/whoami', negotiateHeader(nextToken()));
    assert.equal(still.status, 200, still.body);
  },
);

test('an authenticator that cannot be made: ready rejects, requests get a 500 and reach no route', T, async () => {
  const broken = negotiate({ credentials: { keytab: `${realm.dir}/no-such.keytab` }, poolOptions: { workers: 1 } });
  await assert.rejects(broken.ready);
  const a = await startApp(broken);
  const r = await request(a.port, 'GET', '/whoami');
  assert.equal(r.status, 500);
  assert.deepEqual(a.calls, []);
  assert.equal((a.errors[0] as { code?: string } | undefined)?.code, 'ERR_KEYTAB_UNREADABLE');
  await broken.close();
  assert.throws(() => negotiate({ authenticator: shared, pool }), { code: 'ERR_CONFIG' });
});

test(
  'the authorize hook on Express: a refusal is 403 with the mutual token and no route; extra reaches the route',
  T,
  async () => {
    let answer: { extra: Record<string, unknown> } | false = false;
    const hooked = await startApp(
      negotiate({
        pool,
        authorization: { allowRealms: [realm.realmName] },
        authorize: (identity) => (answer === false ? false : { extra: { ...answer.extra, seen: identity.principal } }),
      }),
    );
    const refused = await pythonNegotiate(realm, hooked.port, '/whoami', undefined, { expectStatus: 403 });
    assert.equal(refused.code, 0, `403 whose final token completes a mutual context: ${JSON.stringify(refused)}`);
    assert.deepEqual(hooked.calls, [], 'a refused client never reaches a route');
    answer = { extra: { team: 'blue' } };
    const e = express();
    e.use(negotiate({ pool, authorize: () => answer }));
    e.get('/extra', (req, res) => void res.json(req.negotiate?.extra ?? null));
    const server = http.createServer(e);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    apps.push({ port: 0, calls: [], errors: [], server });
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    const ok = await pythonNegotiate(realm, address.port, '/extra');
    assert.equal(ok.code, 0, JSON.stringify(ok));
    assert.deepEqual(ok.body, { team: 'blue' });
  },
);
