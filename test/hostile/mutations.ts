/**
 * Deterministic ways to damage real tokens, driven by a seeded PRNG so a failing input can be
 * rebuilt from its seed and index.
 */

export type Rng = () => number;

/** An integer in [0, n). */
export function below(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

export function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = below(rng, 256);
  return b;
}

/** `count` prefixes of `token`, spread evenly from 1 byte to all but the last byte. */
export function truncations(token: Buffer, count: number): Array<{ length: number; token: Buffer }> {
  const out: Array<{ length: number; token: Buffer }> = [];
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const length = 1 + Math.floor((i * (token.length - 1)) / count);
    if (seen.has(length)) continue;
    seen.add(length);
    out.push({ length, token: Buffer.from(token.subarray(0, length)) });
  }
  return out;
}

/** A copy of `token` with bit `bit` of byte `at` inverted. */
export function flipBit(token: Buffer, at: number, bit: number): Buffer {
  const copy = Buffer.from(token);
  copy[at] = (copy[at] ?? 0) ^ (1 << bit);
  return copy;
}

/** How a fuzz input was made, for the report of a surprising one. */
export type MutationKind =
  | 'random'
  | 'gss-header-random'
  | 'truncate'
  | 'bitflips'
  | 'overwrite'
  | 'insert'
  | 'delete'
  | 'splice'
  | 'length-field';

/** GSS initial-context header (`60 len 06 len oid`) for the krb5 and SPNEGO mechs. */
const GSS_PREFIXES = [Buffer.from('06092a864886f712010202', 'hex'), Buffer.from('06062b0601050502', 'hex')];

/**
 * One fuzz input: either random bytes or a damaged copy of one of `bases`. Never empty (an empty
 * frame is a framing error, tested on its own) and at most `maxBytes` long.
 */
export function mutate(rng: Rng, bases: readonly Buffer[], maxBytes: number): { kind: MutationKind; token: Buffer } {
  const base = bases[below(rng, bases.length)] ?? Buffer.from([0]);
  const pick = below(rng, 9);
  let kind: MutationKind;
  let t: Buffer;
  switch (pick) {
    case 0:
      kind = 'random';
      t = randomBytes(rng, 1 + below(rng, 2048));
      break;
    case 1: {
      kind = 'gss-header-random';
      const body = Buffer.concat([
        GSS_PREFIXES[below(rng, GSS_PREFIXES.length)] as Buffer,
        randomBytes(rng, below(rng, 1024)),
      ]);
      t = Buffer.concat([Buffer.from([0x60, 0x82, body.length >> 8, body.length & 0xff]), body]);
      break;
    }
    case 2:
      kind = 'truncate';
      t = Buffer.from(base.subarray(0, 1 + below(rng, Math.max(1, base.length - 1))));
      break;
    case 3: {
      kind = 'bitflips';
      t = Buffer.from(base);
      for (let i = 1 + below(rng, 8); i > 0; i--) {
        const at = below(rng, t.length);
        t[at] = (t[at] ?? 0) ^ (1 << below(rng, 8));
      }
      break;
    }
    case 4: {
      kind = 'overwrite';
      t = Buffer.from(base);
      const at = below(rng, t.length);
      randomBytes(rng, Math.min(t.length - at, 1 + below(rng, 32))).copy(t, at);
      break;
    }
    case 5: {
      kind = 'insert';
      const at = below(rng, base.length + 1);
      t = Buffer.concat([base.subarray(0, at), randomBytes(rng, 1 + below(rng, 64)), base.subarray(at)]);
      break;
    }
    case 6: {
      kind = 'delete';
      const at = below(rng, base.length);
      const n = 1 + below(rng, Math.min(64, base.length - at));
      t = Buffer.concat([base.subarray(0, at), base.subarray(at + n)]);
      break;
    }
    case 7: {
      kind = 'splice';
      const other = bases[below(rng, bases.length)] ?? base;
      t = Buffer.concat([base.subarray(0, below(rng, base.length + 1)), other.subarray(below(rng, other.length))]);
      break;
    }
    default: {
      // DER lengths that lie: a long-form length byte claiming up to 4 GiB, or a short one.
      kind = 'length-field';
      t = Buffer.from(base);
      const at = below(rng, Math.min(t.length, 24));
      const lies = [0x84, 0x83, 0x7f, 0x00, 0xff, 0x80];
      t[at] = lies[below(rng, lies.length)] ?? 0x84;
      break;
    }
  }
  if (t.length === 0) t = Buffer.from([below(rng, 256)]);
  if (t.length > maxBytes) t = t.subarray(0, maxBytes);
  return { kind, token: t };
}
