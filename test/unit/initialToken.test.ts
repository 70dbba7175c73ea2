/** opensHandshake: which Negotiate tokens start a new handshake (and so drop a half-done one). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opensHandshake } from '../../src/framing/initialToken.js';

function ntlm(type: number): Buffer {
  const b = Buffer.alloc(32);
  b.write('NTLMSSP\0', 'latin1');
  b.writeUInt32LE(type, 8);
  return b;
}

test('a GSS InitialContextToken (SPNEGO NegTokenInit, framed Kerberos) opens a handshake', () => {
  assert.equal(opensHandshake(Buffer.from([0x60, 0x82, 0x01, 0x00])), true);
});

test('an NTLM NEGOTIATE opens one; CHALLENGE and AUTHENTICATE do not', () => {
  assert.equal(opensHandshake(ntlm(1)), true);
  assert.equal(opensHandshake(ntlm(2)), false);
  assert.equal(opensHandshake(ntlm(3)), false);
});

test('continuation tokens and short or foreign bytes do not', () => {
  assert.equal(opensHandshake(Buffer.from([0xa1, 0x81, 0x90])), false, 'SPNEGO NegTokenResp');
  assert.equal(opensHandshake(Buffer.from('NTLMSSP\0', 'latin1')), false, 'a bare signature');
  assert.equal(opensHandshake(Buffer.alloc(0)), false);
  assert.equal(opensHandshake(ntlm(1).subarray(4)), false);
});

test('a view into a larger buffer is read at its own offset', () => {
  const big = Buffer.concat([Buffer.from([0xa1, 0x00]), ntlm(1)]);
  assert.equal(opensHandshake(big.subarray(2)), true);
  assert.equal(opensHandshake(new Uint8Array(big.buffer, big.byteOffset + 2, 32)), true);
});
