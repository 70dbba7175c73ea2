/**
 * `negotiate-server realm up --kind ad DIR` / `realm down DIR` as a user's script runs them: the
 * domain outlives the command (detached Samba in its namespace), DIR/env names the namespace,
 * alice's TGT works from inside it, and `realm down` leaves no process and no namespace.
 * Usage errors of the new flags need no domain and always run.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { adSkipReason, requireSamba } from '../support/adDomain.js';
import { jsonLines } from '../support/server.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'negotiate-server.js');

function cli(args: string[], timeoutMs = 240_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

test('realm up: --kind not mit|ad, bad --groups, or --groups without --kind ad: usage errors (exit 2)', async () => {
  for (const [args, pattern] of [
    [['realm', 'up', '--kind', 'windows', '/tmp/x'], /--kind must be mit or ad/],
    [['realm', 'up', '--kind', 'ad', '--groups', 'many', '/tmp/x'], /--groups must be a whole number/],
    [['realm', 'up', '--groups', '3', '/tmp/x'], /--groups needs --kind ad/],
  ] as const) {
    const r = await cli([...args], 30_000);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
});

describe('realm up --kind ad / realm down', { skip: adSkipReason() }, () => {
  let dir: string | undefined;
  after(async () => {
    if (dir !== undefined) {
      await cli(['realm', 'down', dir], 60_000);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the domain runs detached in a namespace; realm down ends its processes and deletes the namespace', async () => {
    requireSamba();
    dir = await mkdtemp(path.join(os.tmpdir(), 'negotiate-ad-cli-'));
    const up = await cli(['realm', 'up', '--kind', 'ad', '--groups', '2', dir]);
    assert.equal(up.code, 0, up.stderr);
    const event = jsonLines(up.stdout).find((e) => e['event'] === 'realm');
    assert.ok(event, up.stdout);
    assert.equal(event['kind'], 'ad');
    const netns = event['netns'] as string;
    const pid = event['sambaPid'] as number;
    assert.doesNotThrow(() => process.kill(pid, 0), 'samba runs after realm up exited');
    const env = await readFile(path.join(dir, 'env'), 'utf8');
    assert.match(env, new RegExp(`export NEGOTIATE_NETNS='${netns}'`));
    assert.match(env, /export KRB5_KTNAME='FILE:/);

    const down = await cli(['realm', 'down', dir], 60_000);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(jsonLines(down.stdout)[0]?.['event'], 'realm-down');
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'samba still runs after realm down');
    await assert.rejects(access(path.join('/run/netns', netns)), 'the namespace is still there');
  });
});
