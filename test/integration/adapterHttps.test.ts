/**
 * The adapter on node:https and channel binding (Extended Protection): a plain node:https server
 * protected by NegotiateAuthenticator, against python3-gssapi over TLS with bindings for the
 * served certificate, for another one, and none, under each policy; with `ntlm: true` (every leg
 * through the connection-bound path); on plain HTTP under `required`; with an Ed25519
 * certificate (no RFC 5929 binding); and across a certificate swap with setSecureContext, which
 * the adapter must follow without being told.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import https from 'node:https';
import tls from 'node:tls';
import { tlsServerEndPoint } from '../../src/tls/channelBindings.js';
import { AuthPool, NegotiateAuthenticator, type NegotiateAuthenticatorOptions } from '../../src/adapter/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm } from '../support/realm.js';
import { PYTHON, requirePythonGssapi, runClient, useRealm } from '../support/server.js';
import { FIXTURES, firstTokens } from '../support/initiator.js';
import { startAdapterServer, type AdapterServer } from '../support/adapterServer.js';
import { selfSignedCertificate, type TestCertificate } from '../support/tlsFiles.js';

const HTTP_CLIENT = path.join(FIXTURES, 'http_client.py');
const T = { timeout: 60_000 };

let realm: ThrowawayRealm;
let pool: AuthPool;
const certs: TestCertificate[] = [];
const servers: AdapterServer[] = [];
const authenticators: NegotiateAuthenticator[] = [];

interface ClientResult {
  status?: number;
  mutual?: boolean;
  body?: { principal?: string; flags?: { channelBound?: boolean } } | string;
  error?: string;
}

async function certificate(key?: 'ec' | 'ed25519'): Promise<{ cert: Buffer; key: Buffer; der: Buffer }> {
  const c = await selfSignedCertificate('localhost', key === undefined ? {} : { key });
  certs.push(c);
  return { cert: await readFile(c.certFile), key: await readFile(c.keyFile), der: c.der };
}

async function serve(
  options: Omit<NegotiateAuthenticatorOptions, 'pool'>,
  pem: { cert: Buffer; key: Buffer } | undefined,
): Promise<AdapterServer> {
  const auth = new NegotiateAuthenticator({ pool, ...options });
  authenticators.push(auth);
  const s = await startAdapterServer(auth, pem);
  servers.push(s);
  return s;
}

async function python(
  s: AdapterServer,
  binding: 'right' | 'wrong' | 'none',
  scheme = 'https',
): Promise<{ code: number | null; out: ClientResult }> {
  const url = `${scheme}://localhost:${s.port}/whoami`;
  const args = [HTTP_CLIENT, url, '--channel-binding', binding, ...(scheme === 'https' ? ['--insecure'] : [])];
  const run = await runClient(PYTHON, args, realm);
  return { code: run.code, out: JSON.parse(run.stdout.trim() || '{}') as ClientResult };
}

function channelBound(out: ClientResult): boolean | undefined {
  return typeof out.body === 'object' ? out.body.flags?.channelBound : undefined;
}

/** The DER of the certificate a new TLS connection to `s` is served. */
function servedDer(s: AdapterServer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port: s.port, servername: 'localhost', rejectUnauthorized: false },
      () => {
        resolve(socket.getPeerCertificate().raw);
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

/** The status of one GET /whoami on a new TLS connection, with `token` in Authorization. */
function httpsStatus(s: AdapterServer, token: Buffer): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port: s.port,
        path: '/whoami',
        servername: 'localhost',
        rejectUnauthorized: false,
        agent: false,
        headers: { Authorization: `Negotiate ${token.toString('base64')}` },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', reject);
  });
}

let rsa: { cert: Buffer; key: Buffer; der: Buffer };
let whenSupported: AdapterServer;
let required: AdapterServer;
let off: AdapterServer;
let ntlm: AdapterServer;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  useRealm(realm);
  pool = await AuthPool.start({ credentials: { keytab: realm.keytab, ntlm: true }, workers: 2 });
  rsa = await certificate();
  whenSupported = await serve({}, rsa);
  required = await serve({ channelBinding: 'required' }, rsa);
  off = await serve({ channelBinding: 'off' }, rsa);
  ntlm = await serve({ ntlm: true, channelBinding: 'required' }, rsa);
});

after(async () => {
  for (const s of servers) await s.close();
  for (const a of authenticators) await a.close();
  await pool?.close();
  await realm?.destroy();
  for (const c of certs) await c.remove();
});

test('bound to the served certificate: 200, mutual token verified, flags.channelBound', T, async () => {
  for (const s of [whenSupported, required, ntlm]) {
    const { code, out } = await python(s, 'right');
    assert.equal(code, 0, JSON.stringify(out));
    assert.equal(out.status, 200);
    assert.equal(out.mutual, true, 'the client verified the AP-REP in the final WWW-Authenticate');
    assert.ok(typeof out.body === 'object');
    assert.equal(out.body.principal, realm.userPrincipal);
    assert.equal(channelBound(out), true);
    assert.equal(s.sessions.at(-1)?.flags.channelBound, true);
  }
});

test('bound to another certificate: 401 ERR_CHANNEL_BINDING_MISMATCH, under when-supported too', T, async () => {
  for (const s of [whenSupported, required, ntlm]) {
    s.failures.length = 0;
    const { code, out } = await python(s, 'wrong');
    assert.equal(code, 2, JSON.stringify(out));
    assert.equal(out.status, 401);
    assert.match(JSON.stringify(out.body), /ERR_CHANNEL_BINDING_MISMATCH/);
    assert.equal(s.failures[0]?.code, 'ERR_CHANNEL_BINDING_MISMATCH');
  }
});

test('no bindings: allowed (not bound) under when-supported, refused under required', T, async () => {
  const allowed = await python(whenSupported, 'none');
  assert.equal(allowed.code, 0, JSON.stringify(allowed.out));
  assert.equal(channelBound(allowed.out), false);
  for (const s of [required, ntlm]) {
    s.failures.length = 0;
    const refused = await python(s, 'none');
    assert.equal(refused.out.status, 401, JSON.stringify(refused.out));
    assert.match(JSON.stringify(refused.out.body), /ERR_CHANNEL_BINDING_REQUIRED/);
    assert.equal(s.failures[0]?.code, 'ERR_CHANNEL_BINDING_REQUIRED');
  }
});

test('off: bindings for another certificate are not checked', T, async () => {
  const { code, out } = await python(off, 'wrong');
  assert.equal(code, 0, JSON.stringify(out));
  assert.equal(channelBound(out), false);
});

test('plain HTTP: nothing to bind; required refuses, when-supported allows', T, async () => {
  const plainRequired = await serve({ channelBinding: 'required' }, undefined);
  const refused = await python(plainRequired, 'none', 'http');
  assert.equal(refused.out.status, 401, JSON.stringify(refused.out));
  assert.match(JSON.stringify(refused.out.body), /ERR_CHANNEL_BINDING_REQUIRED/);
  assert.match(plainRequired.failures[0]?.message ?? '', /no TLS channel to bind/);
  const plain = await serve({}, undefined);
  const allowed = await python(plain, 'none', 'http');
  assert.equal(allowed.code, 0, JSON.stringify(allowed.out));
  assert.equal(channelBound(allowed.out), false);
});

test('an Ed25519 certificate (no RFC 5929 binding): required refuses, when-supported allows unbound', T, async () => {
  const ed = await certificate('ed25519');
  const edRequired = await serve({ channelBinding: 'required' }, ed);
  const refused = await python(edRequired, 'none');
  assert.equal(refused.out.status, 401, JSON.stringify(refused.out));
  assert.match(JSON.stringify(refused.out.body), /ERR_CHANNEL_BINDING_REQUIRED/);
  assert.match(edRequired.failures[0]?.message ?? '', /certificate this connection was served has none/);
  const edWhenSupported = await serve({}, ed);
  const allowed = await python(edWhenSupported, 'none');
  assert.equal(allowed.code, 0, JSON.stringify(allowed.out));
  assert.equal(channelBound(allowed.out), false);
});

test('a certificate swapped with setSecureContext is followed: new connections bind to the new one', T, async () => {
  const first = await certificate();
  const second = await certificate('ec');
  const s = await serve({ channelBinding: 'required' }, first);
  assert.equal((await python(s, 'right')).code, 0);
  const server = s.server;
  assert.ok(server instanceof tls.Server);
  server.setSecureContext({ cert: second.cert, key: second.key });
  assert.deepEqual(await servedDer(s), second.der);
  // Bound to the new certificate (what this connection was served): accepted and bound.
  const { code, out } = await python(s, 'right');
  assert.equal(code, 0, JSON.stringify(out));
  assert.equal(channelBound(out), true);
  // A binding to the old certificate on a connection served the new one is a mismatch.
  const bindings = tlsServerEndPoint(first.der);
  const [oldCertToken] = await firstTokens(
    realm,
    { mech: 'spnego', service: 'HTTP@localhost', channelBindings: bindings },
    1,
  );
  assert.ok(oldCertToken);
  s.failures.length = 0;
  const status = await httpsStatus(s, oldCertToken);
  assert.equal(status, 401);
  assert.equal(s.failures[0]?.code, 'ERR_CHANNEL_BINDING_MISMATCH');
});
