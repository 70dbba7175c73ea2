/**
 * Basic authentication on the adapter (`basicAuth`) and the `node` HTTP engine built on it:
 * over node:https a right password is let in (mech basic) and a wrong one gets 401 with both
 * challenges, Negotiate first; on a plain node:http socket Basic is neither offered nor accepted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { NegotiateAuthenticator } from '../../src/adapter/index.js';
import { BasicAuth } from '../../src/basic/BasicAuth.js';
import { PasswordVerifier } from '../../src/basic/PasswordVerifier.js';
import { startTestRealm } from '../support/realm.js';
import { getChallenges, type ChallengeAnswer } from '../support/httpGet.js';
import { startTestServer, useRealm, type TestServer } from '../support/server.js';
import { selfSignedCertificate, type TestCertificate } from '../support/tlsFiles.js';

const T = { timeout: 60_000 };
let realm: ThrowawayRealm;
let cert: TestCertificate;
let ts: TestServer;

function basicHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** One GET over `https` (trusting the test certificate) or plain `http`. */
const get = (url: string, authorization?: string): Promise<ChallengeAnswer> =>
  getChallenges(url, authorization, readFileSync(cert.certFile));

before(async () => {
  realm = await startTestRealm();
  cert = await selfSignedCertificate('localhost');
  ts = await startTestServer(realm, {
    sspi: undefined,
    gssSample: undefined,
    http: { host: '127.0.0.1', port: 0 },
    httpEngine: 'node',
    httpTls: { certFile: cert.certFile, keyFile: cert.keyFile },
    basicAuth: { realm: 'Example' },
  });
});

after(async () => {
  await ts?.server.close(0);
  await realm?.destroy();
  await cert?.remove();
});

test('node engine over HTTPS: both challenges in order; a right password 200, a wrong one 401', T, async () => {
  const url = `https://localhost:${ts.httpPort}/whoami`;
  const bare = await get(url);
  assert.equal(bare.status, 401);
  assert.deepEqual(bare.challenges, ['Negotiate', 'Basic realm="Example", charset="UTF-8"']);
  const ok = await get(url, basicHeader(realm.user, realm.password));
  assert.equal(ok.status, 200, ok.body);
  const who = JSON.parse(ok.body) as { principal: string; mech: string; via: string };
  assert.deepEqual([who.principal, who.mech, who.via], [realm.userPrincipal, 'basic', 'basic']);
  const wrong = await get(url, basicHeader(realm.user, 'wrong-password'));
  assert.equal(wrong.status, 401);
  assert.deepEqual(wrong.challenges, ['Negotiate', 'Basic realm="Example", charset="UTF-8"']);
});

test('the adapter on plain node:http: Basic is not offered, and a Basic credential is refused', T, async () => {
  useRealm(realm);
  const basic = new BasicAuth({ realm: 'Example', verifier: new PasswordVerifier({ keytab: realm.keytab }) });
  const auth = await NegotiateAuthenticator.create({ credentials: { keytab: realm.keytab }, basicAuth: basic });
  const server = http.createServer((req, res) => {
    void auth.authenticate(req, res).then((outcome) => {
      auth.apply(outcome, res);
      if (outcome.kind === 'authenticated') res.end('in\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const bare = await get(url);
    assert.equal(bare.status, 401);
    assert.deepEqual(bare.challenges, ['Negotiate']);
    const refused = await get(url, basicHeader(realm.user, realm.password));
    assert.equal(refused.status, 401);
    assert.match(refused.body, /plain HTTP are refused/);
    assert.equal(basic.verifier.checks, 0, 'a password sent in clear was checked with the KDC');
  } finally {
    server.close();
    await auth.close();
    await basic.close();
  }
});

test('NodeHttpAcceptor and the uWS HttpAcceptor refuse Basic without TLS', async () => {
  const { NodeHttpAcceptor } = await import('../../src/acceptors/NodeHttpAcceptor.js');
  const { HttpAcceptor } = await import('../../src/acceptors/HttpAcceptor.js');
  const basic = new BasicAuth({ realm: 'Example', verifier: new PasswordVerifier() });
  try {
    assert.throws(() => new NodeHttpAcceptor({ pool: ts.server.pool, basicAuth: basic }), /over TLS only/);
    assert.throws(() => new HttpAcceptor({ pool: ts.server.pool, basicAuth: basic }), /over TLS only/);
  } finally {
    await basic.close();
  }
});
