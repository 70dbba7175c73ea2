/**
 * Whether a Negotiate token opens a new handshake rather than continuing one: a GSS-API
 * InitialContextToken (RFC 2743 §3.1: tag 0x60, as SPNEGO's NegTokenInit and raw Kerberos
 * AP-REQs are framed) or a raw NTLM NEGOTIATE message (MS-NLMP §2.2.1.1: "NTLMSSP\0", type 1).
 * A connection-bound front end uses it to drop a half-done handshake the client has given up
 * on, instead of feeding the new handshake's first token to the old context.
 */

const kNtlmSignature = Buffer.from('NTLMSSP\0', 'latin1');
const kNtlmNegotiate = 1;

export function opensHandshake(token: Uint8Array): boolean {
  if (token[0] === 0x60) return true;
  if (token.length < kNtlmSignature.length + 4) return false;
  const bytes = Buffer.from(token.buffer, token.byteOffset, token.byteLength);
  return bytes.subarray(0, kNtlmSignature.length).equals(kNtlmSignature) && bytes.readUInt32LE(8) === kNtlmNegotiate;
}
