/**
 * Hostile tokens inside well-formed frames: random bytes, truncated and bit-flipped real
 * AP-REQs, a genuine ticket for a service this server has no key for, a replayed AP-REQ (also
 * across front ends), an authenticator from a client whose clock is an hour ahead, NTLM to a
 * server without NTLM, and hand-built SPNEGO offering only mechanisms nobody implements.
 *
 * Each case asserts the exact code on 'handshakeFailed', what the peer is sent back (nothing,
 * a KRB-ERROR, or SPNEGO's reject), that no session appears, that the context table drains,
 * and that a real client authenticates right after.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';

import { encodeGssSampleFrame, encodeSspiFrame, SspiFrameDecoder, TokenFlag } from '../../src/framing/index.js';
import { loadNative } from '../../src/native.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { mulberry32 } from '../support/framing.js';
import { Initiator, firstTokens } from '../support/initiator.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { apReqCiphertexts } from './apReqLayout.js';
import { legitHandshake, ServerWatch } from './harness.js';
import { flipBit, randomBytes as seededBytes, truncations } from './mutations.js';
import { sendAndCollect } from '../support/rawConn.js';
import { waitUntil } from '../support/waitUntil.js';
import { skewedCcache, tokensFromCcache } from './realTokens.js';
import { MADE_UP_OIDS, NEG_TOKEN_REJECT, NTLMSSP_OID, negTokenInit } from './spnegoDer.js';

const T = { timeout: 30_000 };
const GSS_CODE = /^ERR_GSS_[A-Z_]+$/;
/** KRB-ERROR error-code field `[6] INTEGER n` (RFC 4120 §5.9.1), as DER. */
const krbErrorCode = (n: number): Buffer => Buffer.from([0xa6, 0x03, 0x02, 0x01, n]);
const KRB_AP_ERR_REPEAT = 34;
const KRB_AP_ERR_NOT_US = 35;
const KRB_AP_ERR_SKEW = 37;

let realm: ThrowawayRealm;
let ts: TestServer;
let watch: ServerWatch;

before(async () => {
  requirePythonGssapi();
  // Hex: the NTLM initiator takes the password as an argument, and '-' would start an option.
  realm = await startTestRealm({ password: randomBytes(16).toString('hex') });
  ts = await startTestServer(realm, { ntlm: false, http: { host: '127.0.0.1', port: 0 } });
  watch = new ServerWatch(ts.server);
});

after(async () => {
  await ts?.server.close(0);
  await realm?.destroy();
});

type Outcome =
  { kind: 'failure'; code: string; message: string; reply: Buffer[] } | { kind: 'session'; principal: string };

/** Sends `token` as one sspi frame and returns what became of it, with the frames sent back. */
async function overSspi(token: Buffer): Promise<Outcome> {
  const m = watch.mark();
  const r = await sendAndCollect(ts.sspiPort, encodeSspiFrame(token));
  await waitUntil(
    () => watch.failures.length > m.failures || watch.sessions.length > m.sessions,
    'an outcome for the token',
  );
  const s = watch.sessions[m.sessions];
  if (s) return { kind: 'session', principal: s.principal };
  const f = watch.failures[m.failures];
  assert.ok(f);
  return { kind: 'failure', code: f.code, message: f.message, reply: new SspiFrameDecoder(1 << 20).push(r.bytes) };
}

async function expectSspiFailure(token: Buffer, code: string): Promise<Buffer[]> {
  const o = await overSspi(token);
  assert.equal(o.kind, 'failure', `expected ${code}, the token authenticated`);
  if (o.kind !== 'failure') throw new Error('unreachable');
  assert.equal(o.code, code, o.message);
  assert.ok(o.reply.length <= 1, `at most one error token before the close, got ${o.reply.length} frames`);
  return o.reply;
}

/** Sends `token` on the gss-sample framing as gss-client would, and returns the failure code. */
async function gssSampleFailure(token: Buffer): Promise<string> {
  const m = watch.mark();
  await sendAndCollect(
    ts.gssSamplePort,
    Buffer.concat([
      encodeGssSampleFrame(TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT),
      encodeGssSampleFrame(TokenFlag.CONTEXT, token),
    ]),
  );
  const f = await watch.failureSince(m);
  assert.equal(f.frontend, 'gss-sample');
  assert.equal(watch.sessions.length, m.sessions, 'no session');
  return f.code;
}

/** GET /whoami with `Authorization: Negotiate <token>`; returns the status and the failure code. */
async function overHttp(
  token: Buffer,
): Promise<{ status: number; wwwAuthenticate: string | undefined; code: string | undefined }> {
  const m = watch.mark();
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port: ts.httpPort,
        path: '/whoami',
        agent: false,
        timeout: 10_000,
        headers: { Connection: 'close', Authorization: `Negotiate ${token.toString('base64')}` },
      },
      resolve,
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
  res.resume();
  await new Promise((r) => res.on('end', r));
  if (res.statusCode !== 200) await watch.failureSince(m);
  const www = res.headers['www-authenticate'];
  return {
    status: res.statusCode ?? 0,
    wwwAuthenticate: Array.isArray(www) ? www.join(', ') : www,
    code: watch.failures[m.failures]?.code,
  };
}

// ------------------------------------------------------------------------------ random bytes

test(
  'random tokens (some with a GSS, AP-REQ or NTLMSSP first byte) all fail with a GSS code; nothing authenticates',
  T,
  async (t) => {
    const rng = mulberry32(0x5eed_0001);
    const before = await watch.drained();
    const codes = new Map<string, number>();
    const n = 80;
    for (let i = 0; i < n; i++) {
      let token = seededBytes(rng, 1 + Math.floor(rng() * 2048));
      if (i % 4 === 1) token[0] = 0x60; // claims to be a GSS initial token
      if (i % 4 === 2) token[0] = 0x6e; // claims to be a raw AP-REQ
      if (i % 4 === 3) token = Buffer.concat([Buffer.from('NTLMSSP\0', 'latin1'), token]);
      const o = await overSspi(token);
      assert.equal(o.kind, 'failure', `random token #${i} authenticated`);
      if (o.kind !== 'failure') continue;
      assert.match(o.code, GSS_CODE, `#${i}: ${o.message}`);
      assert.ok(o.reply.length <= 1, `#${i}: at most one error token`);
      codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
    }
    t.diagnostic(`codes: ${JSON.stringify(Object.fromEntries(codes))}`);
    const after = await watch.drained();
    assert.equal(after.completed - before.completed, 0);
    assert.equal(
      after.created - before.created,
      after.failed - before.failed,
      'every context made for a random token failed and was freed',
    );
    await legitHandshake(watch, realm, ts, 'sspi');
  },
);

// ---------------------------------------------------------------------------- truncated tokens

test(
  'truncated real tokens (raw krb5 and SPNEGO, 40 lengths each) all fail; the intact tokens still authenticate',
  T,
  async (t) => {
    const [krb5] = await firstTokens(realm, { mech: 'krb5' }, 1);
    const [spnego] = await firstTokens(realm, { mech: 'spnego' }, 1);
    assert.ok(krb5 && spnego);
    const codes = new Map<string, number>();
    for (const base of [krb5, spnego]) {
      for (const { length, token } of truncations(base, 40)) {
        const o = await overSspi(token);
        assert.equal(o.kind, 'failure', `a ${length}-byte prefix of a ${base.length}-byte token authenticated`);
        if (o.kind === 'failure') {
          assert.match(o.code, GSS_CODE, o.message);
          codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
        }
      }
    }
    t.diagnostic(`codes: ${JSON.stringify(Object.fromEntries(codes))}`);
    // The failed prefixes left nothing in the replay cache: the whole tokens are still fresh.
    for (const whole of [krb5, spnego]) {
      const o = await overSspi(whole);
      assert.deepEqual(o, { kind: 'session', principal: realm.userPrincipal });
    }
    await watch.drained();
    await legitHandshake(watch, realm, ts, 'sspi');
  },
);

// ------------------------------------------------------------------------- bit-flipped tokens

test(
  'bit-flipped AP-REQs (160 positions): every flip in a ciphertext fails; any that passes still names alice',
  T,
  async (t) => {
    const n = 160;
    const tokens = await firstTokens(realm, { mech: 'krb5' }, n);
    const layout = apReqCiphertexts(tokens[0] as Buffer);
    const accepted: number[] = [];
    const codes = new Map<string, number>();
    let cipherFlips = 0;
    for (let i = 0; i < n; i++) {
      const token = tokens[i] as Buffer;
      // Fresh AP-REQ per flip: a flip that Kerberos does not notice must not turn into a replay.
      // (Lengths differ by a byte or so between AP-REQs: each gets its own layout.)
      const ciphertexts = apReqCiphertexts(token);
      const at = Math.floor((i * token.length) / n);
      const inCiphertext = ciphertexts.some(([s, e]) => at >= s && at < e);
      const o = await overSspi(flipBit(token, at, i % 8));
      if (inCiphertext) cipherFlips++;
      if (o.kind === 'session') {
        assert.equal(
          inCiphertext,
          false,
          `a flip at byte ${at}, inside a ciphertext ${JSON.stringify(ciphertexts)}, was accepted`,
        );
        assert.equal(o.principal, realm.userPrincipal, 'a tampered token can never name another client');
        accepted.push(at);
      } else {
        assert.match(o.code, GSS_CODE, o.message);
        codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
      }
    }
    assert.ok(cipherFlips > n / 2, `most positions fall in the ciphertexts (${cipherFlips} of ${n})`);
    t.diagnostic(
      `ciphertexts of the first AP-REQ at ${JSON.stringify(layout)} of ${tokens[0]?.length} bytes; accepted ` +
        `flips (unauthenticated fields: ap-options, ticket realm/sname) at ${JSON.stringify(accepted)}; codes ` +
        `${JSON.stringify(Object.fromEntries(codes))}`,
    );
    await watch.drained();
    await legitHandshake(watch, realm, ts, 'sspi');
  },
);

// ------------------------------------------- a krb5 token that is not an AP-REQ (TOK_ID)

test(
  'a krb5-OID token whose TOK_ID is not an AP-REQ is refused at once (ERR_GSS_DEFECTIVE_TOKEN), not left to stall',
  T,
  async () => {
    // MIT answers such a token with CONTINUE_NEEDED and no output: a lock-step peer would wait
    // for a reply that never comes, and the server for a token that never comes, until the
    // handshake deadline. The pool turns it into a failure.
    const krb5Oid = Buffer.from('06092a864886f712010202', 'hex');
    const forged = (tokId: number[]): Buffer => {
      const inner = Buffer.concat([krb5Oid, Buffer.from(tokId), randomBytes(60)]);
      return Buffer.concat([Buffer.from([0x60, inner.length]), inner]);
    };
    for (const tokId of [
      [0xff, 0x00],
      [0x05, 0x01],
      [0x01, 0xff],
    ]) {
      const started = Date.now();
      assert.deepEqual(await expectSspiFailure(forged(tokId), 'ERR_GSS_DEFECTIVE_TOKEN'), [], 'nothing to send back');
      assert.ok(Date.now() - started < 2000, `refused after ${Date.now() - started} ms`);
      assert.equal(await gssSampleFailure(forged(tokId)), 'ERR_GSS_DEFECTIVE_TOKEN');
      const h = await overHttp(forged(tokId));
      assert.equal(h.status, 401);
      assert.equal(h.code, 'ERR_GSS_DEFECTIVE_TOKEN', 'a broken token, not a multi-leg mechanism');
    }
    await watch.drained();
    await legitHandshake(watch, realm, ts, 'sspi');
  },
);

// ------------------------------------------------------------------ another service principal

test(
  'a genuine ticket for a service whose key this server lacks: ERR_GSS_WRONG_PRINCIPAL, a KRB-ERROR "not us"',
  T,
  async () => {
    const service = 'hostile/localhost';
    await realm.addPrincipal(service); // in the KDC only: random key, not exported to our keytab
    const keytab = loadNative().listKeytab(realm.keytab);
    assert.ok(keytab.ok, 'the server keytab is readable');
    if (keytab.ok)
      assert.ok(
        !keytab.principals.some((p) => p.startsWith(`${service}@`)),
        `the server keytab must not hold ${service}: ${keytab.principals.join(', ')}`,
      );

    const [krb5] = await firstTokens(realm, { mech: 'krb5', service: 'hostile@localhost' }, 1);
    const [spnego, spnego2] = await firstTokens(realm, { mech: 'spnego', service: 'hostile@localhost' }, 2);
    assert.ok(krb5 && spnego && spnego2);
    const reply = await expectSspiFailure(krb5, 'ERR_GSS_WRONG_PRINCIPAL');
    assert.equal(reply.length, 1, 'the KRB-ERROR goes back to the client');
    assert.ok((reply[0] as Buffer).includes(krbErrorCode(KRB_AP_ERR_NOT_US)), 'KRB_AP_ERR_NOT_US');
    await expectSspiFailure(spnego, 'ERR_GSS_WRONG_PRINCIPAL');
    const h = await overHttp(spnego2);
    assert.equal(h.status, 401);
    assert.equal(h.wwwAuthenticate, 'Negotiate', 'a bare challenge: start over');
    assert.equal(h.code, 'ERR_GSS_WRONG_PRINCIPAL');
    await watch.drained();
    await legitHandshake(watch, realm, ts, 'sspi');
    await legitHandshake(watch, realm, ts, 'http');
  },
);

// ---------------------------------------------------------------------------------- replay

test('a replayed AP-REQ is ERR_GSS_REPLAY on every front end, whichever saw it first', T, async () => {
  const [a, b] = await firstTokens(realm, { mech: 'krb5' }, 2);
  assert.ok(a && b);
  assert.deepEqual(await overSspi(a), { kind: 'session', principal: realm.userPrincipal });
  const reply = await expectSspiFailure(a, 'ERR_GSS_REPLAY');
  assert.equal(reply.length, 1);
  assert.ok((reply[0] as Buffer).includes(krbErrorCode(KRB_AP_ERR_REPEAT)), 'KRB_AP_ERR_REPEAT');
  assert.equal(await gssSampleFailure(a), 'ERR_GSS_REPLAY');
  const h = await overHttp(a);
  assert.equal(h.status, 401);
  assert.equal(h.code, 'ERR_GSS_REPLAY');
  // First seen over HTTP, replayed on TCP.
  assert.equal((await overHttp(b)).status, 200);
  await expectSspiFailure(b, 'ERR_GSS_REPLAY');
  assert.equal(await gssSampleFailure(b), 'ERR_GSS_REPLAY');
  await watch.drained();
  await legitHandshake(watch, realm, ts, 'sspi');
  await legitHandshake(watch, realm, ts, 'gss-sample');
});

// ------------------------------------------------------------------------------ clock skew

test(
  'an authenticator from a client clock an hour ahead: ERR_GSS_CLOCK_SKEW, KRB_AP_ERR_SKEW; 2 minutes ahead passes',
  T,
  async () => {
    const ahead = await skewedCcache(realm, 'host@localhost', 3600);
    const [skewed, skewed2] = await tokensFromCcache(realm, ahead, { mech: 'krb5' }, 2);
    assert.ok(skewed && skewed2);
    const reply = await expectSspiFailure(skewed, 'ERR_GSS_CLOCK_SKEW');
    assert.equal(reply.length, 1);
    assert.ok((reply[0] as Buffer).includes(krbErrorCode(KRB_AP_ERR_SKEW)), 'KRB_AP_ERR_SKEW');
    assert.equal(await gssSampleFailure(skewed2), 'ERR_GSS_CLOCK_SKEW');
    // Within the 5-minute default skew the same trick authenticates: the refusal above is the
    // clock's, not the doctored ccache's.
    const slightly = await skewedCcache(realm, 'host@localhost', 120);
    const [ok] = await tokensFromCcache(realm, slightly, { mech: 'krb5' }, 1);
    assert.deepEqual(await overSspi(ok as Buffer), { kind: 'session', principal: realm.userPrincipal });
    await watch.drained();
    await legitHandshake(watch, realm, ts, 'sspi');
  },
);

// --------------------------------------------------------------------- NTLM when disabled

// NTLM in SPNEGO is what a client sends when it cannot get a Kerberos ticket for the name it
// connected to: it is reported as that (ERR_GSS_NO_KERBEROS_TOKEN), with SPNEGO's reject.
test(
  'NTLM disabled: raw NTLMSSP is ERR_GSS_MECH_DISABLED, NTLM in SPNEGO ERR_GSS_NO_KERBEROS_TOKEN, on every front end',
  T,
  async () => {
    const tokenOf = async (mech: 'ntlm' | 'spnego-ntlm'): Promise<Buffer> => {
      const init = Initiator.start(realm, { mech });
      try {
        const first = await init.step();
        return first.token;
      } finally {
        init.close();
      }
    };
    const raw = await tokenOf('ntlm');
    assert.equal(raw.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
    assert.equal(raw.readUInt32LE(8), 1, 'an NTLM NEGOTIATE_MESSAGE');
    const wrapped = await tokenOf('spnego-ntlm');
    assert.equal(wrapped[0], 0x60);

    assert.deepEqual(await expectSspiFailure(raw, 'ERR_GSS_MECH_DISABLED'), []);
    const reply = await expectSspiFailure(wrapped, 'ERR_GSS_NO_KERBEROS_TOKEN');
    assert.ok(reply.length === 0 || (reply[0] as Buffer).equals(NEG_TOKEN_REJECT), 'nothing, or SPNEGO reject');
    assert.equal(await gssSampleFailure(raw), 'ERR_GSS_MECH_DISABLED');
    assert.equal(await gssSampleFailure(wrapped), 'ERR_GSS_NO_KERBEROS_TOKEN');
    for (const [token, code] of [
      [raw, 'ERR_GSS_MECH_DISABLED'],
      [wrapped, 'ERR_GSS_NO_KERBEROS_TOKEN'],
    ] as const) {
      const h = await overHttp(token);
      assert.equal(h.status, 401);
      assert.equal(h.wwwAuthenticate, 'Negotiate');
      assert.equal(h.code, code);
    }
    assert.equal((await watch.drained()).established, 0);
    await legitHandshake(watch, realm, ts, 'sspi');
  },
);

// --------------------------------------------------------------- SPNEGO with made-up mechs

test(
  'SPNEGO offering only mechanisms nobody here implements: ERR_GSS_BAD_MECH and exactly the reject token',
  T,
  async () => {
    const offers: Array<[string, Buffer]> = [
      ['one made-up mech with an optimistic token', negTokenInit([MADE_UP_OIDS[0]], randomBytes(40))],
      ['one made-up mech, no token', negTokenInit([MADE_UP_OIDS[0]])],
      ['two made-up mechs', negTokenInit([...MADE_UP_OIDS], randomBytes(8))],
      ['made-up and NTLM (disabled here)', negTokenInit([MADE_UP_OIDS[1], NTLMSSP_OID])],
      ['an empty mechanism list', negTokenInit([])],
    ];
    for (const [what, token] of offers) {
      const o = await overSspi(token);
      assert.equal(o.kind, 'failure', what);
      if (o.kind !== 'failure') continue;
      if (what === 'an empty mechanism list') {
        // Not even a negotiation: MIT refuses the token itself.
        assert.match(o.code, GSS_CODE, `${what}: ${o.message}`);
        continue;
      }
      const expected = what.includes('NTLM') ? 'ERR_GSS_NO_KERBEROS_TOKEN' : 'ERR_GSS_BAD_MECH';
      assert.equal(o.code, expected, `${what}: ${o.message}`);
      assert.equal(o.reply.length, 1, `${what}: one reply frame`);
      assert.ok(
        (o.reply[0] as Buffer).equals(NEG_TOKEN_REJECT),
        `${what}: negTokenResp { negState reject }, got ${(o.reply[0] as Buffer).toString('hex')}`,
      );
    }
    assert.equal(await gssSampleFailure(negTokenInit([MADE_UP_OIDS[0]])), 'ERR_GSS_BAD_MECH');
    const h = await overHttp(negTokenInit([MADE_UP_OIDS[0]], randomBytes(40)));
    assert.equal(h.status, 401);
    assert.equal(h.wwwAuthenticate, 'Negotiate', 'HTTP sends a bare challenge, not the reject token');
    assert.equal(h.code, 'ERR_GSS_BAD_MECH');
    await watch.drained();
    await legitHandshake(watch, realm, ts, 'sspi');
    await legitHandshake(watch, realm, ts, 'http');
  },
);
