/**
 * Authorization on the Fastify plugin (negotiate-server/fastify), against the MIT realm with
 * real clients: the operator's rules (allowPrincipals) letting alice in and refusing her, the
 * refusal a 403 that still carries the mutual token (python3-gssapi verifies it), with the
 * authenticator's `authorizationRefused` event naming the rule; the authorize hook refusing
 * (false, a status of its own), failing (500) and enriching (`request.negotiate.extra` in the
 * route). A refused client never reaches a route.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';

import { NegotiateAuthenticator, type NegotiateAuthenticatorOptions } from '../../src/adapter/index.js';
import type { AuthorizeResult } from '../../src/authorization/index.js';
import type { AuthorizationRefusal } from '../../src/handshake/index.js';
import { negotiate } from '../../src/fastify/index.js';
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

/** A Fastify app with the plugin on an authenticator of `options` (on the shared pool) and GET /whoami. */
async function startApp(options: Omit<NegotiateAuthenticatorOptions, 'pool'>): Promise<App> {
  const authenticator = await NegotiateAuthenticator.create({ pool, ...options });
  const refusals: AuthorizationRefusal[] = [];
  authenticator.on('authorizationRefused', (r: AuthorizationRefusal) => refusals.push(r));
  const f: FastifyInstance = Fastify();
  const calls: string[] = [];
  await f.register(negotiate, { authenticator });
  f.get('/whoami', (req) => {
    calls.push('GET /whoami');
    return Promise.resolve({ principal: req.negotiate?.principal, extra: req.negotiate?.extra ?? null });
  });
  await f.listen({ port: 0, host: '127.0.0.1' });
  cleanup.push(
    () => f.close(),
    () => authenticator.close(),
  );
  const address = f.server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { port: address.port, calls, refusals };
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
  assert.deepEqual(ok.body, { principal: realm.userPrincipal, extra: null });

  const refused = await startApp({ authorization: { allowPrincipals: [`bob@${realm.realmName}`] } });
  const r = await pythonNegotiate(realm, refused.port, '/whoami', undefined, { expectStatus: 403 });
  assert.equal(r.code, 0, `403 whose final token completes a mutual context: ${JSON.stringify(r)}`);
  assert.deepEqual(refused.calls, [], 'a refused client never reaches a route');
  assert.equal(refused.refusals.length, 1);
  assert.equal(refused.refusals[0]?.rule, 'allow-principal');
  assert.equal(refused.refusals[0]?.principal, realm.userPrincipal);
});

test('the authorize hook refuses (false, its own status), fails (500) and enriches the route', T, async () => {
  let answer: () => AuthorizeResult | Promise<AuthorizeResult> = () => false;
  const a = await startApp({ authorize: () => answer() });

  const forbidden = await pythonNegotiate(realm, a.port, '/whoami', undefined, { expectStatus: 403 });
  assert.equal(forbidden.code, 0, JSON.stringify(forbidden));

  answer = () => ({ status: 451, reason: 'account suspended' });
  const own = await request(a.port, 'GET', '/whoami', negotiateHeader(nextToken()));
  assert.equal(own.status, 451);
  assert.equal(own.body, 'account suspended\n');
  assert.match(String(own.headers['www-authenticate']), /^Negotiate [A-Za-z0-9+/]+=*$/, 'the mutual token');

  answer = () => Promise.reject(new Error('directory down'));
  const failed = await request(a.port, 'GET', '/whoami', negotiateHeader(nextToken()));
  assert.equal(failed.status, 500);
  assert.deepEqual(a.calls, [], 'no refused or failed client reached the route');
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
  assert.deepEqual(JSON.parse(ok.body), { principal: realm.userPrincipal, extra: { team: 'blue' } });
  assert.deepEqual(a.calls, ['GET /whoami']);
});
