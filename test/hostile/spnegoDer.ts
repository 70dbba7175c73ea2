/**
 * Hand-built SPNEGO tokens (RFC 4178) for mechanisms nobody implements: pure DER bytes, so a
 * test can offer the acceptor exactly the mechanism list it wants.
 */

/** One DER TLV with a definite length. */
export function der(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  let length: number[];
  if (n < 0x80) length = [n];
  else if (n < 0x100) length = [0x81, n];
  else if (n < 0x10000) length = [0x82, n >> 8, n & 0xff];
  else throw new RangeError(`DER content of ${n} bytes is more than this builder needs`);
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}

/** DER OBJECT IDENTIFIER for a dotted OID such as `1.3.6.1.5.5.2`. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => Number(a));
  const [first = 0, second = 0, ...rest] = arcs;
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift((v & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return der(0x06, Buffer.from(bytes));
}

export const SPNEGO_OID = '1.3.6.1.5.5.2';
export const NTLMSSP_OID = '1.3.6.1.4.1.311.2.2.10';
/** Made-up mechanisms under the IANA example enterprise arc (1.3.6.1.4.1.32473): nobody implements them. */
export const MADE_UP_OIDS = ['1.3.6.1.4.1.32473.1.1', '1.3.6.1.4.1.32473.1.2.999'] as const;

/**
 * The initial SPNEGO token: `[APPLICATION 0] { spnego OID, negTokenInit [0] { mechTypes [0],
 * mechToken [2]? } }`.
 */
export function negTokenInit(mechs: readonly string[], mechToken?: Uint8Array): Buffer {
  const fields = [der(0xa0, der(0x30, Buffer.concat(mechs.map(oid))))];
  if (mechToken !== undefined) fields.push(der(0xa2, der(0x04, mechToken)));
  const init = der(0xa0, der(0x30, Buffer.concat(fields)));
  return der(0x60, Buffer.concat([oid(SPNEGO_OID), init]));
}

/** negTokenResp { negState reject }: what an acceptor that shares no mechanism answers. */
export const NEG_TOKEN_REJECT = Buffer.from('a1073005a0030a0102', 'hex');
