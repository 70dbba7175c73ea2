/**
 * Channel binding (Extended Protection) through the pool and MIT's acceptor, without sockets:
 * python3-gssapi tokens bound to one certificate's tls-server-end-point, accepted with that
 * certificate's, with another's, and tokens bound to nothing, under each policy; and NTLM
 * (gss-ntlmssp), which binds too but reports a wrong binding as a defective token.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuthPool } from '../../src/pool/AuthPool.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { NegotiateError } from '../../src/errors.js';
import { tlsServerEndPoint } from '../../src/tls/channelBindings.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, useRealm } from '../support/server.js';
import { Initiator, firstTokens, type InitiatorMech } from '../support/initiator.js';
import { randomBytes } from 'node:crypto';
import { selfSignedCertificate, type TestCertificate } from '../support/tlsFiles.js';

let realm: ThrowawayRealm;
let pool: AuthPool;
let ours: Buffer;
let theirs: Buffer;
let nextId = 5_000_000;
const certificates: TestCertificate[] = [];

before(async () => {
  requirePythonGssapi();
  // A hex password: the NTLM initiator takes it as an argument, and a leading '-' would break that.
  realm = await startTestRealm({ password: randomBytes(16).toString('hex') });
  useRealm(realm);
  // The default (file) replay cache, as deployed: each token below is fresh.
  pool = await AuthPool.start({ credentials: { keytab: realm.keytab, ntlm: true }, workers: 2 });
  certificates.push(await selfSignedCertificate('localhost'), await selfSignedCertificate('localhost'));
  ours = tlsServerEndPoint(certificates[0]?.der ?? Buffer.alloc(0));
  theirs = tlsServerEndPoint(certificates[1]?.der ?? Buffer.alloc(0));
});
after(async () => {
  await pool?.close();
  await realm?.destroy();
  await Promise.all(certificates.map((c) => c.remove()));
});

async function token(mech: InitiatorMech, bindings?: Buffer): Promise<Buffer> {
  const [t] = await firstTokens(realm, { mech, ...(bindings ? { channelBindings: bindings } : {}) }, 1);
  assert.ok(t);
  return t;
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<NegotiateError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof NegotiateError, `expected a NegotiateError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected rejection with ${code}`);
}

for (const mech of ['spnego', 'krb5'] as const) {
  test(`${mech}: bindings for this certificate complete a bound context (when-supported, required)`, async () => {
    for (const channelBinding of ['when-supported', 'required'] as const) {
      const step = await pool.accept(nextId++, await token(mech, ours), {
        releaseAfter: true,
        channelBindings: ours,
        channelBinding,
      });
      assert.equal(step.status, 'complete');
      assert.equal(step.status === 'complete' && step.flags.channelBound, true, channelBinding);
      assert.equal(step.status === 'complete' && step.principal, realm.userPrincipal);
    }
  });

  test(`${mech}: bindings for another certificate are refused, also under when-supported`, async () => {
    for (const channelBinding of ['when-supported', 'required'] as const) {
      const err = await rejectsWithCode(
        pool.accept(nextId++, await token(mech, theirs), { releaseAfter: true, channelBindings: ours, channelBinding }),
        'ERR_CHANNEL_BINDING_MISMATCH',
      );
      assert.match(err.message, /another TLS certificate/);
    }
  });

  test(`${mech}: a client that sent no bindings passes when-supported (not bound) and fails required`, async () => {
    const step = await pool.accept(nextId++, await token(mech), { releaseAfter: true, channelBindings: ours });
    assert.equal(step.status === 'complete' && step.flags.channelBound, false);
    const err = await rejectsWithCode(
      pool.accept(nextId++, await token(mech), {
        releaseAfter: true,
        channelBindings: ours,
        channelBinding: 'required',
      }),
      'ERR_CHANNEL_BINDING_REQUIRED',
    );
    assert.match(err.message, /sent no channel bindings/);
  });
}

test('off: the client bindings are ignored, even for another certificate; the context is not bound', async () => {
  const step = await pool.accept(nextId++, await token('spnego', theirs), {
    releaseAfter: true,
    channelBindings: ours,
    channelBinding: 'off',
  });
  assert.equal(step.status === 'complete' && step.flags.channelBound, false);
});

test('required with no channel to bind (no TLS) refuses even a bound client', async () => {
  const err = await rejectsWithCode(
    pool.accept(nextId++, await token('spnego', ours), { releaseAfter: true, channelBinding: 'required' }),
    'ERR_CHANNEL_BINDING_REQUIRED',
  );
  assert.match(err.message, /no TLS channel/);
});

test('without TLS options nothing changes: bound and unbound clients complete, not channel-bound', async () => {
  for (const bindings of [ours, undefined]) {
    const step = await pool.accept(nextId++, await token('spnego', bindings), { releaseAfter: true });
    assert.equal(step.status === 'complete' && step.flags.channelBound, false);
  }
});

/** A whole NTLM handshake (three legs) with the pool under `channelBinding`; the client bound to `bindings`. */
async function ntlmHandshake(
  mech: 'ntlm' | 'spnego-ntlm',
  bindings: Buffer | undefined,
  channelBinding: 'when-supported' | 'required',
): Promise<boolean> {
  const ini = Initiator.start(realm, { mech, ...(bindings ? { channelBindings: bindings } : {}) });
  const id = nextId++;
  try {
    let out = await ini.step();
    for (let legs = 0; legs < 4; legs++) {
      const step = await pool.accept(id, out.token, { channelBindings: ours, channelBinding });
      if (step.status === 'complete') return step.flags.channelBound;
      out = await ini.step(step.output);
    }
    return assert.fail('no completion in 4 legs');
  } finally {
    pool.release(id);
    ini.close();
  }
}

for (const mech of ['ntlm', 'spnego-ntlm'] as const) {
  test(`${mech} (gss-ntlmssp) binds too: bound, unbound, and another certificate's (a defective token)`, async () => {
    assert.equal(await ntlmHandshake(mech, ours, 'required'), true);
    assert.equal(await ntlmHandshake(mech, undefined, 'when-supported'), false);
    await rejectsWithCode(ntlmHandshake(mech, undefined, 'required'), 'ERR_CHANNEL_BINDING_REQUIRED');
    // gss-ntlmssp reports a binding mismatch as GSS_S_DEFECTIVE_TOKEN (minor EACCES), not
    // GSS_S_BAD_BINDINGS: refused all the same, under its own code.
    await rejectsWithCode(ntlmHandshake(mech, theirs, 'when-supported'), 'ERR_GSS_DEFECTIVE_TOKEN');
  });
}
