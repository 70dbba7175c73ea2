/**
 * Delegated credentials kept (credentials.delegationDir) against a real realm: a real initiator
 * (python3-gssapi) forwards alice's TGT; the pool writes it to DIR/<principal>, 0600; MIT's
 * klist reads alice's TGT from it and MIT's gss-client, given it as KRB5CCNAME, authenticates as
 * alice to the server's gss-sample front end. Removed on the connection's release, on an
 * explicit release, when the credential ends (TTL sweep) and on the pool's close; without the
 * option, or without delegation, nothing is written.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AuthPool, type AcceptStep } from '../../src/pool/AuthPool.js';
import type { CredentialOptions } from '../../src/pool/credentials.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { Session } from '../../src/session.js';
import { sessionFromStep } from '../../src/handshake/index.js';
import { Initiator } from '../support/initiator.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, runClient, startTestServer, useRealm, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/waitUntil.js';

const run = promisify(execFile);
const klist = requireTool('klist', 'krb5-user');
const gssClient = requireTool('gss-client', 'krb5-gss-samples');

let realm: ThrowawayRealm;
let ts: TestServer;
let nextId = 3_000_000;
const tempDirs: string[] = [];

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  useRealm(realm);
  ts = await startTestServer(realm);
});
after(async () => {
  await ts?.server.close();
  await realm?.destroy();
  for (const d of tempDirs) await fs.rm(d, { recursive: true, force: true });
});

async function newDir(mode = 0o700): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-deleg-'));
  tempDirs.push(dir);
  await fs.chmod(dir, mode);
  return dir;
}

async function withPool(credentials: Partial<CredentialOptions>, fn: (pool: AuthPool) => Promise<void>): Promise<void> {
  const pool = await AuthPool.start({ credentials: { keytab: realm.keytab, ...credentials }, workers: 2 });
  try {
    await fn(pool);
  } finally {
    await pool.close();
  }
}

type Complete = Extract<AcceptStep, { status: 'complete' }>;

/** One SPNEGO handshake of alice (forwarding her TGT when `delegate`); the completed step. */
async function handshake(pool: AuthPool, delegate: boolean, id = nextId++): Promise<Complete> {
  const ini = Initiator.start(realm, { mech: 'spnego', delegate });
  try {
    const step = await pool.accept(id, (await ini.step()).token);
    assert.equal(step.status, 'complete');
    await ini.step(step.output);
    return step;
  } finally {
    ini.close();
  }
}

test('a delegated TGT is kept in DIR/<principal>, mode 0600, and klist reads alice’s TGT from it', async () => {
  const dir = await newDir();
  await withPool({ delegationDir: dir }, async (pool) => {
    const step = await handshake(pool, true);
    assert.equal(step.flags.delegation, true);
    assert.equal(step.delegatedCcache, path.join(dir, 'alice@KRBTEST.COM'));
    assert.deepEqual(await fs.readdir(dir), ['alice@KRBTEST.COM'], 'one file, no temporary left');
    const st = await fs.stat(step.delegatedCcache);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, process.getuid?.());
    const { stdout } = await run(klist, ['-c', `FILE:${step.delegatedCcache}`], {
      env: { ...process.env, ...realm.env() },
    });
    assert.match(stdout, /Default principal: alice@KRBTEST\.COM/);
    assert.match(stdout, /krbtgt\/KRBTEST\.COM@KRBTEST\.COM/);
    assert.equal(pool.delegatedCredentials?.size, 1);
  });
});

test('the kept ccache is usable: gss-client with KRB5CCNAME set to it authenticates as alice', async () => {
  const dir = await newDir();
  await withPool({ delegationDir: dir }, async (pool) => {
    const step = await handshake(pool, true);
    assert.ok(step.delegatedCcache !== undefined);
    const sessions: Session[] = [];
    const onSession = (s: Session): void => void sessions.push(s);
    ts.server.on('session', onSession);
    try {
      const args = ['-port', String(ts.gssSamplePort), 'localhost', 'host@localhost', 'as alice'];
      const ok = await runClient(gssClient, args, realm, 15_000, { KRB5CCNAME: `FILE:${step.delegatedCcache}` });
      assert.equal(ok.code, 0, `gss-client with the delegated ccache:\n${ok.stdout}\n${ok.stderr}`);
      assert.match(ok.stdout, /"alice@KRBTEST\.COM" to "host\/localhost@KRBTEST\.COM"/);
      await waitUntil(() => sessions.length === 1, 'the gss-sample session');
      assert.equal(sessions[0]?.principal, 'alice@KRBTEST.COM');
      // The control: KRB5CCNAME is what gss-client used (an empty ccache gets nowhere).
      const none = await runClient(gssClient, args, realm, 15_000, { KRB5CCNAME: `FILE:${path.join(dir, 'none')}` });
      assert.notEqual(none.code, 0, 'gss-client without credentials must fail');
    } finally {
      ts.server.off('session', onSession);
    }
  });
});

test('removed on the connection’s release; two connections of one principal share it until both end', async () => {
  const dir = await newDir();
  await withPool({ delegationDir: dir }, async (pool) => {
    const first = await handshake(pool, true, 3_100_001);
    const second = await handshake(pool, true, 3_100_002);
    assert.equal(first.delegatedCcache, second.delegatedCcache, 'one file per principal');
    const file = first.delegatedCcache as string;
    pool.release(3_100_001);
    await new Promise((r) => setTimeout(r, 50));
    await fs.access(file); // still held by the second connection
    pool.release(3_100_002);
    await waitUntil(async () => !(await exists(file)), 'the ccache removed after the last release');
    assert.equal(pool.delegatedCredentials?.size, 0);
  });
});

test('removed by release(path), by the TTL sweep at the credential’s end, and on close', async () => {
  const dir = await newDir();
  let kept: string | undefined;
  await withPool({ delegationDir: dir }, async (pool) => {
    const store = pool.delegatedCredentials;
    assert.ok(store);
    const a = await handshake(pool, true);
    assert.equal(await store.release(a.delegatedCcache as string), true);
    assert.equal(await exists(a.delegatedCcache as string), false, 'release(path) removes it');
    assert.equal(await store.release(a.delegatedCcache as string), false, 'a second release finds nothing');

    const b = await handshake(pool, true);
    assert.equal(await store.sweep(), 0, 'a valid credential survives the sweep');
    // The realm's tickets last a day: a sweep two days on finds this one ended.
    assert.equal(await store.sweep(Date.now() + 2 * 86_400_000), 1);
    assert.equal(await exists(b.delegatedCcache as string), false, 'the TTL sweep removes it');

    kept = (await handshake(pool, true)).delegatedCcache;
    assert.ok(kept !== undefined && (await exists(kept)));
  });
  assert.ok(kept !== undefined);
  assert.equal(await exists(kept), false, 'close removes it');
  assert.deepEqual(await fs.readdir(dir), [], 'close leaves the directory empty');
});

test('Session.close() ends the hold; a connection gone before its leg returned keeps nothing', async () => {
  const dir = await newDir();
  await withPool({ delegationDir: dir }, async (pool) => {
    const id = nextId++;
    const step = await handshake(pool, true, id);
    const session = sessionFromStep(pool, step, {
      connectionId: id,
      frontend: 'sspi',
      remoteAddress: undefined,
      remotePort: undefined,
    });
    assert.equal(session.delegatedCcache, step.delegatedCcache);
    assert.equal(JSON.stringify(session).includes('delegatedCcache'), false, 'the path stays out of toJSON');
    session.close();
    await waitUntil(async () => !(await exists(step.delegatedCcache as string)), 'the ccache removed by close()');

    const ini = Initiator.start(realm, { mech: 'spnego', delegate: true });
    try {
      const gone = await pool.accept(nextId++, (await ini.step()).token, { abandoned: () => true });
      assert.equal(gone.status, 'complete');
      assert.equal(gone.delegatedCcache, undefined);
    } finally {
      ini.close();
    }
    assert.deepEqual(await fs.readdir(dir), [], 'the written credential was removed');
  });
});

test('nothing is written without the option, nor without delegation; the handshake is the same', async () => {
  const dir = await newDir();
  await withPool({}, async (pool) => {
    const step = await handshake(pool, true);
    assert.equal(step.flags.delegation, true);
    assert.equal(step.delegatedCcache, undefined);
    assert.equal(pool.delegatedCredentials, undefined);
  });
  await withPool({ delegationDir: dir }, async (pool) => {
    const step = await handshake(pool, false);
    assert.equal(step.flags.delegation, false);
    assert.equal(step.delegatedCcache, undefined);
  });
  assert.deepEqual(await fs.readdir(dir), []);
});

test('maxFiles bounds the files: a principal beyond it gets no ccache, the handshake still completes', async () => {
  const dir = await newDir();
  await withPool({ delegationDir: dir, delegationMaxFiles: 1 }, async (pool) => {
    // A ccache another principal holds fills the one place.
    const store = pool.delegatedCredentials;
    assert.ok(store);
    const other = path.join(dir, '.deleg-other');
    await fs.writeFile(other, '', { mode: 0o600 });
    assert.ok(await store.adopt({ path: other, lifetime: 3600 }, 'bob@KRBTEST.COM', 3_200_000));
    const step = await handshake(pool, true);
    assert.equal(step.delegatedCcache, undefined);
    assert.deepEqual(await fs.readdir(dir), ['bob@KRBTEST.COM'], 'the refused credential’s temporary file is gone');
  });
});

test('the directory is refused at start when others could write to it, or when it is a link', async () => {
  const open = await newDir(0o777);
  await assert.rejects(
    AuthPool.start({ credentials: { keytab: realm.keytab, delegationDir: open }, workers: 1 }),
    (err: Error & { code?: string }) =>
      err.code === 'ERR_CONFIG' && /writable by its group or by others/.test(err.message),
  );
  const real = await newDir();
  const link = `${real}-link`;
  await fs.symlink(real, link);
  tempDirs.push(link);
  await assert.rejects(
    AuthPool.start({ credentials: { keytab: realm.keytab, delegationDir: link }, workers: 1 }),
    (err: Error & { code?: string }) => err.code === 'ERR_CONFIG' && /symbolic link/.test(err.message),
  );
  await assert.rejects(
    AuthPool.start({ credentials: { keytab: realm.keytab, delegationDir: path.join(real, 'missing') }, workers: 1 }),
    (err: Error & { code?: string }) => err.code === 'ERR_CONFIG' && /does not exist/.test(err.message),
  );
});

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
