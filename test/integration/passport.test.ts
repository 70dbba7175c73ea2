/**
 * negotiate-server/passport: the `negotiate` strategy in a real Express app with passport (on
 * node:http), against real clients (curl --negotiate, python3-gssapi verifying the
 * mutual-authentication token, headless Chromium); a POST body reaches the route intact after
 * the handshake; requests without or with refused credentials never reach a route; passport
 * merges the challenge with other strategies'; the verify callback; two apps share one
 * authenticator.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import express from 'express';
import passport from 'passport';
import { Strategy } from 'passport-strategy';
import type { Browser } from 'playwright-core';

import { NegotiateAuthenticator, type AdapterIdentity } from '../../src/adapter/index.js';
import { NegotiateStrategy } from '../../src/passport/index.js';
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
  /** Errors passport passed to next(err). */
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

/** A stand-in for another strategy of the app: it always fails with its own challenge. */
class BasicChallenge extends Strategy {
  name = 'basic-challenge';
  override authenticate(): void {
    this.fail('Basic realm="test"', 401);
  }
}

/**
 * GET /whoami, POST /echo (express.text behind passport) and GET /either (negotiate, then the
 * Basic stand-in), each behind passport.authenticate without sessions.
 */
async function startApp(strategy: NegotiateStrategy): Promise<App> {
  const p = new passport.Passport();
  p.use(strategy);
  p.use(new BasicChallenge());
  const e = express();
  const calls: string[] = [];
  const errors: unknown[] = [];
  e.use(p.initialize());
  // @types/passport types authenticate()'s middleware as any.
  const authenticate = (names: string | string[]): express.RequestHandler =>
    p.authenticate(names, { session: false }) as express.RequestHandler;
  const reply = (req: express.Request): Record<string, unknown> => ({ ...who(req.negotiate), user: req.user });
  e.get('/whoami', authenticate('negotiate'), (req, res) => {
    calls.push('GET /whoami');
    res.json(reply(req));
  });
  e.post('/echo', authenticate('negotiate'), express.text({ type: '*/*', limit: '1mb' }), (req, res) => {
    calls.push('POST /echo');
    const body: unknown = req.body;
    res.json({ ...reply(req), body: typeof body === 'string' ? body : null });
  });
  e.get('/either', authenticate(['negotiate', 'basic-challenge']), (req, res) => {
    calls.push('GET /either');
    res.json(reply(req));
  });
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
  app = await startApp(new NegotiateStrategy(shared));
  tokens.push(...(await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 10)));
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

test('the strategy is named negotiate', () => {
  assert.equal(new NegotiateStrategy(shared).name, 'negotiate');
});

test('a request without credentials gets the 401 challenge and never reaches a route', T, async () => {
  for (const [method, path, body] of [
    ['GET', '/whoami', undefined],
    ['POST', '/echo', BODY],
  ] as const) {
    const r = await request(app.port, method, path, { 'Content-Type': 'text/plain' }, body);
    assert.equal(r.status, 401, `${method} ${path}`);
    assert.equal(r.headers['www-authenticate'], 'Negotiate');
  }
  assert.deepEqual(app.calls, []);
});

test("passport sends the Negotiate challenge beside another strategy's", T, async () => {
  const r = await request(app.port, 'GET', '/either');
  assert.equal(r.status, 401);
  // node joins repeated header lines with ', ' in IncomingMessage.headers.
  assert.equal(r.headers['www-authenticate'], 'Negotiate, Basic realm="test"');
  const ok = await request(app.port, 'GET', '/either', negotiateHeader(nextToken()));
  assert.equal(ok.status, 200, ok.body);
  assert.deepEqual(app.calls, ['GET /either']);
});

test(
  'curl --negotiate: a GET, and a POST whose body reaches the route intact; the mutual token on both',
  T,
  async () => {
    const get = await curlNegotiate(realm, app.port, '/whoami');
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.status, 200, get.stderr);
    const got = JSON.parse(get.body) as Record<string, unknown> & { user: { principal: string; frontend: string } };
    assert.equal(got['principal'], realm.userPrincipal);
    assert.equal(got['mutual'], true);
    assert.equal(got.user.principal, realm.userPrincipal, 'without verify, req.user is the identity');
    assert.equal(got.user.frontend, 'adapter');
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
  assert.equal((post.body as { principal: string; body: string }).principal, realm.userPrincipal);
  assert.equal((post.body as { principal: string; body: string }).body, BODY);
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
  const first = await request(app.port, 'POST', '/echo', { ...negotiateHeader(token) }, 'once');
  assert.equal(first.status, 200, first.body);
  const calls = app.calls.length;

  // The same authenticator again: the replay cache refuses it.
  const replayed = await request(app.port, 'POST', '/echo', { ...negotiateHeader(token) }, 'twice');
  assert.equal(replayed.status, 401, replayed.body);
  assert.equal(replayed.headers['www-authenticate'], 'Negotiate');
  const garbage = await request(app.port, 'GET', '/whoami', negotiateHeader(randomBytes(64)));
  assert.equal(garbage.status, 401, garbage.body);
  assert.equal(app.calls.length, calls, `reached a route: ${app.calls.slice(calls).join(', ')}`);
});

test(
  'verify maps the identity to the user; false answers 403, an error 500, and neither reaches a route',
  T,
  async () => {
    const seen: string[] = [];
    let decision: 'user' | 'none' | 'error' = 'user';
    const a = await startApp(
      new NegotiateStrategy({ authenticator: shared }, (identity, done) => {
        seen.push(identity.principal);
        if (decision === 'error') done(new Error('directory down'));
        else if (decision === 'none') done(null, false);
        else done(null, { name: identity.principal.split('@')[0] });
      }),
    );
    const ok = await request(a.port, 'GET', '/whoami', negotiateHeader(nextToken()));
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual((JSON.parse(ok.body) as { user: unknown }).user, { name: 'alice' });
    // The mutual-authentication token went out with the verified user's response.
    assert.match(String(ok.headers['www-authenticate']), /^Negotiate [A-Za-z0-9+/]+=*$/);

    decision = 'none';
    const forbidden = await request(a.port, 'GET', '/whoami', negotiateHeader(nextToken()));
    assert.equal(forbidden.status, 403);
    decision = 'error';
    const failed = await request(a.port, 'GET', '/whoami', negotiateHeader(nextToken()));
    assert.equal(failed.status, 500);
    assert.equal((a.errors[0] as Error | undefined)?.message, 'directory down');
    assert.deepEqual(a.calls, ['GET /whoami']);
    assert.deepEqual(seen, [realm.userPrincipal, realm.userPrincipal, realm.userPrincipal]);
  },
);

test('two apps share one authenticator; closing one strategy leaves the shared authenticator open', T, async () => {
  const sessions: AdapterIdentity[] = [];
  const onSession = (s: AdapterIdentity): number => sessions.push(s);
  shared.on('session', onSession);
  try {
    const strategy = new NegotiateStrategy({ authenticator: shared });
    const other = await startApp(strategy);
    for (const a of [app, other]) {
      const r = await request(a.port, 'GET', '/whoami', negotiateHeader(nextToken()));
      assert.equal(r.status, 200, r.body);
      assert.equal((JSON.parse(r.body) as { principal: string }).principal, realm.userPrincipal);
    }
    assert.equal(sessions.length, 2, 'both handshakes ran on the shared authenticator');
    await strategy.close();
    const after = await request(other.port, 'GET', '/whoami', negotiateHeader(nextToken()));
    assert.equal(after.status, 200, 'the shared authenticator was closed by a strategy that does not own it');
  } finally {
    shared.off('session', onSession);
  }
});
