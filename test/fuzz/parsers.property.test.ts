/**
 * Property-based fuzzing (fast-check) of every parser in src/framing/: the shared
 * length-prefixed decoding loop (with header sizes the real framings do not use), the sspi and
 * gss-sample decoders, the sspi greeting codec, the gss-sample flag classifier and the RFC 4559
 * header parser.
 *
 * For arbitrary bytes cut into arbitrary chunks, a decoder must: throw nothing but a
 * FramingError with a documented code, and keep rethrowing that same error; agree with a
 * whole-stream reference decoder (test/hostile/referenceFraming.ts) on the frames, the error and
 * the bytes held for an unfinished frame; hold at most maxFrameBytes; and never allocate more
 * than the bytes it has actually received for the frame in progress. Encoding then decoding
 * gives back the input.
 *
 * Runs are bounded (numRuns) and seeded: set NEGOTIATE_FUZZ_SEED to explore other inputs; a
 * failure prints the seed and the shrunk counterexample.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import fc from 'fast-check';

import { FramingError } from '../../src/errors.js';
import {
  classifyDataFlags,
  decodeSspiGreeting,
  encodeGssSampleFrame,
  encodeSspiFrame,
  encodeSspiGreeting,
  GssSampleFrameDecoder,
  SspiFrameDecoder,
} from '../../src/framing/index.js';
import { LengthPrefixedDecoder, type FrameFormat } from '../../src/framing/lengthPrefixedDecoder.js';
import { base64Length, formatWwwAuthenticate, parseAuthorization } from '../../src/framing/negotiateHeader.js';
import { largestAllocation } from '../hostile/allocationSpy.js';
import {
  GSS_SAMPLE_REFERENCE,
  referenceDecode,
  SSPI_REFERENCE,
  type ReferenceFormat,
  type ReferenceFrame,
} from '../hostile/referenceFraming.js';

const SEED = Number(process.env['NEGOTIATE_FUZZ_SEED'] ?? 0x4e45_474f);
// fast-check's default size keeps arrays to about ten elements whatever maxLength says: far
// too small for streams of frames. 'xlarge' lets lengths up to maxLength occur.
fc.configureGlobal({ baseSize: 'xlarge' });
/**
 * Bounded runs. Shrinking a failure of these chained, large inputs can take minutes: it is cut
 * after 20 s, and the smallest counterexample found so far is reported as the failure.
 */
const params = (numRuns: number): fc.Parameters<unknown> => ({
  seed: SEED,
  numRuns,
  interruptAfterTimeLimit: 20_000,
  markInterruptAsFailure: true,
});
const T = { timeout: 60_000 };

function buf(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Cuts `stream` at the given positions (taken modulo its length + 1): empty chunks included. */
function chunked(stream: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    chunks.push(stream.subarray(from, c));
    from = c;
  }
  chunks.push(stream.subarray(from));
  return chunks;
}

interface DecoderUnderTest {
  push(chunk: Buffer): ReferenceFrame[];
  readonly bufferedBytes: number;
}

/**
 * Feeds `chunks` one by one, checking after each push what must hold whatever the input: only
 * FramingErrors with `codes`, the same error object forever after, nothing held after a
 * failure, at most max(headerBytes - 1, maxFrameBytes) held otherwise, and no allocation beyond
 * the bytes received for the frame in progress.
 */
function feed(
  d: DecoderUnderTest,
  chunks: Buffer[],
  o: { headerBytes: number; maxFrameBytes: number; codes: readonly string[] },
): { frames: ReferenceFrame[]; error?: FramingError } {
  const frames: ReferenceFrame[] = [];
  let failure: FramingError | undefined;
  for (const chunk of chunks) {
    const held = d.bufferedBytes;
    const r = largestAllocation(() => d.push(chunk));
    assert.ok(r.largest <= o.maxFrameBytes, `allocated ${r.largest} bytes, maxFrameBytes ${o.maxFrameBytes}`);
    assert.ok(
      r.largest <= held + chunk.length,
      `allocated ${r.largest} bytes with only ${held + chunk.length} received for the frame`,
    );
    if (r.error !== undefined) {
      assert.ok(r.error instanceof FramingError, `threw ${inspect(r.error)}, not a FramingError`);
      assert.ok(o.codes.includes(r.error.code), `undocumented code ${r.error.code}`);
      if (failure !== undefined) assert.equal(r.error, failure, 'a failed decoder rethrows the same error');
      failure = r.error;
      assert.equal(d.bufferedBytes, 0, 'a failed decoder holds nothing');
      continue;
    }
    assert.equal(failure, undefined, 'a failed decoder must keep throwing');
    frames.push(...(r.value ?? []));
    assert.ok(d.bufferedBytes <= Math.max(o.headerBytes - 1, o.maxFrameBytes), `holds ${d.bufferedBytes} bytes`);
  }
  return failure === undefined ? { frames } : { frames, error: failure };
}

/** The decoder agrees with the whole-stream reference, however the stream was cut. */
function agreesWithReference(
  d: DecoderUnderTest,
  stream: Buffer,
  cuts: number[],
  ref: ReferenceFormat,
  maxFrameBytes: number,
  codes: readonly string[],
): void {
  const expected = referenceDecode(stream, ref, maxFrameBytes);
  const got = feed(d, chunked(stream, cuts), { headerBytes: ref.headerBytes, maxFrameBytes, codes });
  const norm = (fs: ReferenceFrame[]): Array<[number, string]> => fs.map((f) => [f.flags, f.body.toString('hex')]);
  if (expected.code === undefined) {
    assert.equal(got.error, undefined, `unexpected ${got.error?.code}`);
    assert.deepEqual(norm(got.frames), norm(expected.frames));
    assert.equal(d.bufferedBytes, expected.pending, 'bytes held for the unfinished frame');
  } else {
    assert.equal(got.error?.code, expected.code);
    // Frames completed in earlier chunks were delivered; those in the failing chunk are dropped.
    assert.ok(got.frames.length <= expected.frames.length);
    assert.deepEqual(norm(got.frames), norm(expected.frames.slice(0, got.frames.length)));
  }
}

/** The sspi decoder's bodies as flagless frames, to share the checks with gss-sample. */
function sspiAsFrames(d: SspiFrameDecoder): DecoderUnderTest {
  return {
    push: (c) => d.push(c).map((body) => ({ flags: 0, body })),
    get bufferedBytes() {
      return d.bufferedBytes;
    },
  };
}

const cutsArb = fc.array(fc.nat({ max: 100_000 }), { maxLength: 24 });

/** Stream pieces: mostly well-formed frames, plus noise, wild lengths and framing-specific traps. */
function streamArb(kind: 'sspi' | 'gss-sample'): fc.Arbitrary<{ maxFrameBytes: number; stream: Buffer }> {
  return fc.integer({ min: 1, max: 300 }).chain((maxFrameBytes) => {
    const body = fc.uint8Array({ minLength: kind === 'sspi' ? 1 : 0, maxLength: maxFrameBytes }).map(buf);
    const flags = fc.integer({ min: 1, max: 255 });
    const frame =
      kind === 'sspi'
        ? body.map((b) => encodeSspiFrame(b))
        : fc.tuple(flags, body).map(([f, b]) => encodeGssSampleFrame(f, b));
    const wildHeader = fc
      .tuple(flags, fc.oneof(fc.nat({ max: maxFrameBytes + 3 }), fc.nat({ max: 0xffff_ffff })))
      .map(([f, n]) => {
        const h = Buffer.alloc(kind === 'sspi' ? 4 : 5);
        if (kind === 'sspi') h.writeUInt32LE(n, 0);
        else {
          h[0] = f;
          h.writeUInt32BE(n, 1);
        }
        return h;
      });
    const trap = fc.constantFrom(
      kind === 'sspi' ? Buffer.alloc(4) : Buffer.from([0]),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]),
    );
    const noise = fc.uint8Array({ maxLength: 12 }).map(buf);
    const piece = fc.oneof(
      { weight: 8, arbitrary: frame },
      { weight: 2, arbitrary: noise },
      { weight: 2, arbitrary: wildHeader },
      { weight: 1, arbitrary: trap },
    );
    return fc.array(piece, { maxLength: 8 }).map((pieces) => ({ maxFrameBytes, stream: Buffer.concat(pieces) }));
  });
}

// ------------------------------------------------------------------------- sspi and gss-sample

test('sspi decoder: arbitrary bytes and chunking agree with the reference; typed errors only; bounded', T, () => {
  fc.assert(
    fc.property(streamArb('sspi'), cutsArb, ({ maxFrameBytes, stream }, cuts) => {
      agreesWithReference(
        sspiAsFrames(new SspiFrameDecoder(maxFrameBytes)),
        stream,
        cuts,
        SSPI_REFERENCE,
        maxFrameBytes,
        ['ERR_FRAME_TOO_LARGE', 'ERR_FRAME_EMPTY'],
      );
    }),
    params(600),
  );
});

test('gss-sample decoder: arbitrary bytes and chunking agree with the reference; typed errors only; bounded', T, () => {
  fc.assert(
    fc.property(streamArb('gss-sample'), cutsArb, ({ maxFrameBytes, stream }, cuts) => {
      const d = new GssSampleFrameDecoder(maxFrameBytes);
      agreesWithReference(d, stream, cuts, GSS_SAMPLE_REFERENCE, maxFrameBytes, [
        'ERR_FRAME_TOO_LARGE',
        'ERR_FRAME_UNSUPPORTED_V1',
      ]);
    }),
    params(600),
  );
});

test('both decoders on unstructured random bytes: only typed errors, nothing held beyond the maximum', T, () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 4096 }).map(buf),
      cutsArb,
      fc.integer({ min: 1, max: 70_000 }),
      (stream, cuts, max) => {
        feed(sspiAsFrames(new SspiFrameDecoder(max)), chunked(stream, cuts), {
          headerBytes: 4,
          maxFrameBytes: max,
          codes: ['ERR_FRAME_TOO_LARGE', 'ERR_FRAME_EMPTY'],
        });
        feed(new GssSampleFrameDecoder(max), chunked(stream, cuts), {
          headerBytes: 5,
          maxFrameBytes: max,
          codes: ['ERR_FRAME_TOO_LARGE', 'ERR_FRAME_UNSUPPORTED_V1'],
        });
      },
    ),
    params(400),
  );
});

test('encode then decode round-trips token sequences under any chunking (both framings)', T, () => {
  const bodies = fc.array(fc.uint8Array({ minLength: 1, maxLength: 700 }).map(buf), { maxLength: 6 });
  fc.assert(
    fc.property(
      bodies,
      fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 6, maxLength: 6 }),
      cutsArb,
      (tokens, flags, cuts) => {
        const sspi = new SspiFrameDecoder(700);
        const gotSspi = chunked(Buffer.concat(tokens.map((t) => encodeSspiFrame(t))), cuts).flatMap((c) =>
          sspi.push(c),
        );
        assert.deepEqual(
          gotSspi.map((b) => b.toString('hex')),
          tokens.map((t) => t.toString('hex')),
        );
        assert.equal(sspi.bufferedBytes, 0);

        const gss = new GssSampleFrameDecoder(700);
        const sent = tokens.map((t, i) => ({ flags: flags[i] ?? 1, body: t }));
        const gotGss = chunked(Buffer.concat(sent.map((f) => encodeGssSampleFrame(f.flags, f.body))), cuts).flatMap(
          (c) => gss.push(c),
        );
        assert.deepEqual(
          gotGss.map((f) => [f.flags, f.body.toString('hex')]),
          sent.map((f) => [f.flags, f.body.toString('hex')]),
        );
        assert.equal(gss.bufferedBytes, 0);
      },
    ),
    params(300),
  );
});

// ------------------------------------------------------------- the shared loop, other headers

/**
 * A made-up framing of `headerBytes` (1..8) bytes: length = the last min(4, headerBytes) bytes,
 * big-endian; flags = the first byte when the header is longer than the length; a first byte
 * of 0xEE is refused on sight, and the length 0xBAD once the header is whole.
 */
function madeUpFormat(headerBytes: number): { format: FrameFormat<ReferenceFrame>; reference: ReferenceFormat } {
  const lengthBytes = Math.min(4, headerBytes);
  const read = (h: Buffer): { length: number; flags: number } => ({
    length: h.readUIntBE(headerBytes - lengthBytes, lengthBytes),
    flags: headerBytes > lengthBytes ? (h[0] ?? 0) : 0,
  });
  return {
    format: {
      headerBytes,
      checkPartialHeader: (h) => {
        if (h[0] === 0xee) throw new FramingError('ERR_FRAME_UNEXPECTED', 'refused on its first byte');
      },
      parseHeader: (h) => {
        const r = read(h);
        if (r.length === 0xbad) throw new FramingError('ERR_PROTOCOL', 'refused length');
        return r;
      },
      tooLarge: () => new FramingError('ERR_FRAME_TOO_LARGE', 'too large'),
      toFrame: (body, flags) => ({ flags, body }),
    },
    reference: {
      headerBytes,
      refusePartial: (h) => (h[0] === 0xee ? 'ERR_FRAME_UNEXPECTED' : undefined),
      parse: (h) => {
        const r = read(h);
        return r.length === 0xbad ? { code: 'ERR_PROTOCOL' } : r;
      },
      tooLargeCode: 'ERR_FRAME_TOO_LARGE',
    },
  };
}

test('LengthPrefixedDecoder with 1- to 8-byte headers agrees with the reference under any chunking', T, () => {
  const arb = fc
    .record({ headerBytes: fc.integer({ min: 1, max: 8 }), maxFrameBytes: fc.integer({ min: 1, max: 4000 }) })
    .chain(({ headerBytes, maxFrameBytes }) => {
      const lengthBytes = Math.min(4, headerBytes);
      const maxLength = Math.min(maxFrameBytes + 2, 2 ** (8 * lengthBytes) - 1);
      const frame = fc
        .tuple(fc.uint8Array({ minLength: headerBytes, maxLength: headerBytes }), fc.nat({ max: maxLength }))
        .map(([h, n]) => {
          const header = buf(h);
          header.writeUIntBE(n, headerBytes - lengthBytes, lengthBytes);
          return Buffer.concat([header, Buffer.alloc(n, 0x5a)]);
        });
      const piece = fc.oneof(
        { weight: 6, arbitrary: frame },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 10 }).map(buf) },
      );
      return fc.record({
        headerBytes: fc.constant(headerBytes),
        maxFrameBytes: fc.constant(maxFrameBytes),
        stream: fc.array(piece, { maxLength: 6 }).map((p) => Buffer.concat(p)),
      });
    });
  fc.assert(
    fc.property(arb, cutsArb, ({ headerBytes, maxFrameBytes, stream }, cuts) => {
      const { format, reference } = madeUpFormat(headerBytes);
      const d = new LengthPrefixedDecoder(format, maxFrameBytes);
      agreesWithReference(d, stream, cuts, reference, maxFrameBytes, [
        'ERR_FRAME_UNEXPECTED',
        'ERR_PROTOCOL',
        'ERR_FRAME_TOO_LARGE',
      ]);
    }),
    params(600),
  );
});

// --------------------------------------------------------------------------- sspi greeting

test(
  'decodeSspiGreeting: arbitrary bytes give ERR_FRAME_TRUNCATED or exact views; encode/decode round-trips',
  T,
  () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }).map(buf), fc.boolean(), (bytes, plausible) => {
        // Half the inputs get a trailer length that fits, so the success path is exercised too.
        if (plausible && bytes.length >= 4) bytes.writeUInt32LE(bytes.readUInt32LE(0) % (bytes.length - 3), 0);
        const r = largestAllocation(() => decodeSspiGreeting(bytes));
        assert.equal(r.largest, 0, 'decoding returns views, never copies');
        if (r.error !== undefined) {
          assert.ok(r.error instanceof FramingError && r.error.code === 'ERR_FRAME_TRUNCATED', inspect(r.error));
          assert.ok(bytes.length < 4 || bytes.readUInt32LE(0) > bytes.length - 4);
          return;
        }
        const { trailer, ciphertext } = r.value as ReturnType<typeof decodeSspiGreeting>;
        assert.equal(trailer.length, bytes.readUInt32LE(0));
        assert.equal(4 + trailer.length + ciphertext.length, bytes.length);
        assert.equal(trailer.buffer, bytes.buffer);
      }),
      params(500),
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }).map(buf),
        fc.uint8Array({ maxLength: 300 }).map(buf),
        (trailer, ciphertext) => {
          const d = decodeSspiGreeting(encodeSspiGreeting(trailer, ciphertext));
          assert.ok(d.trailer.equals(trailer) && d.ciphertext.equals(ciphertext));
        },
      ),
      params(200),
    );
  },
);

// ------------------------------------------------------------------- gss-sample flag bytes

test('classifyDataFlags: the documented result for every byte; anything else throws ERR_FRAME_UNEXPECTED', T, () => {
  for (let flags = 0; flags <= 0xff; flags++) {
    const legal = (flags & 0x04) !== 0 && (flags & ~(0x04 | 0x20 | 0x40 | 0x80)) === 0;
    const r = largestAllocation(() => classifyDataFlags(flags));
    if (!legal) {
      assert.ok(
        r.error instanceof FramingError && r.error.code === 'ERR_FRAME_UNEXPECTED',
        `flags 0x${flags.toString(16)}`,
      );
      continue;
    }
    const wrapped = (flags & 0x20) !== 0;
    assert.deepEqual(r.value, { wrapped, encrypted: wrapped && (flags & 0x40) !== 0, sendMic: (flags & 0x80) !== 0 });
  }
  fc.assert(
    fc.property(fc.oneof(fc.double(), fc.integer()), (x) => {
      fc.pre(!(Number.isInteger(x) && x >= 0 && x <= 0xff));
      assert.throws(
        () => classifyDataFlags(x),
        (e) => e instanceof FramingError && e.code === 'ERR_FRAME_UNEXPECTED',
      );
      assert.throws(
        () => encodeGssSampleFrame(x),
        (e) => e instanceof FramingError && e.code === 'ERR_FRAME_UNEXPECTED',
      );
    }),
    params(300),
  );
  assert.throws(
    () => encodeGssSampleFrame(0),
    (e) => e instanceof FramingError && e.code === 'ERR_FRAME_UNEXPECTED',
    'flags 0 would read as v1',
  );
});

// ----------------------------------------------------------------- RFC 4559 Authorization

const HEADER_CODES = ['ERR_HTTP_UNSUPPORTED_SCHEME', 'ERR_HTTP_BAD_AUTHORIZATION', 'ERR_HTTP_HEADER_TOO_LARGE'];

/** Strings that look like Authorization values: schemes, base64, whitespace, stray bytes. */
const headerish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'Negotiate',
        'negotiate',
        'NTLM',
        'Basic',
        'Kerberos',
        ' ',
        '\t',
        '=',
        '==',
        '+',
        '/',
        '-',
        '_',
        '\u0000',
        '\u00ff',
        '\u20ac',
      ),
      fc.base64String({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 6 }),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

test('parseAuthorization never throws, answers only documented codes, and never echoes the credential part', T, () => {
  fc.assert(
    fc.property(
      fc.oneof(headerish, fc.string({ unit: 'binary', maxLength: 300 })),
      fc.integer({ min: 1, max: 3000 }),
      (value, max) => {
        const r = largestAllocation(() => parseAuthorization(value, max));
        assert.equal(r.error, undefined, `threw ${String(r.error)}`);
        assert.ok(r.largest <= max, `allocated ${r.largest} bytes for a ${max}-byte limit`);
        const p = r.value as ReturnType<typeof parseAuthorization>;
        if (p.kind === 'negotiate') {
          assert.ok(p.token.length >= 1 && p.token.length <= max);
          // Strict: the text was exactly the canonical base64 of what it decoded to.
          assert.equal(value.trim().replace(/^\S+[ \t]+/, ''), p.token.toString('base64'));
        } else if (p.kind === 'invalid') {
          assert.ok(HEADER_CODES.includes(p.code), p.code);
          const credential = value
            .trim()
            .split(/[ \t]+/)
            .slice(1)
            .join(' ');
          if (credential.length >= 16) assert.ok(!p.message.includes(credential), 'the message quotes the credential');
        } else {
          assert.equal(value.trim().replace(/[ \t]/g, ''), value.replace(/[ \t]/g, ''));
          assert.equal(value.replace(/[ \t]/g, ''), '', 'none only for a blank value');
        }
      },
    ),
    params(1500),
  );
});

test(
  'parseAuthorization round-trips any token up to maxTokenBytes, and refuses 1 to 3 bytes more before decoding',
  T,
  () => {
    const arb = fc.integer({ min: 1, max: 2000 }).chain((max) =>
      fc.record({
        max: fc.constant(max),
        token: fc.uint8Array({ minLength: 1, maxLength: max }).map(buf),
        over: fc.uint8Array({ minLength: max + 1, maxLength: max + 3 }).map(buf),
        scheme: fc.constantFrom('Negotiate', 'negotiate', 'NEGOTIATE', 'nEgOtIaTe'),
        lead: fc.constantFrom('', ' ', '\t', ' \t '),
        sep: fc.constantFrom(' ', '\t', '  ', ' \t'),
        trail: fc.constantFrom('', ' ', '\t\t'),
      }),
    );
    fc.assert(
      fc.property(arb, ({ max, token, over, scheme, lead, sep, trail }) => {
        const ok = parseAuthorization(`${lead}${scheme}${sep}${token.toString('base64')}${trail}`, max);
        assert.ok(ok.kind === 'negotiate' && ok.token.equals(token));
        const www = parseAuthorization(formatWwwAuthenticate(token), max);
        assert.ok(www.kind === 'negotiate' && www.token.equals(token), 'WWW-Authenticate uses the same grammar');
        const r = largestAllocation(() => parseAuthorization(`${scheme} ${over.toString('base64')}`, max));
        const refused = r.value as ReturnType<typeof parseAuthorization>;
        assert.ok(
          refused.kind === 'invalid' && refused.code === 'ERR_HTTP_HEADER_TOO_LARGE',
          `${over.length} bytes for a ${max}-byte limit: ${JSON.stringify(refused)}`,
        );
        assert.equal(r.largest, 0, 'the oversized token is never decoded');
        // The length is checked on the text first: too long is too long, base64 or not.
        const junk = parseAuthorization(`${scheme} ${'!'.repeat(base64Length(max) + 1 + (over.length % 7))}`, max);
        assert.ok(junk.kind === 'invalid' && junk.code === 'ERR_HTTP_HEADER_TOO_LARGE', JSON.stringify(junk));
        assert.ok(base64Length(max) >= token.toString('base64').length);
      }),
      params(500),
    );
  },
);

test('parseAuthorization accepts exactly the canonical base64 texts (padding, unused bits, alphabet)', T, () => {
  const b64ish = fc.string({
    unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_'.split('')),
    minLength: 1,
    maxLength: 40,
  });
  // Half real encodings (valid unless damaged), half arbitrary strings over the alphabet.
  const text = fc.oneof(
    b64ish,
    fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 28 }).map(buf), fc.nat({ max: 60 }), b64ish)
      .map(([bytes, at, junk]) => {
        const t = bytes.toString('base64');
        return at < t.length ? t.slice(0, at) + junk.slice(0, 1) + t.slice(at + 1) : t;
      }),
  );
  fc.assert(
    fc.property(text, (t) => {
      const decoded = Buffer.from(t, 'base64');
      const canonical = decoded.length > 0 && decoded.toString('base64') === t;
      const p = parseAuthorization(`Negotiate ${t}`, 1000);
      assert.equal(p.kind === 'negotiate', canonical, `${JSON.stringify(t)}: ${JSON.stringify(p)}`);
      if (p.kind === 'invalid') assert.equal(p.code, 'ERR_HTTP_BAD_AUTHORIZATION');
    }),
    params(2000),
  );
});
