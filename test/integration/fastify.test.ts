/**
 * negotiate-server/fastify: a real Fastify app (on node:http) with the plugin, against real
 * clients (curl --negotiate, python3-gssapi verifying the mutual-authentication token, headless
 * Chromium); a POST body reaches the route intact after the handshake; requests without or
 * with refused credentials never reach a route; the plugin's scope follows Fastify's
 * encapsulation; two apps share one authenticator.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';

import { NegotiateAuthenticator, type AdapterIdentity } from '../../src/adapter/index.js';
import { negotiate, type NegotiatePluginOptions } from '../../src/fastify/index.js';
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
  fastify: FastifyInstance;
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

function who(identity: AdapterIdentity | null | undefined): Record<string, unknown> {
  if (identity === null || identity === undefined) return { principal: null };
  const { principal, mech, spnego, via, frontend } = identity;
  return { principal, mech, spnego, via, frontend, mutual: identity.flags.mutual };
}

/** GET /whoami and POST /echo (Fastify's own text/plain parser reads the body behind the hook). */
function routes(f: FastifyInstance, calls: string[]): void {
  f.get('/whoami', (request) => {
    calls.push('GET /whoami');
    return Promise.resolve(who(request.negotiate));
  });
  f.post('/echo', (request) => {
    calls.push('POST /echo');
    const body: unknown = request.body;
    return Promise.resolve({ ...who(request.negotiate), body: typeof body === 'string' ? body : null });
  });
}

async function startApp(setup: (f: FastifyInstance, calls: string[]) => Promise<void>): Promise<App> {
  const f = Fastify();
  const calls: string[] = [];
  await setup(f, calls);
  await f.listen({ port: 0, host: '127.0.0.1' });
  const address = f.server.address();
  assert.ok(address !== null && typeof address === 'object');
  const started: App = { port: address.port, calls, fastify: f };
  apps.push(started);
  return started;
}

/** An app protected as a whole: the plugin on the root instance. */
function protectedApp(options: NegotiatePluginOptions): Promise<App> {
  return startApp(async (f, calls) => {
    await f.register(negotiate, options);
    routes(f, calls);
  });
}

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  useRealm(realm);
  pool = await AuthPool.start({ credentials: { keytab: realm.keytab }, workers: 2 });
  shared = await NegotiateAuthenticator.create({ pool });
  app = await protectedApp({ authenticator: shared });
  tokens.push(...(await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 8)));
  browser = await launchChromium(realm);
});

after(async () => {
  await browser?.close();
  for (const a of apps) await a.fastify.close();
  await shared?.close();
  await pool?.close();
  await realm?.destroy();
});

test('a request without credentials gets the 401 challenge and never reaches a route', T, async () => {
  for (const [method, path, body] of [
    ['GET', '/whoami', undefined],
    ['POST', '/echo', BODY],
    ['DELETE', '/whoami', undefined],
    ['GET', '/no-such-route', undefined],
  ] as const) {
    const r = await request(app.port, method, path, { 'Content-Type': 'text/plain' }, body);
    assert.equal(r.status, 401, `${method} ${path}`);
    assert.equal(r.headers['www-authenticate'], 'Negotiate');
    assert.match(String(r.headers['content-type']), /^text\/plain/);
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
  assert.deepEqual(
    app.calls.slice(before).filter((c) => c === 'POST /echo'),
    ['POST /echo'],
  );
});

test('a refused token gets a 401 with the challenge and never reaches a route', T, async () => {
  const token = nextToken();
  const first = await request(
    app.port,
    'POST',
    '/echo',
    { ...negotiateHeader(token), 'Content-Type': 'text/plain' },
    'once',
  );
  assert.equal(first.status, 200, first.body);
  const calls = app.calls.length;

  // The same authenticator again: the replay cache refuses it.
  const replayed = await request(
    app.port,
    'POST',
    '/echo',
    { ...negotiateHeader(token), 'Content-Type': 'text/plain' },
    'twice',
  );
  assert.equal(replayed.status, 401, replayed.body);
  assert.match(String(replayed.headers['www-authenticate']), /^Negotiate/);
  const garbage = await request(app.port, 'GET', '/whoami', negotiateHeader(randomBytes(64)));
  assert.equal(garbage.status, 401, garbage.body);
  assert.equal(app.calls.length, calls, `reached a route: ${app.calls.slice(calls).join(', ')}`);
});

test('registered in a child context, the plugin protects that context only', T, async () => {
  const a = await startApp(async (f, calls) => {
    f.get('/public', (request) => {
      calls.push('GET /public');
      return Promise.resolve(who(request.negotiate));
    });
    await f.register(
      async (child) => {
        await child.register(negotiate, { authenticator: shared });
        routes(child, calls);
      },
      { prefix: '/private' },
    );
  });
  const open = await request(a.port, 'GET', '/public');
  assert.equal(open.status, 200, open.body);
  assert.deepEqual(JSON.parse(open.body), { principal: null });
  const closed = await request(a.port, 'GET', '/private/whoami');
  assert.equal(closed.status, 401);
  assert.deepEqual(a.calls, ['GET /public']);
  const r = await request(a.port, 'GET', '/private/whoami', negotiateHeader(nextToken()));
  assert.equal(r.status, 200, r.body);
  assert.equal((JSON.parse(r.body) as { principal: string }).principal, realm.userPrincipal);
});

test('two apps share one authenticator; closing one app leaves the shared authenticator open', T, async () => {
  const sessions: AdapterIdentity[] = [];
  const onSession = (s: AdapterIdentity): number => sessions.push(s);
  shared.on('session', onSession);
  try {
    const other = await protectedApp({ authenticator: shared });
    const third = await protectedApp({ authenticator: shared });
    for (const a of [app, other]) {
      const r = await request(a.port, 'GET', '/whoami', negotiateHeader(nextToken()));
      assert.equal(r.status, 200, r.body);
      assert.equal((JSON.parse(r.body) as { principal: string }).principal, realm.userPrincipal);
    }
    assert.equal(sessions.length, 2, 'both handshakes ran on the shared authenticator');
    await other.fastify.close();
    const after = await request(third.port, 'GET', '/whoami', negotiateHeader(nextToken()));
    assert.equal(after.status, 200, 'the shared authenticator was closed by an app that does not own it');
  } finally {
    shared.off('session', onSession);
  }
});

test("options make the plugin an authenticator of its own; a bad keytab fails the app's start", T, async () => {
  const own = await protectedApp({ pool });
  const r = await request(own.port, 'GET', '/whoami', negotiateHeader(nextToken()));
  assert.equal(r.status, 200, r.body);

  const f = Fastify();
  await assert.rejects(
    async () => {
      await f.register(negotiate, {
        credentials: { keytab: `${realm.dir}/no-such.keytab` },
        poolOptions: { workers: 1 },
      });
      await f.ready();
    },
    { code: 'ERR_KEYTAB_UNREADABLE' },
  );
  await f.close();
});
