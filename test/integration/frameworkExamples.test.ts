/**
 * examples/express.mjs, fastify.mjs and passport.mjs run as a user runs them (node, the realm's
 * environment, --keytab): each prints its listening line, answers a request without
 * credentials with the 401 challenge, lets a large token through node's header limit, greets
 * curl --negotiate's principal, and exits on SIGTERM.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm } from '../support/realm.js';
import { curlNegotiate, request } from '../support/negotiateClients.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let realm: ThrowawayRealm;

before(async () => {
  realm = await startTestRealm();
});

after(async () => {
  await realm?.destroy();
});

for (const [name, greeting] of [
  ['express', 'Hello, alice@KRBTEST.COM\n'],
  ['fastify', 'Hello, alice@KRBTEST.COM\n'],
  ['passport', 'Hello, alice (alice@KRBTEST.COM)\n'],
] as const) {
  test(`examples/${name}.mjs protects its route`, { timeout: 60_000 }, async () => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'examples', `${name}.mjs`), '--keytab', realm.keytab, '--port', '0'],
      { cwd: ROOT, env: { ...process.env, ...realm.env() }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      let listening: string | undefined;
      for await (const line of createInterface({ input: child.stdout })) {
        const event = JSON.parse(line) as { event: string; url?: string };
        if (event.event === 'listening') {
          listening = event.url;
          break;
        }
      }
      child.stdout.resume(); // the request lines that follow: nobody reads them
      assert.ok(listening, `no listening line; stderr: ${stderr}`);
      const port = Number(new URL(listening).port);

      const anonymous = await request(port, 'GET', '/');
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers['www-authenticate'], 'Negotiate');
      // A 40 KB token (an AD user in many groups) gets past node's header limit to the adapter,
      // which refuses it for what it is (not a GSSAPI token): 401, not node's own 431.
      const large = await request(port, 'GET', '/', { Authorization: `Negotiate ${'A'.repeat(40_000)}` });
      assert.equal(large.status, 401);
      const r = await curlNegotiate(realm, port, '/');
      assert.equal(r.status, 200, r.stderr);
      assert.equal(r.body, greeting);
      assert.ok(r.finalToken, 'no mutual-authentication token on the 200');
    } finally {
      child.kill('SIGTERM');
    }
    const [code, signal] = await exited;
    assert.equal(signal, null, `killed by ${String(signal)} instead of exiting on SIGTERM; stderr: ${stderr}`);
    assert.equal(code, 0, stderr);
  });
}
