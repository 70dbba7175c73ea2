/**
 * Checks of the acceptor's reply token: a Kerberos AP-REP proves the server completed mutual
 * authentication, where a KRB-ERROR in the same frame means it refused.
 */
import assert from 'node:assert/strict';

/** The Kerberos GSS token header: 0x60, then the krb5 mech OID 1.2.840.113554.1.2.2. */
const KRB5_OID_DER = Buffer.from('06092a864886f712010202', 'hex');

/** Asserts a raw-krb5 AP-REP (RFC 1964 TOK_ID 02 00), not a KRB-ERROR (03 00). */
export function assertApRep(token: Buffer): void {
  assert.equal(token[0], 0x60, 'a GSS initial-context token');
  const oidAt = token.indexOf(KRB5_OID_DER);
  assert.ok(oidAt > 0 && oidAt < 6, 'carrying the krb5 mech OID');
  assert.deepEqual([...token.subarray(oidAt + KRB5_OID_DER.length, oidAt + KRB5_OID_DER.length + 2)], [0x02, 0x00], 'an AP-REP, not a KRB-ERROR');
}
