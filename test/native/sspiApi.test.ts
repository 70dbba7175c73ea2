/**
 * The SSPI-vocabulary façade: the Windows sample's server loop written with
 * acquireCredentialsHandle / acceptSecurityContext against a real initiator.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  acceptSecurityContext,
  acquireCredentialsHandle,
  decryptMessage,
  encryptMessage,
  makeSignature,
  verifySignature,
  SecurityContextHandle,
  type CredentialsHandle,
} from '../../src/sspi.js';
import { NegotiateError } from '../../src/errors.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { startTestRealm } from '../support/realm.js';
import { FAULT_WORKER } from '../support/faultWorker.js';
import { requirePythonGssapi, useRealm } from '../support/server.js';
import { Initiator, type InitiatorMech } from '../support/initiator.js';

let realm: ThrowawayRealm;
let cred: CredentialsHandle;

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  useRealm(realm);
  cred = await acquireCredentialsHandle({ keytab: realm.keytab, ntlm: true, workers: 2, workerFile: FAULT_WORKER });
});
after(async () => {
  await cred?.free();
  await realm?.destroy();
});

/** The reference server's loop: accept, send output if any, repeat while CONTINUE. */
async function serverLoop(mech: InitiatorMech): Promise<{ ctx: SecurityContextHandle; ini: Initiator; legs: number }> {
  const ini = Initiator.start(realm, { mech });
  const ctx = new SecurityContextHandle();
  let out = await ini.step();
  let legs = 1;
  for (;;) {
    const r = await acceptSecurityContext(cred, ctx, out.token);
    legs++;
    if (r.status === 'SEC_E_OK') {
      if (r.outputToken.length > 0) out = await ini.step(r.outputToken);
      assert.equal(out.complete, true);
      return { ctx, ini, legs };
    }
    assert.equal(r.status, 'SEC_I_CONTINUE_NEEDED');
    assert.ok(r.outputToken.length > 0);
    out = await ini.step(r.outputToken);
    legs++;
  }
}

test('Negotiate with Kerberos: SEC_E_OK on the first leg, attributes name the client', async () => {
  const { ctx, ini } = await serverLoop('spnego');
  const a = ctx.attributes;
  assert.ok(a);
  assert.equal(a.names, realm.userPrincipal);
  assert.equal(a.packageName, 'Kerberos');
  assert.equal(a.negotiated, true);
  assert.equal(a.flags.mutual, true);
  const before = cred.pool.stats().released;
  ctx.delete();
  assert.equal(cred.pool.stats().released, before + 1);
  ini.close();
});

test('Negotiate with NTLM: SEC_I_CONTINUE_NEEDED, then SEC_E_OK', async () => {
  const { ctx, ini, legs } = await serverLoop('spnego-ntlm');
  assert.equal(legs, 4);
  assert.equal(ctx.attributes?.packageName, 'NTLM');
  assert.equal(ctx.attributes?.names, realm.ntlmUser);
  ctx.delete();
  ini.close();
});

test('EncryptMessage/DecryptMessage and MakeSignature/VerifySignature with the client', async () => {
  const { ctx, ini } = await serverLoop('spnego');
  const { trailer, ciphertext } = await encryptMessage(ctx, Buffer.from('This is your server speaking'));
  assert.equal((await ini.unwrap(Buffer.concat([trailer, ciphertext]))).message.toString(), 'This is your server speaking');
  const fromClient = await ini.wrap(Buffer.from('hello server'));
  // A Kerberos wrap token split SSPI-style: the 60-byte header holds the rotated trailer.
  assert.equal((await decryptMessage(ctx, fromClient.subarray(0, 60), fromClient.subarray(60))).toString(), 'hello server');
  const sig = await makeSignature(ctx, Buffer.from('signed'));
  await ini.verifyMic(Buffer.from('signed'), sig);
  await verifySignature(ctx, Buffer.from('from client'), await ini.getMic(Buffer.from('from client')));
  await assert.rejects(verifySignature(ctx, Buffer.from('forged'), await ini.getMic(Buffer.from('from client'))), (e: NegotiateError) => e.code === 'ERR_GSS_BAD_SIG');
  ctx.delete();
  ini.close();
});

test('protection before completion and a second handshake on a done context are refused', async () => {
  const fresh = new SecurityContextHandle();
  await assert.rejects(encryptMessage(fresh, Buffer.from('x')), (e: NegotiateError) => e.code === 'ERR_CONTEXT_NOT_ESTABLISHED');
  const { ctx, ini } = await serverLoop('krb5');
  await assert.rejects(acceptSecurityContext(cred, ctx, Buffer.from('again')), (e: NegotiateError) => e.code === 'ERR_CONTEXT_ESTABLISHED');
  ctx.delete();
  ini.close();
});

test('a failed accept throws a GssError with the stable code and frees the context', async () => {
  const ctx = new SecurityContextHandle();
  const live = cred.pool.stats().live;
  await assert.rejects(acceptSecurityContext(cred, ctx, Buffer.from('garbage')), (e: NegotiateError) => e.code === 'ERR_GSS_DEFECTIVE_TOKEN');
  assert.equal(cred.pool.stats().live, live);
});

test('deleting a context while its first leg waits for a worker leaves nothing behind', async () => {
  const ini = Initiator.start(realm, { mech: 'spnego' });
  const token = (await ini.step()).token;
  const live = cred.pool.stats().live;
  const stalls = [cred.pool.stallWorker(300), cred.pool.stallWorker(300)];
  const ctx = new SecurityContextHandle();
  const leg = acceptSecurityContext(cred, ctx, token);
  ctx.delete();
  await assert.rejects(leg, (e: NegotiateError) => e.code === 'ERR_CONTEXT_NOT_FOUND');
  await Promise.all(stalls);
  assert.equal(cred.pool.stats().live, live);
  ini.close();
});
