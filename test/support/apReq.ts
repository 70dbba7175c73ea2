/**
 * Finds the AP-REQ's ap-options inside a raw krb5 or initial SPNEGO token, so a test can alter
 * the one field of an AP-REQ that no checksum covers. Test-only DER walking, lengths checked.
 */
interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function read(buf: Buffer, at: number, limit: number): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = buf[at] ?? 0;
  let len = buf[at + 1] ?? 0;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[p++] ?? 0);
  }
  if (p + len > limit) return undefined;
  return { tag, start: p, end: p + len };
}

function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.start; p < parent.end; ) {
    const t = read(buf, p, parent.end);
    if (!t) break;
    out.push(t);
    p = t.end;
  }
  return out;
}

/** Index of ap-options' first flag byte (holds reserved, use-session-key, mutual-required). */
export function findApOptions(token: Buffer): { firstFlagByte: number; lastByte: number } | undefined {
  // Search for the AP-REQ ([APPLICATION 14] = 0x6e) wherever it sits: the framing around it
  // (GSS header, SPNEGO NegTokenInit, OCTET STRING) is not what this helper tests.
  for (let i = 0; i < token.length; i++) {
    if (token[i] !== 0x6e) continue;
    const apReq = read(token, i, token.length);
    if (!apReq) continue;
    const [seq] = children(token, apReq);
    if (!seq || seq.tag !== 0x30) continue;
    const field = children(token, seq).find((f) => f.tag === 0xa2);
    if (!field) continue;
    const [bits] = children(token, field);
    if (!bits || bits.tag !== 0x03 || bits.end - bits.start < 2) continue;
    return { firstFlagByte: bits.start + 1, lastByte: bits.end - 1 };
  }
  return undefined;
}
