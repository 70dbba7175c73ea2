/**
 * The framework wrappers over HTTPS (issue 12: "an Express app and a Fastify app on the adapter
 * (HTTP and HTTPS)"): a real Express app on node:https and a real Fastify app with its `https`
 * option, each behind its wrapper with the default channel-binding policy (when-supported).
 * python3-gssapi over TLS: bound to the served certificate → 200, mutual token verified,
 * `flags.channelBound`; bound to another certificate → 401 ERR_CHANNEL_BINDING_MISMATCH and the
 * route never runs; no binding → 200, unbound.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';

import { AuthPool } from '../../src/pool/AuthPool.js';
import { NegotiateAuthenticator, type AdapterIdentity } from '../../src/adapter/index.js';
import { negotiate as expressNegotiate } from '../../src/express/index.js';
import { negotiate as fastifyNegotiate } from '../../src/fastify/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, useRealm } from '../support/server.js';
import { pythonNegotiate } from '../support/negotiateClients.js';
import { selfSignedCertificate, type TestCertificate } from '../support/tlsFiles.js';

const T = { timeout: 60_000 };

let realm: ThrowawayRealm;
let cert: TestCertificate;
let pool: AuthPool;
let auth: NegotiateAuthenticator;
let expressServer: https.Server;
let fastify: FastifyInstance;
const ports: Record<'express' | 'fastify', number> = { express: 0, fastify: 0 };
const calls: Record<'express' | 'fastify', number> = { express: 0, fastify: 0 };

function who(identity: AdapterIdentity | null | undefined): Record<string, unknown> {
  return { principal: identity?.principal ?? null, channelBound: identity?.flags.channelBound ?? null };
}

before(async () => {
  requirePythonGssapi();
  requireTool('openssl', 'openssl');
  realm = await startTestRealm();
  useRealm(realm);
  cert = await selfSignedCertificate('localhost');
  const tls = { cert: await readFile(cert.certFile), key: await readFile(cert.keyFile) };
  pool = await AuthPool.start({ credentials: { keytab: realm.keytab }, workers: 2 });
  auth = await NegotiateAuthenticator.create({ pool });

  const app = express();
  app.use(expressNegotiate(auth));
  app.get('/whoami', (req, res) => {
    calls.express++;
    res.json(who(req.negotiate));
  });
  expressServer = https.createServer(tls, app);
  await new Promise<void>((resolve) => expressServer.listen(0, '127.0.0.1', resolve));
  const a = expressServer.address();
  assert.ok(a !== null && typeof a === 'object');
  ports.express = a.port;

  fastify = Fastify({ https: tls });
  await fastify.register(fastifyNegotiate, { authenticator: auth });
  fastify.get('/whoami', (request) => {
    calls.fastify++;
    return Promise.resolve(who(request.negotiate));
  });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const f = fastify.server.address();
  assert.ok(f !== null && typeof f === 'object');
  ports.fastify = f.port;
});

after(async () => {
  await fastify?.close();
  await new Promise<void>((resolve) => (expressServer ? expressServer.close(() => resolve()) : resolve()));
  await auth?.close();
  await pool?.close();
  await realm?.destroy();
  await cert?.remove();
});

for (const framework of ['express', 'fastify'] as const) {
  test(`${framework} over HTTPS: bound to the served certificate, 200 with the mutual token verified`, T, async () => {
    const r = await pythonNegotiate(realm, ports[framework], '/whoami', undefined, {
      https: { channelBinding: 'right' },
    });
    assert.equal(r.code, 0, JSON.stringify(r));
    assert.equal(r.status, 200);
    assert.equal(r.mutual, true);
    assert.deepEqual(r.body, { principal: realm.userPrincipal, channelBound: true });
  });

  test(`${framework} over HTTPS: a binding for another certificate is refused before the route`, T, async () => {
    const before = calls[framework];
    const r = await pythonNegotiate(realm, ports[framework], '/whoami', undefined, {
      https: { channelBinding: 'wrong' },
    });
    assert.equal(r.status, 401, JSON.stringify(r));
    assert.match(JSON.stringify(r.body), /ERR_CHANNEL_BINDING_MISMATCH/);
    assert.equal(calls[framework], before, 'the route never ran');
  });

  test(`${framework} over HTTPS: a client that binds nothing is let in unbound (when-supported)`, T, async () => {
    const r = await pythonNegotiate(realm, ports[framework], '/whoami', undefined, {
      https: { channelBinding: 'none' },
    });
    assert.equal(r.code, 0, JSON.stringify(r));
    assert.deepEqual(r.body, { principal: realm.userPrincipal, channelBound: false });
  });
}
