/**
 * Basic authentication through the framework wrappers (negotiate-server/express and /fastify)
 * over HTTPS: the wrapper passes the adapter's Basic outcome on unchanged — a right password lets
 * the request through as its user (mech basic), a wrong one and a malformed header are answered
 * by the wrapper (401 with both challenges, Negotiate first; 400) and never reach the route.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { NegotiateAuthenticator } from '../../src/adapter/index.js';
import { BasicAuth } from '../../src/basic/BasicAuth.js';
import { PasswordVerifier } from '../../src/basic/PasswordVerifier.js';
import { negotiate as expressNegotiate } from '../../src/express/index.js';
import { negotiate as fastifyNegotiate } from '../../src/fastify/index.js';
import { startTestRealm } from '../support/realm.js';
import { getChallenges, type ChallengeAnswer } from '../support/httpGet.js';
import { useRealm } from '../support/server.js';
import { selfSignedCertificate, type TestCertificate } from '../support/tlsFiles.js';

const T = { timeout: 60_000 };
const BOTH = ['Negotiate', 'Basic realm="Example", charset="UTF-8"'];
let realm: ThrowawayRealm;
let cert: TestCertificate;
let basic: BasicAuth;
let auth: NegotiateAuthenticator;

const basicHeader = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const get = (port: number, authorization?: string): Promise<ChallengeAnswer> =>
  getChallenges(`https://localhost:${port}/me`, authorization, readFileSync(cert.certFile));

before(async () => {
  realm = await startTestRealm();
  useRealm(realm);
  cert = await selfSignedCertificate('localhost');
  basic = new BasicAuth({ realm: 'Example', verifier: new PasswordVerifier({ keytab: realm.keytab }) });
  auth = await NegotiateAuthenticator.create({ credentials: { keytab: realm.keytab }, basicAuth: basic });
});

after(async () => {
  await auth?.close();
  await basic?.close();
  await realm?.destroy();
  await cert?.remove();
});

/** What every wrapper must do with Basic; `reached` counts the route's calls. */
async function checkBasic(port: number, reached: () => number): Promise<void> {
  const ok = await get(port, basicHeader(realm.user, realm.password));
  assert.equal(ok.status, 200, ok.body);
  assert.deepEqual(JSON.parse(ok.body), { principal: realm.userPrincipal, mech: 'basic' });
  assert.equal(reached(), 1);

  const wrong = await get(port, basicHeader(realm.user, 'wrong-password'));
  assert.equal(wrong.status, 401);
  assert.deepEqual(wrong.challenges, BOTH);
  const malformed = await get(port, `Basic ${Buffer.from('no-colon-here').toString('base64')}`);
  assert.equal(malformed.status, 400, malformed.body);
  const bare = await get(port);
  assert.equal(bare.status, 401);
  assert.deepEqual(bare.challenges, BOTH);
  assert.equal(reached(), 1, 'a refused request reached the route');
}

test('Express over HTTPS: Basic lets the right password in as its user, refuses the rest', T, async () => {
  let reached = 0;
  const app = express();
  app.use(expressNegotiate(auth));
  app.get('/me', (req, res) => {
    reached++;
    res.json({ principal: req.negotiate?.principal, mech: req.negotiate?.mech });
  });
  const server = https.createServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await checkBasic((server.address() as AddressInfo).port, () => reached);
  } finally {
    server.close();
  }
});

test('Fastify over HTTPS: Basic lets the right password in as its user, refuses the rest', T, async () => {
  let reached = 0;
  const f = Fastify({ https: { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) } });
  await f.register(fastifyNegotiate, { authenticator: auth });
  f.get('/me', (request, reply) => {
    reached++;
    void reply.send({ principal: request.negotiate?.principal, mech: request.negotiate?.mech });
  });
  await f.listen({ port: 0, host: '127.0.0.1' });
  try {
    await checkBasic((f.server.address() as AddressInfo).port, () => reached);
  } finally {
    await f.close();
  }
});
