/**
 * Re-encodings of a captured Kerberos AP-REQ that MIT's decoder still reads as the same
 * message while a naive DER walker reads something else: the bytes of the replay-cache bypass
 * (issue "Hostile clients II", item 0). Test-only DER, every length checked.
 */
import { randomBytes } from 'node:crypto';
import { der, negTokenInit, oid } from './spnegoDer.js';

export const KRB5_OID = '1.2.840.113554.1.2.2';

interface Tlv {
  /** Offset of the tag byte. */
  at: number;
  tag: number;
  start: number;
  end: number;
}

function readTlv(buf: Buffer, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new Error(`DER: no element at ${at}`);
  const tag = buf[at] ?? 0;
  let len = buf[at + 1] ?? 0;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) throw new Error(`DER: bad length at ${at}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[p++] ?? 0);
  }
  if (p + len > limit) throw new Error(`DER: element at ${at} overruns its parent`);
  return { at, tag, start: p, end: p + len };
}

function childrenOf(buf: Buffer, parent: { start: number; end: number }): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.start; p < parent.end;) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** A length in the long form with exactly `octets` length octets (non-minimal on purpose). */
export function longLength(n: number, octets: number): Buffer {
  const out = Buffer.alloc(1 + octets);
  out[0] = 0x80 | octets;
  for (let i = octets, v = n; i >= 1; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  return out;
}

/** The parts of a raw krb5 GSS token (RFC 4121 §4.1): its OID TLV and the AP-REQ's fields. */
export interface Krb5ApReq {
  oidTlv: Buffer;
  /**
   * The raw TLVs inside the AP-REQ's SEQUENCE: pvno [0], msg-type [1], ap-options [2], ticket [3], authenticator [4].
   */
  fields: Buffer[];
}

export function splitKrb5Token(token: Buffer): Krb5ApReq {
  const outer = readTlv(token, 0, token.length);
  if (outer.tag !== 0x60) throw new Error('not a GSS initial context token');
  const oidTlv = readTlv(token, outer.start, outer.end);
  const tokId = oidTlv.end;
  if (token[tokId] !== 0x01 || token[tokId + 1] !== 0x00) throw new Error('TOK_ID is not 01 00 (AP-REQ)');
  const apReq = readTlv(token, tokId + 2, outer.end);
  if (apReq.tag !== 0x6e) throw new Error('not an AP-REQ');
  const [seq] = childrenOf(token, apReq);
  if (!seq || seq.tag !== 0x30) throw new Error('AP-REQ without its SEQUENCE');
  return {
    oidTlv: token.subarray(oidTlv.at, oidTlv.end),
    fields: childrenOf(token, seq).map((f) => token.subarray(f.at, f.end)),
  };
}

/** Reassembles a raw krb5 GSS token around AP-REQ fields (whatever bytes they are). */
export function joinKrb5Token(parts: Krb5ApReq, apReqTag: Buffer = Buffer.from([0x6e])): Buffer {
  const seq = der(0x30, Buffer.concat(parts.fields));
  const apReq = Buffer.concat([apReqTag, lengthOf(seq.length), seq]);
  return der(0x60, Buffer.concat([parts.oidTlv, Buffer.from([0x01, 0x00]), apReq]));
}

/** A minimal definite length. */
function lengthOf(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  return n < 0x100 ? longLength(n, 1) : longLength(n, n < 0x10000 ? 2 : 3);
}

/** The content bytes of a field TLV. */
function contentOf(field: Buffer): Buffer {
  const t = readTlv(field, 0, field.length);
  return field.subarray(t.start, t.end);
}

/** A fake EncryptedData for [4]: etype 18, 32 random cipher bytes. */
export function fakeAuthenticator(): Buffer {
  return der(
    0xa4,
    der(0x30, Buffer.concat([der(0xa0, der(0x02, Buffer.from([0x12]))), der(0xa2, der(0x04, randomBytes(32)))])),
  );
}

/**
 * Attack 1 (single leg): the real authenticator in the high-tag-number form of [4] (`bf 04`)
 * with a 3-octet length, then a fake [4] appended. MIT decodes the first as field 4 and ignores
 * what follows the last field; a walker that reads one-byte tags records the fake.
 */
export function hideAuthenticator(token: Buffer): Buffer {
  const parts = splitKrb5Token(token);
  const auth = parts.fields.find((f) => f[0] === 0xa4);
  if (!auth) throw new Error('no authenticator field');
  const body = contentOf(auth);
  const hidden = Buffer.concat([Buffer.from([0xbf, 0x04]), longLength(body.length, 3), body]);
  return joinKrb5Token({
    oidTlv: parts.oidTlv,
    fields: [...parts.fields.filter((f) => f !== auth), hidden, fakeAuthenticator()],
  });
}

/**
 * Attack 2, leg 2's AP-REQ: [APPLICATION 14] in the high-tag-number form (`7f 0e`) and the
 * authenticator as `bf 04` with a 5-octet length.
 */
export function obscureApReq(token: Buffer): Buffer {
  const parts = splitKrb5Token(token);
  const fields = parts.fields.map((f) =>
    f[0] === 0xa4 ? Buffer.concat([Buffer.from([0xbf, 0x04]), longLength(contentOf(f).length, 4), contentOf(f)]) : f,
  );
  return joinKrb5Token({ oidTlv: parts.oidTlv, fields }, Buffer.from([0x7f, 0x0e]));
}

/** A NegTokenInit with the krb5 token as its optimistic mechToken (what a browser sends). */
export function spnegoAround(krb5Token: Buffer): Buffer {
  return negTokenInit([KRB5_OID], krb5Token);
}

/**
 * Attack 2, leg 1: NegTokenInit { mechTypes [0] {krb5}, [5] NULL, mechToken [2] fake AP-REQ }.
 * MIT stops at the unknown [5] and sees no mechToken (it answers "continue"); a walker that
 * skips unknown fields finds the fake AP-REQ.
 */
export function decoyNegTokenInit(fakeKrb5Token: Buffer): Buffer {
  const fields = [
    der(0xa0, der(0x30, oid(KRB5_OID))),
    der(0xa5, Buffer.from([0x05, 0x00])),
    der(0xa2, der(0x04, fakeKrb5Token)),
  ];
  const init = der(0xa0, der(0x30, Buffer.concat(fields)));
  return der(0x60, Buffer.concat([oid('1.3.6.1.5.5.2'), init]));
}

/** A fake raw krb5 AP-REQ: a real token's ticket with a random authenticator. */
export function fakeKrb5Token(real: Buffer): Buffer {
  const parts = splitKrb5Token(real);
  return joinKrb5Token({
    oidTlv: parts.oidTlv,
    fields: [...parts.fields.filter((f) => f[0] !== 0xa4), fakeAuthenticator()],
  });
}

/** NegTokenResp { responseToken [2] token }: a later leg. */
export function negTokenResp(token: Buffer): Buffer {
  return der(0xa1, der(0x30, der(0xa2, der(0x04, token))));
}
