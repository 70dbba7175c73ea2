/**
 * Key rotation as an operator does it: `serve --keytab FILE`, the service key rotated into a
 * new file moved over FILE, then SIGHUP. MIT's gss-client with a fresh ticket fails before the
 * signal and succeeds after; a broken keytab on SIGHUP is refused and the server goes on.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFile, mkdtemp, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { jsonLines, runClient } from '../support/server.js';
import { waitUntil } from '../support/waitUntil.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'negotiate-server.js');
const gssClient = requireTool('gss-client', 'krb5-gss-samples');

let realm: ThrowawayRealm;
let server: ChildProcessWithoutNullStreams | undefined;

before(async () => {
  realm = await startTestRealm();
});
after(async () => {
  if (server?.pid !== undefined && server.exitCode === null) server.kill('SIGKILL');
  await realm?.destroy();
});

/** Collects the server's stdout events and lets a test wait for one. */
function eventsOf(child: ChildProcessWithoutNullStreams): (pred: (e: Record<string, unknown>) => boolean, timeoutMs?: number) => Promise<Record<string, unknown>> {
  const seen: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    for (const e of jsonLines(line)) {
      seen.push(e);
      for (const w of waiters.splice(0)) {
        if (w.pred(e)) w.resolve(e);
        else waiters.push(w);
      }
    }
  });
  return (pred, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const hit = seen.find(pred);
      if (hit) return resolve(hit);
      const timer = setTimeout(() => reject(new Error(`no such event within ${timeoutMs} ms; saw ${JSON.stringify(seen)}`)), timeoutMs);
      waiters.push({ pred, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
}

/** gss-client with a NEW ccache, so its service ticket carries the service's current kvno. */
async function gssClientFresh(port: number, tag: string, dir: string) {
  const ccache = path.join(dir, `cc-${tag}`);
  await realm.kinit(realm.userPrincipal, realm.password, ccache);
  return runClient(gssClient, ['-port', String(port), 'localhost', 'host@localhost', 'hello'], realm, 20_000, { KRB5CCNAME: `FILE:${ccache}` });
}

test('serve --keytab: a rotated key is taken on SIGHUP, not before; a broken keytab on SIGHUP is refused and serving goes on', async () => {
  const dir = await mkdtemp(path.join(realm.dir, 'cli-reload-'));
  const keytab = path.join(dir, 'service.keytab');
  await copyFile(realm.keytab, keytab);
  const env: NodeJS.ProcessEnv = { ...process.env, ...realm.env(), LC_ALL: 'C' };
  delete env['KRB5CCNAME'];
  server = spawn(process.execPath, [BIN, 'serve', '--keytab', keytab, '--gss-sample', '127.0.0.1:0', '--replay-cache', 'memory', '--workers', '2'], { env });
  let stderr = '';
  server.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const next = eventsOf(server);
  const listening = await next((e) => e['event'] === 'listening' && e['frontend'] === 'gss-sample');
  const port = listening['port'] as number;

  const before = await gssClientFresh(port, 'before', dir);
  assert.equal(before.code, 0, `gss-client before rotation: ${before.stderr}`);

  await realm.rotateKey('host/localhost', path.join(dir, 'rotated.keytab'));
  await rename(path.join(dir, 'rotated.keytab'), keytab);
  const stale = await gssClientFresh(port, 'stale', dir);
  assert.notEqual(stale.code, 0, 'the new kvno is unknown until the reload');

  server.kill('SIGHUP');
  const reloaded = await next((e) => e['event'] === 'keytabReloaded');
  assert.equal(reloaded['keytab'], keytab);
  assert.equal(reloaded['generation'], 2);

  const after = await gssClientFresh(port, 'after', dir);
  assert.equal(after.code, 0, `gss-client after SIGHUP: ${after.stderr}`);

  await writeFile(keytab, 'garbage');
  server.kill('SIGHUP');
  await waitUntil(() => /keytab reload failed/.test(stderr), () => `a 'keytab reload failed' line in the log; stderr was:\n${stderr}`, 10_000, 50);
  const failure = jsonLines(stderr).find((l) => l['msg'] === 'keytab reload failed; the keys in use stay in use');
  assert.ok(failure, `an error line in the log; stderr was:\n${stderr}`);
  assert.equal(failure['code'], 'ERR_KEYTAB_UNREADABLE');
  assert.equal(server.exitCode, null, 'still serving');
  const still = await gssClientFresh(port, 'still', dir);
  assert.equal(still.code, 0, `keys loaded by the last good reload stay in use: ${still.stderr}`);

  server.kill('SIGTERM');
  await next((e) => e['event'] === 'stopped');
});
