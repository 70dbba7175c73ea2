/**
 * HTTPS on the uWS listener and channel binding (Extended Protection), against real clients:
 * python3-gssapi over TLS with bindings for the served certificate, for another one, and none,
 * under `when-supported` and `required`; curl --negotiate -k (Debian 12's curl 7.88 sends no
 * bindings). The certificate is a throwaway self-signed one for `localhost`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { HttpHandshakeFailure, HttpIdentity } from '../../src/acceptors/HttpAcceptor.js';
import { tlsServerEndPoint } from '../../src/tls/channelBindings.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { NegotiateServer } from '../../src/server.js';
import { PYTHON, requirePythonGssapi, runClient, useRealm, type TestServer } from '../support/server.js';
import WebSocket from 'ws';
import { FIXTURES, firstTokens } from '../support/initiator.js';
import { selfSignedCertificate, type TestCertificate } from '../support/tlsFiles.js';

const curl = requireTool('curl', 'curl');
const HTTP_CLIENT = path.join(FIXTURES, 'http_client.py');
const T = { timeout: 30_000 };

let realm: ThrowawayRealm;
let cert: TestCertificate;
let whenSupported: TestServer;
let required: TestServer;
let off: TestServer;
const failures: HttpHandshakeFailure[] = [];
const sessions: HttpIdentity[] = [];

/** A server with only the HTTPS listener, through the public options (so their defaults apply: Secure cookies). */
async function httpsServer(channelBinding: 'off' | 'when-supported' | 'required'): Promise<TestServer> {
  useRealm(realm);
  const server = await NegotiateServer.start({
    credentials: { keytab: realm.keytab },
    http: {
      host: '127.0.0.1',
      port: 0,
      tls: { certFile: cert.certFile, keyFile: cert.keyFile },
      channelBinding,
      sessionCookie: { ttlSeconds: 3600 },
      ws: { path: '/ws' },
    },
    workers: 1,
    shutdownGraceMs: 1000,
  });
  const httpPort = server.listening().find((l) => l.frontend === 'http')?.port ?? 0;
  const s: TestServer = { server, httpPort, sspiPort: 0, gssSamplePort: 0 };
  s.server.on('handshakeFailed', (f: HttpHandshakeFailure) => failures.push(f));
  s.server.on('session', (i: HttpIdentity) => sessions.push(i));
  return s;
}

before(async () => {
  requirePythonGssapi();
  requireTool('openssl', 'openssl');
  realm = await startTestRealm();
  cert = await selfSignedCertificate('localhost');
  whenSupported = await httpsServer('when-supported');
  required = await httpsServer('required');
  off = await httpsServer('off');
});

after(async () => {
  for (const s of [whenSupported, required, off]) await s?.server.close(0);
  await realm?.destroy();
  await cert?.remove();
});

interface ClientResult {
  status?: number;
  complete?: boolean;
  mutual?: boolean;
  body?: { principal?: string; flags?: { channelBound?: boolean; mutual?: boolean } } | string;
  set_cookie?: string | null;
  error?: string;
}

async function python(
  s: TestServer,
  binding: 'right' | 'wrong' | 'none',
  trust: string[] = ['--cacert', cert.certFile],
): Promise<{ code: number | null; out: ClientResult }> {
  const url = `https://localhost:${s.httpPort}/whoami`;
  const run = await runClient(PYTHON, [HTTP_CLIENT, url, '--channel-binding', binding, ...trust], realm);
  return { code: run.code, out: JSON.parse(run.stdout.trim() || '{}') as ClientResult };
}

test('the listening line says tls, and the listener speaks TLS with the configured certificate', T, async () => {
  const line = whenSupported.server.listening().find((l) => l.frontend === 'http');
  assert.equal(line?.tls, true);
  const der = await new Promise<Buffer>((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port: whenSupported.httpPort, servername: 'localhost', rejectUnauthorized: false },
      () => {
        resolve(socket.getPeerCertificate().raw);
        socket.end();
      },
    );
    socket.on('error', reject);
  });
  assert.deepEqual(der, cert.der);
});

test('python3-gssapi bound to the served certificate: 200, mutual token verified, channel-bound', T, async () => {
  for (const s of [whenSupported, required]) {
    const { code, out } = await python(s, 'right');
    assert.equal(code, 0, JSON.stringify(out));
    assert.equal(out.status, 200);
    assert.equal(out.mutual, true, 'the client verified the AP-REP in the final WWW-Authenticate');
    assert.ok(typeof out.body === 'object');
    assert.equal(out.body.principal, realm.userPrincipal);
    assert.equal(out.body.flags?.channelBound, true);
  }
  assert.ok(sessions.some((i) => i.flags.channelBound && i.principal === realm.userPrincipal));
});

test('python3-gssapi bound to another certificate is refused, under when-supported too', T, async () => {
  for (const s of [whenSupported, required]) {
    failures.length = 0;
    const { code, out } = await python(s, 'wrong');
    assert.equal(code, 2, JSON.stringify(out));
    assert.equal(out.status, 401);
    assert.match(JSON.stringify(out.body), /ERR_CHANNEL_BINDING_MISMATCH/);
    assert.equal(failures[0]?.code, 'ERR_CHANNEL_BINDING_MISMATCH');
  }
});

test(
  'python3-gssapi with no bindings: allowed under when-supported (not bound), refused under required',
  T,
  async () => {
    const allowed = await python(whenSupported, 'none');
    assert.equal(allowed.code, 0, JSON.stringify(allowed.out));
    assert.ok(typeof allowed.out.body === 'object');
    assert.equal(allowed.out.body.flags?.channelBound, false);
    failures.length = 0;
    const refused = await python(required, 'none');
    assert.equal(refused.out.status, 401, JSON.stringify(refused.out));
    assert.match(JSON.stringify(refused.out.body), /ERR_CHANNEL_BINDING_REQUIRED/);
    assert.equal(failures[0]?.code, 'ERR_CHANNEL_BINDING_REQUIRED');
  },
);

test('channel binding off: even bindings for another certificate are not checked', T, async () => {
  const { code, out } = await python(off, 'wrong', ['--insecure']);
  assert.equal(code, 0, JSON.stringify(out));
  assert.ok(typeof out.body === 'object');
  assert.equal(out.body.flags?.channelBound, false);
});

test('TLS implies a Secure session cookie', T, async () => {
  const { out } = await python(whenSupported, 'right');
  assert.match(out.set_cookie ?? '', /;\s*Secure/i);
});

test('the binding the server computes is what an independent client computes (python3-cryptography)', () => {
  // http_client.py's 'right' is computed from the served DER with python3-cryptography; the
  // server's with node:crypto. Their agreement is what the 'right' test shows; this pins the form.
  const b = tlsServerEndPoint(cert.der);
  assert.equal(b.subarray(0, 21).toString(), 'tls-server-end-point:');
  assert.equal(b.length, 21 + 32);
});

test(
  'curl --negotiate -k over HTTPS: allowed under when-supported, refused under required (curl 7.88 sends no bindings)',
  T,
  async () => {
    const args = (s: TestServer): string[] => [
      '-sk',
      '--negotiate',
      '-u',
      ':',
      '--resolve',
      `localhost:${s.httpPort}:127.0.0.1`,
      '-w',
      '\n%{http_code}',
      `https://localhost:${s.httpPort}/whoami`,
    ];
    const ok = await runClient(curl, args(whenSupported), realm, 15_000);
    assert.match(ok.stdout, /\n200$/, ok.stdout + ok.stderr);
    assert.equal((JSON.parse(ok.stdout.split('\n')[0] ?? '') as { principal: string }).principal, realm.userPrincipal);
    const no = await runClient(curl, args(required), realm, 15_000);
    assert.match(no.stdout, /ERR_CHANNEL_BINDING_REQUIRED[\s\S]*\n401$/, no.stdout + no.stderr);
  },
);

/** One WSS handshake with a first token: the text of the authenticated message, or the close code. */
async function wssHandshake(s: TestServer, token: Buffer): Promise<{ text?: string; close?: number }> {
  const ws = new WebSocket(`wss://localhost:${s.httpPort}/ws`, { ca: readFileSync(cert.certFile) });
  ws.on('error', () => {});
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no WSS outcome within 15 s')), 15_000);
    ws.once('open', () => ws.send(token));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      clearTimeout(timer);
      ws.close();
      resolve({ text: data.toString('utf8') });
    });
    ws.once('close', (code: number) => {
      clearTimeout(timer);
      resolve({ close: code });
    });
  });
}

test(
  'WSS on the same listener: bound to the certificate, authenticated; bound to another, closed 1008',
  T,
  async () => {
    const right = tlsServerEndPoint(cert.der);
    const [good] = await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost', channelBindings: right }, 1);
    const ok = await wssHandshake(required, good ?? Buffer.alloc(0));
    assert.match(ok.text ?? '', /"principal":"alice@KRBTEST\.COM"/, JSON.stringify(ok));
    assert.match(ok.text ?? '', /"channelBound":true/);
    const wrong = Buffer.from(right);
    wrong.writeUInt8((wrong.at(-1) ?? 0) ^ 1, wrong.length - 1);
    const [bad] = await firstTokens(realm, { mech: 'spnego', service: 'HTTP@localhost', channelBindings: wrong }, 1);
    failures.length = 0;
    assert.deepEqual(await wssHandshake(whenSupported, bad ?? Buffer.alloc(0)), { close: 1008 });
    assert.equal(failures[0]?.code, 'ERR_CHANNEL_BINDING_MISMATCH');
  },
);
