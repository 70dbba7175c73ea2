/**
 * Authorization on the passport strategy (negotiate-server/passport) in a real Express app,
 * against the MIT realm with real clients: the operator's rules (allowPrincipals) letting alice
 * in and refusing her, the refusal a 403 that still carries the mutual token (python3-gssapi
 * verifies it; passport adds no challenge to it), with the authenticator's `authorizationRefused`
 * event naming the rule; the authorize hook refusing (false, a status of its own: passport sends
 * the status with its text), failing (500) and enriching (`req.negotiate.extra`, and `req.user`
 * is the enriched identity). A refused client never reaches a route, nor the verify callback.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import express from 'express';
import passport from 'passport';

import { NegotiateAuthenticator, type NegotiateAuthenticatorOptions } from '../../src/adapter/index.js';
import type { AuthorizeResult } from '../../src/authorization/index.js';
import type { AuthorizationRefusal } from '../../src/handshake/index.js';
import { NegotiateStrategy } from '../../src/passport/index.js';
import { AuthPool } from '../../src/pool/AuthPool.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, useRealm } from '../support/server.js';
import { firstTokens } from '../support/initiator.js';
import { negotiateHeader, pythonNegotiate, request } from '../support/negotiateClients.js';

const T = { timeout: 60_000 };

interface App {
  port: number;
  calls: string[];
  verified: string[];
  refusals: AuthorizationRefusal[];
}

let realm: ThrowawayRealm;
let pool: AuthPool;
const tokens: Buffer[] = [];
const cleanup: Array<() => Promise<unknown>> = [];

function nextToken(): Buffer {
  const t = tokens.shift();
  assert.ok(t, 'ran out of pre-made tokens: raise the count in before()');
  return t;
}

/** Express + passport with the strategy on an authenticator of `options` (on the shared pool), GET /whoami. */
async function startApp(options: Omit<NegotiateAuthenticatorOptions, 'pool'>): Promise<App> {
  const authenticator = await NegotiateAuthenticator.create({ pool, ...options });
  const app: App = { port: 0, calls: [], verified: [], refusals: [] };
  authenticator.on('authorizationRefused', (r: AuthorizationRefusal) => app.refusals.push(r));
  const p = new passport.Passport();
  p.use(
    new NegotiateStrategy({ authenticator }, (identity, done) => {
      app.verified.push(identity.principal);
      done(null, identity);
    }),
  );
  const e = express();
  e.use(p.initialize());
  e.get('/whoami', p.authenticate('negotiate', { session: false }) as express.RequestHandler, (req, res) => {
    app.calls.push('GET /whoami');
    res.json({ principal: req.negotiate?.principal, extra: req.negotiate?.extra ?? null, user: req.user });
  });
  const server = http.createServer(e);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () => new Promise((resolve) => server.close(resolve)),
    () => authenticator.close(),
  );
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  app.port = address.port;
  return app;
}

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  useRealm(realm);
  pool = await AuthPool.start({ credentials: { keytab: realm.keytab }, workers: 2 });
  tokens.push(...(await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost' }, 8)));
});

after(async () => {
  for (const c of cleanup.reverse()) await c();
  await pool?.close();
  await realm?.destroy();
});

test('allowPrincipals: alice listed is let in; unlisted, a 403 with the mutual token and no route', T, async () => {
  const allowed = await startApp({ authorization: { allowPrincipals: [realm.userPrincipal] } });
  const ok = await pythonNegotiate(realm, allowed.port, '/whoami');
  assert.equal(ok.code, 0, JSON.stringify(ok));
  assert.equal((ok.body as { principal: string }).principal, realm.userPrincipal);

  const refused = await startApp({ authorization: { allowPrincipals: [`bob@${realm.realmName}`] } });
  const r = await pythonNegotiate(realm, refused.port, '/whoami', undefined, { expectStatus: 403 });
  assert.equal(r.code, 0, `403 whose final token completes a mutual context: ${JSON.stringify(r)}`);
  assert.deepEqual(refused.calls, [], 'a refused client never reaches a route');
  assert.deepEqual(refused.verified, [], 'nor the verify callback');
  assert.equal(refused.refusals.length, 1);
  assert.equal(refused.refusals[0]?.rule, 'allow-principal');
});

test('the authorize hook refuses (false, its own status), fails (500) and enriches req.negotiate', T, async () => {
  let answer: () => AuthorizeResult | Promise<AuthorizeResult> = () => false;
  const a = await startApp({ authorize: () => answer() });

  const forbidden = await pythonNegotiate(realm, a.port, '/whoami', undefined, { expectStatus: 403 });
  assert.equal(forbidden.code, 0, JSON.stringify(forbidden));

  answer = () => ({ status: 451, reason: 'account suspended' });
  const own = await request(a.port, 'GET', '/whoami', negotiateHeader(nextToken()));
  assert.equal(own.status, 451);
  // passport answers a failure with the status text; no Basic/Negotiate challenge is added.
  assert.match(String(own.headers['www-authenticate']), /^Negotiate [A-Za-z0-9+/]+=*$/, 'the mutual token');

  answer = () => Promise.reject(new Error('directory down'));
  const failed = await request(a.port, 'GET', '/whoami', negotiateHeader(nextToken()));
  assert.equal(failed.status, 500);
  assert.deepEqual(a.calls, [], 'no refused or failed client reached the route');
  assert.deepEqual(a.verified, []);
  assert.deepEqual(
    a.refusals.map((r) => [r.rule, r.status]),
    [
      ['hook', 403],
      ['hook', 451],
      ['hook', 500],
    ],
  );

  answer = () => ({ extra: { team: 'blue' } });
  const ok = await request(a.port, 'GET', '/whoami', negotiateHeader(nextToken()));
  assert.equal(ok.status, 200, ok.body);
  const body = JSON.parse(ok.body) as { principal: string; extra: unknown; user: { extra?: unknown } };
  assert.equal(body.principal, realm.userPrincipal);
  assert.deepEqual(body.extra, { team: 'blue' });
  assert.deepEqual(body.user.extra, { team: 'blue' }, 'verify was given the enriched identity');
  assert.deepEqual(a.calls, ['GET /whoami']);
});
