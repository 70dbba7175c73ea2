/**
 * `--require-flags` ("Hostile clients II", item 8): a client that did not ask for replay and
 * sequence detection gets its replayed, skipped and reordered wrap tokens delivered as valid,
 * and one that did not ask for mutual authentication never checks the server. A server can now
 * require those flags; a context completed without them is refused with ERR_GSS_FLAGS_REQUIRED
 * and gets no AP-REP, on every front end (the check is in the accept step all of them share).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { AcceptError, AuthPool } from '../../src/pool/AuthPool.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { firstTokens } from '../support/initiator.js';
import { failureCode } from '../support/outcome.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, runClient, startTestServer, type TestServer } from '../support/server.js';
import { ServerWatch } from './harness.js';

const T = { timeout: 60_000 };
let realm: ThrowawayRealm;
let ts: TestServer;
let watch: ServerWatch;
let nextId = 9_000_000;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  ts = await startTestServer(realm, { requireFlags: ['replay', 'sequence'] });
  watch = new ServerWatch(ts.server);
});
after(async () => {
  await ts?.server.close();
  await realm?.destroy();
});

function gssClient(flags: string[]): ReturnType<typeof runClient> {
  const gssClientPath = requireTool('gss-client', 'krb5-gss-samples');
  return runClient(gssClientPath, ['-port', String(ts.gssSamplePort), ...flags, 'localhost', 'host@localhost', 'hello'], realm, 20_000, { LC_ALL: 'C' });
}

test('gss-sample with --require-flags replay,sequence: MIT gss-client without -seq and with -noreplay is refused; with -seq it gets in', T, async () => {
  const m = watch.mark();
  const refused = await gssClient(['-noreplay']);
  assert.notEqual(refused.code, 0, `gss-client without replay/sequence must fail:\n${refused.stdout}`);
  const failure = await watch.failureSince(m);
  assert.equal(failure.code, 'ERR_GSS_FLAGS_REQUIRED');
  assert.match(failure.message, /did not request replay, sequence/);
  const seqOnly = await gssClient([]);
  assert.notEqual(seqOnly.code, 0, 'gss-client asks for replay but not sequence by default: still refused');
  const ok = await gssClient(['-seq']);
  assert.equal(ok.code, 0, `gss-client -seq asks for both:\n${ok.stdout}\n${ok.stderr}`);
  assert.match(ok.stdout, /Signature verified\./);
  await watch.drained();
});

test('require mutual: a token without mutual-required is refused and no AP-REP is returned; with it, accepted', T, async () => {
  const pool = await AuthPool.start({ credentials: { keytab: realm.keytab, requireFlags: ['mutual'] }, workers: 1 });
  try {
    const [plain] = await firstTokens(realm, { mech: 'spnego', noMutual: true }, 1);
    const [mutual] = await firstTokens(realm, { mech: 'spnego' }, 1);
    assert.ok(plain && mutual);
    const id = nextId++;
    const err = await pool.accept(id, plain).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof AcceptError, String(err));
    assert.equal(err.code, 'ERR_GSS_FLAGS_REQUIRED');
    assert.match(err.message, /did not request mutual/);
    assert.equal(err.output.length, 0, 'no AP-REP for a refused client');
    assert.equal(pool.release(id), false, 'no context kept');
    assert.equal(await failureCode(pool.accept(nextId++, mutual, { releaseAfter: true })), 'accepted');
  } finally {
    await pool.close();
  }
});

test('an unknown flag name is a configuration error', async () => {
  await assert.rejects(
    AuthPool.start({ credentials: { keytab: realm.keytab, requireFlags: ['mutal' as 'mutual'] }, workers: 1 }),
    (e: unknown) => e instanceof Error && 'code' in e && e.code === 'ERR_CONFIG',
  );
});
