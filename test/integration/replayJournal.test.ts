/**
 * `--replay-cache memory --replay-cache-journal DIR` through the CLI, as operators run it: a
 * token accepted before a restart is refused after it (and, as the control, accepted again
 * after a restart without the journal: what the journal is for). A second server on the same
 * directory, a directory others may write to, and a journal without the memory cache are
 * refused at start (exit 2). A full disk under the journal (a small tmpfs, root only) refuses
 * handshakes with 503 until space returns. The journal's own C++ checks:
 * test/native/replayJournalUnit.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { assertListening, BIN, Cli, cleanEnv, runCli } from '../support/cliProcess.js';
import { httpGet, negotiateGet } from '../support/httpGet.js';
import { firstTokens } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi } from '../support/server.js';

const SERVICE = 'HTTP@localhost';
const exec = promisify(execFile);
let realm: ThrowawayRealm;
let scratch: string;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-journal-test-'));
});
after(async () => {
  await realm?.destroy();
  await fs.rm(scratch, { recursive: true, force: true });
});

function env(): NodeJS.ProcessEnv {
  return { ...cleanEnv(), ...realm.env() };
}

function serveArgs(extra: string[]): string[] {
  return [BIN, 'serve', '--keytab', realm.keytab, '--http', '127.0.0.1:0', '--workers', '1', ...extra];
}

/** Starts a server, sends each token once, stops it; the HTTP statuses in order. */
async function serveOnce(t: TestContext, extra: string[], tokens: Buffer[]): Promise<number[]> {
  return (await serveAndLog(t, extra, tokens)).statuses;
}

async function serveAndLog(
  t: TestContext,
  extra: string[],
  tokens: Buffer[],
): Promise<{ statuses: number[]; stderr: string }> {
  const cli = new Cli(t, process.execPath, serveArgs(extra), env());
  const [listening] = await cli.waitLines(1);
  const port = assertListening(listening, 'http');
  const statuses: number[] = [];
  for (const token of tokens) {
    const answer = await negotiateGet(port, token);
    statuses.push(answer.status);
    if (answer.status === 401) assert.match(answer.body, /replay/i, answer.body);
  }
  assert.equal((await cli.stop('SIGTERM')).code, 0, cli.stderr);
  return { statuses, stderr: cli.stderr };
}

async function journalDir(name: string): Promise<string> {
  const dir = path.join(scratch, name);
  await fs.mkdir(dir, { mode: 0o700 });
  return dir;
}

test('without a journal a restart forgets the token; with one the token is a replay after the restart', async (t) => {
  const [unjournaled, captured, fresh] = await firstTokens(realm, { mech: 'spnego', service: SERVICE }, 3);
  assert.ok(unjournaled && captured && fresh);

  // The control: the memory cache alone refuses the replay until the process ends, not after.
  assert.deepEqual(await serveOnce(t, ['--replay-cache', 'memory'], [unjournaled, unjournaled]), [200, 401]);
  assert.deepEqual(await serveOnce(t, ['--replay-cache', 'memory'], [unjournaled]), [200], 'forgotten');

  const dir = await journalDir('restart');
  const journaled = ['--replay-cache', 'memory', '--replay-cache-journal', dir];
  assert.deepEqual(await serveOnce(t, journaled, [captured]), [200]);
  const restarted = await serveAndLog(t, journaled, [captured, fresh]);
  assert.deepEqual(restarted.statuses, [401, 200], 'remembered across the restart');
  // The log says what the journal gave back (the CLI's log lines are on stderr).
  assert.match(restarted.stderr, /"loaded":1,"files":1[,}].*"msg":"replay journal opened"/);
  const files = await fs.readdir(dir);
  assert.ok(files.includes('key') && files.some((f) => f.endsWith('.tags')), files.join(' '));
  assert.equal((await fs.stat(path.join(dir, 'key'))).mode & 0o777, 0o600);
});

test('a second server on the same journal is refused at start while the first runs (exit 2)', async (t) => {
  const dir = await journalDir('shared');
  const journaled = ['--replay-cache', 'memory', '--replay-cache-journal', dir];
  const first = new Cli(t, process.execPath, serveArgs(journaled), env());
  assertListening((await first.waitLines(1))[0], 'http');
  const second = await runCli(serveArgs(journaled).slice(1), env());
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, /ERR_CONFIG/);
  assert.match(second.stderr, /in use by another process/);
  assert.equal((await first.stop('SIGTERM')).code, 0, first.stderr);
});

test('a journal others may write to, a missing one, or one without the memory cache: exit 2, saying why', async () => {
  const open = await journalDir('open');
  await fs.chmod(open, 0o777);
  const cases: Array<[string[], RegExp]> = [
    [['--replay-cache', 'memory', '--replay-cache-journal', open], /not writable by group or others/],
    [['--replay-cache', 'memory', '--replay-cache-journal', path.join(scratch, 'absent')], /cannot open/],
    [['--replay-cache-journal', await journalDir('default')], /needs the memory replay cache/],
    [['--replay-cache', 'memory', '--replay-cache-journal', ''], /replayCacheJournal must be a non-empty string/],
  ];
  for (const [extra, why] of cases) {
    const r = await runCli(serveArgs(extra).slice(1), env());
    assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.equal(r.stdout, '', 'no listening line');
  }
});

/** Writes 4 KiB blocks to `file` until the filesystem is full (ENOSPC); bounded by `maxBytes`. */
async function fill(file: string, maxBytes: number): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    const block = Buffer.alloc(4096, 0x5a);
    for (let written = 0; written < maxBytes; written += block.length) {
      try {
        await handle.write(block);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
        throw err;
      }
    }
    assert.fail(`${file}: the filesystem did not fill up within ${maxBytes} bytes`);
  } finally {
    await handle.close();
  }
}

test(
  'a full disk under the journal refuses handshakes (503, never accepted unrecorded) until space returns',
  // Mounting a small tmpfs needs root (CI runs as root); elsewhere this one case cannot run.
  { skip: process.getuid?.() !== 0 ? 'needs root to mount a small tmpfs' : false },
  async (t) => {
    const [first, second] = await firstTokens(realm, { mech: 'spnego', service: SERVICE }, 2);
    assert.ok(first && second);
    const dir = await journalDir('full');
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir]);
    let cli: Cli;
    try {
      cli = new Cli(
        t,
        process.execPath,
        serveArgs(['--replay-cache', 'memory', '--replay-cache-journal', dir, '--admin', '127.0.0.1:0']),
        env(),
      );
    } catch (err) {
      await exec('umount', [dir]);
      throw err;
    }
    // Registered after the CLI's own clean-up, so it runs once the server no longer holds the mount.
    t.after(() => exec('umount', [dir]).then(() => undefined));
    const [httpLine, adminLine] = await cli.waitLines(2);
    const port = assertListening(httpLine, 'http');
    const adminPort = assertListening(adminLine, 'admin');
    // The key is written at start; then nothing is left for the first journal file's header.
    await fill(path.join(dir, 'filler'), 1 << 20);
    const refused = await negotiateGet(port, first);
    assert.equal(refused.status, 503, 'a busy refusal: the client may retry');
    const metrics = (await httpGet(adminPort, '/metrics')).body;
    assert.match(metrics, /^negotiate_replay_journal_refused_total 1$/m);

    await fs.rm(path.join(dir, 'filler'));
    const accepted = await negotiateGet(port, second);
    assert.equal(accepted.status, 200, accepted.body);
    // Recorded this time, so its replay is refused.
    const replay = await negotiateGet(port, second);
    assert.equal(replay.status, 401, replay.body);
    assert.match(replay.body, /replay/i);
    assert.equal((await cli.stop('SIGTERM')).code, 0, cli.stderr);
    assert.match(cli.stderr, /ERR_REPLAY_CACHE_UNAVAILABLE/, 'the refusal is logged with its code');
  },
);
