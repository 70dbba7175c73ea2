/**
 * Where the ciphertexts sit in a raw-krb5 GSS initial token (RFC 4121 §4.1: `60 len`, the krb5
 * OID, TOK_ID 01 00, then the AP-REQ). A bit flipped inside them must break the token; a bit
 * flipped elsewhere may hit a field Kerberos does not authenticate.
 */

/** One DER TLV: where it starts, its tag, and where its content lies. */
interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

function readTlv(b: Buffer, at: number): Tlv {
  const tag = b[at];
  const first = b[at + 1];
  if (tag === undefined || first === undefined) throw new RangeError(`DER ends at ${at}`);
  let length = first;
  let contentStart = at + 2;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 3) throw new RangeError(`unexpected DER length form 0x${first.toString(16)} at ${at}`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (b[at + 2 + i] ?? 0);
    contentStart += n;
  }
  const end = contentStart + length;
  if (end > b.length) throw new RangeError(`DER TLV at ${at} runs past the end`);
  return { tag, start: at, contentStart, end };
}

/** Content ranges of every OCTET STRING at least `minBytes` long inside `b[from, to)`. */
function octetStrings(b: Buffer, from: number, to: number, minBytes: number, out: Array<[number, number]>): void {
  for (let at = from; at < to;) {
    const t = readTlv(b, at);
    if (t.tag === 0x04 && t.end - t.contentStart >= minBytes) out.push([t.contentStart, t.end]);
    else if (t.tag & 0x20) octetStrings(b, t.contentStart, t.end, minBytes, out);
    at = t.end;
  }
}

/**
 * The [start, end) byte ranges of the AP-REQ's two ciphertexts (the ticket's enc-part and the
 * authenticator) inside `token`, a raw-krb5 initial context token.
 */
export function apReqCiphertexts(token: Buffer): Array<[number, number]> {
  const outer = readTlv(token, 0);
  if (outer.tag !== 0x60) throw new RangeError('not a GSS initial context token');
  const oid = readTlv(token, outer.contentStart);
  const apReqAt = oid.end + 2; // TOK_ID 01 00
  if (token[oid.end] !== 0x01 || token[oid.end + 1] !== 0x00) throw new RangeError('not an AP-REQ (TOK_ID 01 00)');
  const ranges: Array<[number, number]> = [];
  octetStrings(token, apReqAt, outer.end, 32, ranges);
  if (ranges.length !== 2) throw new RangeError(`expected 2 ciphertexts in the AP-REQ, found ${ranges.length}`);
  return ranges;
}
