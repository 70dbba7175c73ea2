/**
 * MIT's own sample client (`gss-client`, krb5-gss-samples) against our gss-sample listener
 * (PROTOCOLS.md §2): every flag combination the client offers, the identity and context flags
 * the server reports, the MICs it returns, and that no security context outlives its connection.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import type { HandshakeFailure } from '../../src/handshake/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { Session } from '../../src/session.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { runClient, startTestServer, type ClientRun, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/waitUntil.js';

const gssClient = requireTool('gss-client', 'krb5-gss-samples');
const kinit = requireTool('kinit', 'krb5-user');

const VERIFIED = 'Signature verified.';
const NO_MIC_REPLY = 'Response received.';
const CLIENT_TIMEOUT_MS = 15_000;

let realm: ThrowawayRealm | undefined;
let ts: TestServer | undefined;
const sessions: Session[] = [];
const failures: HandshakeFailure[] = [];

before(async () => {
  realm = await startTestRealm();
  ts = await startTestServer(realm);
  ts.server.on('session', (s: Session) => sessions.push(s));
  ts.server.on('handshakeFailed', (f: HandshakeFailure) => failures.push(f));
});

after(async () => {
  await ts?.server.close();
  await realm?.destroy();
});

function theRealm(): ThrowawayRealm {
  assert.ok(realm, 'realm started in before()');
  return realm;
}

function theServer(): TestServer {
  assert.ok(ts, 'server started in before()');
  return ts;
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

interface GssRun extends ClientRun {
  /** Sessions the server announced during this run. */
  sessions: Session[];
  /** Handshake failures the server announced during this run. */
  failures: HandshakeFailure[];
}

/**
 * Runs `gss-client -port P <flags> localhost <service> <msg>` with the realm's environment and
 * returns its output with the server events that happened meanwhile. Tests run one at a time,
 * and only gss-client talks to this server, so the events in the window are this run's.
 */
async function gss(
  flags: string[],
  opts: { service?: string; msg?: string; env?: Record<string, string>; expectSessions?: number; expectFailures?: number } = {},
): Promise<GssRun> {
  const { server, gssSamplePort } = theServer();
  const s0 = sessions.length;
  const f0 = failures.length;
  const args = ['-port', String(gssSamplePort), ...flags, 'localhost', opts.service ?? 'host@localhost', opts.msg ?? 'hello'];
  const r = await runClient(gssClient, args, theRealm(), CLIENT_TIMEOUT_MS, { LC_ALL: 'C', ...opts.env });
  const show = `gss-client ${args.join(' ')}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  // Events are emitted before the server's reply leaves, so they are normally in already; the
  // bounded wait only covers a slow event loop.
  const wantS = opts.expectSessions ?? 0;
  const wantF = opts.expectFailures ?? 0;
  await waitUntil(() => sessions.length - s0 >= wantS && failures.length - f0 >= wantF, `${wantS} session(s) and ${wantF} failure(s) after ${show}`, 2000);
  // Every connection's context must be freed once gss-client has closed it.
  await waitUntil(() => server.pool.stats().live === 0, `live contexts back to 0 after ${show}`, 2000);
  return { ...r, sessions: sessions.slice(s0), failures: failures.slice(f0) };
}

/** The one session of a run, checked for what every authenticated gss-client run must show. */
function oneSession(run: GssRun, expected: { spnego: boolean }): Session {
  assert.equal(run.code, 0, `gss-client failed:\n${run.stdout}\n${run.stderr}`);
  assert.deepEqual(run.failures, [], 'no handshake failure');
  assert.equal(run.sessions.length, 1, 'exactly one session');
  const s = run.sessions[0] as Session;
  assert.equal(s.principal, theRealm().userPrincipal);
  assert.equal(s.principal, 'alice@KRBTEST.COM');
  assert.equal(s.mech, 'krb5');
  assert.equal(s.spnego, expected.spnego);
  assert.equal(s.frontend, 'gss-sample');
  assert.equal(s.remoteAddress, '127.0.0.1');
  assert.ok(s.flags.integrity && s.flags.confidentiality, 'krb5 contexts always offer integrity and confidentiality');
  assert.ok(s.expiresAt !== null && s.expiresAt > Date.now(), 'the context expires in the future (the ticket lifetime)');
  return s;
}

test('default flags: krb5 through the default mech, mutual + replay, one MIC verified', async () => {
  const run = await gss([], { expectSessions: 1 });
  const s = oneSession(run, { spnego: false });
  assert.equal(count(run.stdout, VERIFIED), 1);
  // gss-client's defaults are GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG.
  assert.equal(s.flags.mutual, true);
  assert.equal(s.flags.replay, true);
  assert.equal(s.flags.sequence, false);
  assert.equal(s.flags.delegation, false);
  assert.equal(s.flags.anonymous, false);
  // Mutual authentication needs our AP-REP: the client only reports the context open after it.
  assert.match(run.stdout, /continue needed/);
  assert.match(run.stdout, /"alice@KRBTEST\.COM" to "host\/localhost@KRBTEST\.COM"/);
});

test('-spnego: Kerberos negotiated through SPNEGO', async () => {
  const run = await gss(['-spnego'], { expectSessions: 1 });
  const s = oneSession(run, { spnego: true });
  assert.equal(count(run.stdout, VERIFIED), 1);
  assert.equal(s.flags.mutual, true);
  assert.equal(s.flags.replay, true);
});

test('-krb5: raw Kerberos mech, not SPNEGO', async () => {
  const run = await gss(['-krb5'], { expectSessions: 1 });
  oneSession(run, { spnego: false });
  assert.equal(count(run.stdout, VERIFIED), 1);
});

test('-nomutual: one-leg handshake, the session reports mutual false', async () => {
  const run = await gss(['-nomutual'], { expectSessions: 1 });
  const s = oneSession(run, { spnego: false });
  assert.equal(s.flags.mutual, false);
  assert.equal(s.flags.replay, true);
  // Without mutual auth the AP-REQ alone completes the context: no server token, no second leg.
  assert.doesNotMatch(run.stdout, /continue needed/);
  assert.equal(count(run.stdout, VERIFIED), 1);
});

test('-spnego -nomutual: SPNEGO still reports the mutual flag false', async () => {
  const run = await gss(['-spnego', '-nomutual'], { expectSessions: 1 });
  const s = oneSession(run, { spnego: true });
  assert.equal(s.flags.mutual, false);
  assert.equal(count(run.stdout, VERIFIED), 1);
});

/** A FILE ccache with a forwardable TGT for the user (the realm's own TGT is not forwardable). */
async function forwardableCcache(r: ThrowawayRealm): Promise<string> {
  const ccname = `FILE:${path.join(r.dir, 'ccache-forwardable')}`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(kinit, ['-f', '-c', ccname, r.userPrincipal], {
      env: { ...process.env, ...r.env(), LC_ALL: 'C' },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), CLIENT_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`kinit -f exited with ${code}: ${stderr}`));
    });
    child.stdin.end(`${r.password}\n`);
  });
  return ccname;
}

test('-d with a forwardable TGT: the session reports delegation', async () => {
  const ccname = await forwardableCcache(theRealm());
  const run = await gss(['-d'], { env: { KRB5CCNAME: ccname }, expectSessions: 1 });
  const s = oneSession(run, { spnego: false });
  assert.match(run.stdout, /GSS_C_DELEG_FLAG/, 'the client did delegate');
  assert.equal(s.flags.delegation, true);
  assert.equal(s.flags.mutual, true);
  assert.equal(count(run.stdout, VERIFIED), 1);

  const viaSpnego = await gss(['-spnego', '-d'], { env: { KRB5CCNAME: ccname }, expectSessions: 1 });
  assert.equal(oneSession(viaSpnego, { spnego: true }).flags.delegation, true);
});

test('-seq: the session reports sequence checking', async () => {
  const run = await gss(['-seq'], { expectSessions: 1 });
  const s = oneSession(run, { spnego: false });
  assert.equal(s.flags.sequence, true);
  assert.equal(s.flags.replay, true);
  assert.equal(count(run.stdout, VERIFIED), 1);
});

test('-noreplay: the session reports replay detection off', async () => {
  const run = await gss(['-noreplay'], { expectSessions: 1 });
  const s = oneSession(run, { spnego: false });
  assert.equal(s.flags.replay, false);
  assert.equal(s.flags.mutual, true);
  assert.equal(count(run.stdout, VERIFIED), 1);
});

test('-mcount 3: three messages on one context, three MICs verified', async () => {
  const run = await gss(['-mcount', '3'], { expectSessions: 1 });
  oneSession(run, { spnego: false });
  assert.equal(count(run.stdout, VERIFIED), 3);
});

test('-ccount 20 -mcount 0: twenty handshake-only connections, twenty sessions, no leak', async () => {
  const before = theServer().server.pool.stats();
  const run = await gss(['-ccount', '20', '-mcount', '0'], { expectSessions: 20 });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.deepEqual(run.failures, []);
  assert.equal(run.sessions.length, 20);
  assert.equal(count(run.stdout, VERIFIED), 0, 'no message, so no MIC');
  assert.equal(count(run.stdout, 'locally initiated, open'), 20);
  for (const s of run.sessions) {
    assert.equal(s.principal, 'alice@KRBTEST.COM');
    assert.equal(s.mech, 'krb5');
  }
  assert.equal(new Set(run.sessions.map((s) => s.connectionId)).size, 20, 'one connection id per connection');
  const after = theServer().server.pool.stats();
  assert.equal(after.created - before.created, 20);
  assert.equal(after.completed - before.completed, 20);
  assert.equal(after.failed - before.failed, 0);
  assert.equal(after.released - before.released, 20, 'every context released when its connection closed');
  assert.equal(after.live, 0);
});

test('-na: refused by default (ERR_UNAUTHENTICATED_REFUSED), no context', async () => {
  const before = theServer().server.pool.stats();
  const run = await gss(['-na'], { expectFailures: 1 });
  assert.notEqual(run.code, 0, run.stdout + run.stderr);
  assert.deepEqual(run.sessions, []);
  assert.deepEqual(run.failures.map((f) => f.code), ['ERR_UNAUTHENTICATED_REFUSED']);
  assert.equal(count(run.stdout, NO_MIC_REPLY), 0);
  assert.equal(theServer().server.pool.stats().created, before.created, 'no security context was created');
});

test('-na with gssSampleAllowUnauthenticated: unauthenticated exchange, no context, no MIC', async () => {
  const allowing = await startTestServer(theRealm(), { sspi: undefined, gssSampleAllowUnauthenticated: true });
  const failed: HandshakeFailure[] = [];
  allowing.server.on('handshakeFailed', (f: HandshakeFailure) => failed.push(f));
  const args = ['-port', String(allowing.gssSamplePort), '-na', 'localhost', 'host@localhost', 'hello'];
  const created = allowing.server.pool.stats().created;
  let run: ClientRun;
  let createdDuring: number;
  try {
    run = await runClient(gssClient, args, theRealm(), CLIENT_TIMEOUT_MS, { LC_ALL: 'C' });
    createdDuring = allowing.server.pool.stats().created - created;
  } finally {
    await allowing.server.close();
  }
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.deepEqual(failed, []);
  assert.equal(count(run.stdout, VERIFIED), 0);
  assert.match(run.stdout, new RegExp(NO_MIC_REPLY));
  assert.equal(createdDuring, 0, 'no security context was created');
});

test('-nw -nx -nm (flags 0x04): plain data, answered with a NOOP, no MIC', async () => {
  const run = await gss(['-nw', '-nx', '-nm'], { expectSessions: 1 });
  oneSession(run, { spnego: false });
  assert.equal(count(run.stdout, VERIFIED), 0);
  assert.match(run.stdout, new RegExp(NO_MIC_REPLY));
});

test('-nw (flags 0xC4: ENCRYPTED|SEND_MIC on unwrapped data): MIC over the plain message', async () => {
  const run = await gss(['-nw'], { expectSessions: 1 });
  oneSession(run, { spnego: false });
  assert.equal(count(run.stdout, VERIFIED), 1);
});

test('-nx (flags 0xA4: wrapped without confidentiality): MIC over the unwrapped message', async () => {
  const run = await gss(['-nx'], { expectSessions: 1 });
  oneSession(run, { spnego: false });
  assert.equal(count(run.stdout, VERIFIED), 1);
});

test('-nm (flags 0x64: wrapped and encrypted, no MIC requested): NOOP reply', async () => {
  const run = await gss(['-nm'], { expectSessions: 1 });
  oneSession(run, { spnego: false });
  assert.equal(count(run.stdout, VERIFIED), 0);
  assert.match(run.stdout, new RegExp(NO_MIC_REPLY));
});

test('-f with a 40 KB message: wrapped data spanning many TCP segments, MIC verified', async () => {
  const file = path.join(theRealm().dir, 'message-40k.txt');
  await fs.writeFile(file, 'abcdefghij'.repeat(4000));
  const run = await gss(['-f'], { msg: file, expectSessions: 1 });
  oneSession(run, { spnego: false });
  assert.equal(count(run.stdout, VERIFIED), 1);
});

test('a message frame above maxTokenBytes ends the connection and frees its context', async () => {
  const file = path.join(theRealm().dir, 'message-70k.txt');
  await fs.writeFile(file, 'x'.repeat(70_000)); // wrapped: > 65536, the test server's maxTokenBytes
  const run = await gss(['-f'], { msg: file, expectSessions: 1 });
  assert.notEqual(run.code, 0, 'the client sees the connection drop');
  assert.equal(count(run.stdout, VERIFIED), 0);
  assert.equal(run.sessions.length, 1, 'the handshake itself succeeded');
  assert.deepEqual(run.failures, [], 'a post-handshake error is not a handshake failure');
  // gss() already waited for live === 0: the context was released with the connection.
});

test('service with no key in the keytab (krb5): client fails, ERR_GSS_WRONG_PRINCIPAL', async () => {
  await theRealm().addPrincipal('nfs/localhost'); // in the KDC only, not in our keytab
  const before = theServer().server.pool.stats();
  const run = await gss([], { service: 'nfs@localhost', expectFailures: 1 });
  assert.notEqual(run.code, 0, 'gss-client must fail');
  assert.equal(count(run.stdout, VERIFIED), 0);
  assert.deepEqual(run.sessions, []);
  assert.equal(run.failures.length, 1);
  const f = run.failures[0] as HandshakeFailure;
  assert.equal(f.frontend, 'gss-sample');
  assert.equal(f.code, 'ERR_GSS_WRONG_PRINCIPAL', f.message);
  assert.match(f.message, /nfs\/localhost@KRBTEST\.COM/);
  // Our KRB-ERROR token reached the client: it reports the acceptor's reason.
  assert.match(run.stdout + run.stderr, /The ticket isn't for us/);
  const after = theServer().server.pool.stats();
  assert.equal(after.failed - before.failed, 1);
  assert.equal(after.live, 0);
});

test(
  'service with no key in the keytab (SPNEGO): ERR_GSS_WRONG_PRINCIPAL too',
  async () => {
    await theRealm().addPrincipal('nfs2/localhost');
    const run = await gss(['-spnego'], { service: 'nfs2@localhost', expectFailures: 1 });
    assert.notEqual(run.code, 0, 'gss-client must fail');
    assert.deepEqual(run.sessions, []);
    assert.equal(run.failures.length, 1);
    const f = run.failures[0] as HandshakeFailure;
    assert.match(f.message, /nfs2\/localhost@KRBTEST\.COM/);
    assert.match(run.stdout + run.stderr, /The ticket isn't for us/);
    assert.equal(f.code, 'ERR_GSS_WRONG_PRINCIPAL', f.message);
  },
);

test('after every case: no security context left in the table', async () => {
  const { server } = theServer();
  await waitUntil(() => server.pool.stats().live === 0, 'live contexts to reach 0', 2000);
  const stats = server.pool.stats();
  assert.equal(stats.live, 0);
  assert.equal(stats.handshaking, 0);
  assert.equal(stats.established, 0);
  assert.equal(stats.created, stats.completed + stats.failed + stats.expired, 'every context either completed or failed');
  assert.equal(stats.expired, 0, 'nothing had to be swept');
  assert.ok(sessions.length >= 30, `sessions seen: ${sessions.length}`);
});
