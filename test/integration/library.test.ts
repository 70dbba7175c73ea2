/**
 * NegotiateServer as a library user starts it: the public, nested options from the package's
 * entry point (no flat configuration, no test helper), and the service's own pino logger.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { NegotiateServer, type ThrowawayRealm } from '../../src/index.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { runClient, useRealm } from '../support/server.js';

const T = { timeout: 60_000 };
const curl = requireTool('curl', 'curl');
let realm: ThrowawayRealm | undefined;

before(async () => {
  realm = await startTestRealm();
  // krb5.conf for the acceptor: the one thing a real deployment has in /etc.
  useRealm(realm);
});

after(async () => {
  await realm?.destroy();
});

async function curlWhoami(r: ThrowawayRealm, port: number): Promise<Record<string, unknown>> {
  const run = await runClient(
    curl,
    ['-sS', '--negotiate', '-u', ':', '--resolve', `localhost:${port}:127.0.0.1`, `http://localhost:${port}/whoami`],
    r,
    15_000,
  );
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

test(
  'NegotiateServer.start({ credentials: { keytab }, http: { port: 0 } }) serves HTTP Negotiate, and only HTTP',
  T,
  async () => {
    assert.ok(realm);
    const keytab = realm.keytab;
    const server = await NegotiateServer.start({ credentials: { keytab }, http: { port: 0 } });
    try {
      const listening = server.listening();
      assert.equal(listening.length, 1, JSON.stringify(listening));
      const http = listening[0];
      assert.ok(http);
      assert.equal(http.frontend, 'http');
      assert.equal(http.address, '127.0.0.1');
      assert.equal(http.ws, undefined, 'no WebSocket route unless asked for');
      const body = await curlWhoami(realm, http.port);
      assert.equal(body['principal'], realm.userPrincipal);
      assert.equal(body['mech'], 'krb5');
    } finally {
      await server.close();
    }
  },
);

test("a pino instance passed as logger receives the server's lines, fields first", T, async () => {
  assert.ok(realm);
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'debug', base: { service: 'my-app' } }, sink);
  const server = await NegotiateServer.start({ credentials: { keytab: realm.keytab }, http: { port: 0 }, logger });
  try {
    const port = server.listening()[0]?.port ?? 0;
    const session = new Promise((resolve) => server.once('session', resolve));
    await curlWhoami(realm, port);
    await session;
    const line = lines.find((l) => l['msg'] === 'authenticated');
    assert.ok(line, `an "authenticated" line among:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    assert.equal(line['level'], 30, "pino's own level numbering: this is the caller's logger, not ours");
    assert.equal(line['service'], 'my-app', "the caller's pino configuration applies");
    assert.equal(line['principal'], realm.userPrincipal);
    assert.equal(line['frontend'], 'http');
    assert.equal(typeof line['connectionId'], 'number');
  } finally {
    await server.close();
  }
});
