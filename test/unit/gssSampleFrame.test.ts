import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  GssSampleFrameDecoder,
  TokenFlag,
  classifyDataFlags,
  encodeGssSampleFrame,
} from '../../src/framing/index.js';
import type { GssSampleFrame } from '../../src/framing/index.js';
import { ConfigError, FramingError } from '../../src/errors.js';
import { framingError, mulberry32 } from '../support/framing.js';

const MAX = 64 * 1024;

/** Runs every chunk through one decoder and returns all frames, in order. */
function decodeAll(chunks: readonly Buffer[], max = MAX): GssSampleFrame[] {
  const decoder = new GssSampleFrameDecoder(max);
  const frames: GssSampleFrame[] = [];
  for (const chunk of chunks) {
    frames.push(...decoder.push(chunk));
  }
  assert.equal(decoder.bufferedBytes, 0, 'nothing left over after whole frames');
  return frames;
}

// A realistic gss-client opening: NOOP|CONTEXT_NEXT, a context token, a DATA message.
const FRAMES: GssSampleFrame[] = [
  { flags: TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT, body: Buffer.alloc(0) },
  { flags: TokenFlag.CONTEXT, body: Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff)) },
  { flags: 0xe4, body: Buffer.from('hello') },
];
const STREAM = Buffer.concat(FRAMES.map((f) => encodeGssSampleFrame(f.flags, f.body)));

test('TokenFlag values match MIT gss-misc.h', () => {
  assert.deepEqual(TokenFlag, {
    NOOP: 0x01,
    CONTEXT: 0x02,
    DATA: 0x04,
    MIC: 0x08,
    CONTEXT_NEXT: 0x10,
    WRAPPED: 0x20,
    ENCRYPTED: 0x40,
    SEND_MIC: 0x80,
  });
});

test('encodeGssSampleFrame writes flags, a big-endian u32 length, then the body', () => {
  assert.deepEqual(
    [...encodeGssSampleFrame(TokenFlag.CONTEXT, Uint8Array.of(0xaa, 0xbb))],
    [0x02, 0, 0, 0, 2, 0xaa, 0xbb],
  );
  assert.deepEqual([...encodeGssSampleFrame(0x11)], [0x11, 0, 0, 0, 0]);
  assert.deepEqual([...encodeGssSampleFrame(0x04, new Uint8Array(0x0102)).subarray(0, 5)], [
    0x04, 0, 0, 0x01, 0x02,
  ]);
});

test('encodeGssSampleFrame refuses flags outside 1..255', () => {
  for (const bad of [0, 256, -1, 1.5]) {
    assert.throws(() => encodeGssSampleFrame(bad), framingError('ERR_FRAME_UNEXPECTED'));
  }
});

test('round trip of one frame', () => {
  const body = Buffer.from('wrapped bytes');
  assert.deepEqual(decodeAll([encodeGssSampleFrame(0xe4, body)]), [{ flags: 0xe4, body }]);
});

test('NOOP with an empty body decodes from its 5 header bytes', () => {
  const decoder = new GssSampleFrameDecoder(MAX);
  const frames = decoder.push(Buffer.from([0x01, 0, 0, 0, 0]));
  assert.equal(frames.length, 1);
  assert.equal(frames[0]?.flags, TokenFlag.NOOP);
  assert.equal(frames[0]?.body.length, 0);
  assert.equal(decoder.bufferedBytes, 0);
});

test('several frames in one chunk', () => {
  assert.deepEqual(decodeAll([STREAM]), FRAMES);
});

test('stream of three frames fed one byte at a time', () => {
  const decoder = new GssSampleFrameDecoder(MAX);
  const frames: GssSampleFrame[] = [];
  for (let i = 0; i < STREAM.length; i++) {
    frames.push(...decoder.push(STREAM.subarray(i, i + 1)));
    assert.ok(decoder.bufferedBytes <= MAX);
  }
  assert.deepEqual(frames, FRAMES);
  assert.equal(decoder.bufferedBytes, 0);
});

test('stream of three frames split in two at every byte boundary', () => {
  for (let i = 0; i <= STREAM.length; i++) {
    const frames = decodeAll([STREAM.subarray(0, i), STREAM.subarray(i)]);
    assert.deepEqual(frames, FRAMES, `split at ${i}`);
  }
});

test('oversize length is rejected from the 5 header bytes alone, before any body byte', () => {
  const decoder = new GssSampleFrameDecoder(1000);
  const header = Buffer.from([TokenFlag.CONTEXT, 0, 0, 0, 0]);
  header.writeUInt32BE(1001, 1);
  assert.deepEqual(decoder.push(header.subarray(0, 4)), []);
  assert.equal(decoder.bufferedBytes, 4);
  assert.throws(
    () => decoder.push(header.subarray(4)),
    (error: unknown) =>
      error instanceof FramingError &&
      error.code === 'ERR_FRAME_TOO_LARGE' &&
      error.message.includes('1001') &&
      error.message.includes('1000'),
  );
  assert.ok(decoder.bufferedBytes <= 5);
});

test('a huge announced length (0xFFFFFFFF) is rejected without buffering', () => {
  const decoder = new GssSampleFrameDecoder(MAX);
  const chunk = Buffer.concat([Buffer.from([0x02, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(100)]);
  assert.throws(() => decoder.push(chunk), framingError('ERR_FRAME_TOO_LARGE'));
  assert.equal(decoder.bufferedBytes, 0);
});

test('exactly maxFrameBytes is accepted, one more is rejected', () => {
  const max = 256;
  const exact = Buffer.alloc(max, 1);
  assert.deepEqual(decodeAll([encodeGssSampleFrame(0x02, exact)], max), [
    { flags: 0x02, body: exact },
  ]);
  assert.throws(
    () => decodeAll([encodeGssSampleFrame(0x02, Buffer.alloc(max + 1))], max),
    framingError('ERR_FRAME_TOO_LARGE'),
  );
});

test('v1 (flagless) frame is rejected on its first byte', () => {
  const decoder = new GssSampleFrameDecoder(MAX);
  assert.throws(
    () => decoder.push(Buffer.from([0x00])),
    (error: unknown) =>
      error instanceof FramingError &&
      error.code === 'ERR_FRAME_UNSUPPORTED_V1' &&
      error.message.includes('v1 (flagless)'),
  );
  // Also when it follows a valid frame in the same chunk.
  const after = new GssSampleFrameDecoder(MAX);
  const chunk = Buffer.concat([encodeGssSampleFrame(0x01), Buffer.from([0, 0, 0, 4, 1, 2])]);
  assert.throws(() => after.push(chunk), framingError('ERR_FRAME_UNSUPPORTED_V1'));
});

test('after a failure every later push rethrows the same error', () => {
  const decoder = new GssSampleFrameDecoder(MAX);
  let first: unknown;
  try {
    decoder.push(Buffer.from([0]));
  } catch (error) {
    first = error;
  }
  assert.ok(first instanceof FramingError);
  assert.throws(
    () => decoder.push(encodeGssSampleFrame(0x01)),
    (error: unknown) => error === first,
  );
});

test('constructor refuses a bad maxFrameBytes', () => {
  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 32]) {
    assert.throws(
      () => new GssSampleFrameDecoder(bad),
      (error: unknown) => error instanceof ConfigError && error.code === 'ERR_CONFIG',
      String(bad),
    );
  }
});

test('classifyDataFlags accepts what gss-client sends', () => {
  // default, -nm, -nx, -nw (ENCRYPTED left set without WRAPPED), -nw -nx -nm
  assert.deepEqual(classifyDataFlags(0xe4), { wrapped: true, encrypted: true, sendMic: true });
  assert.deepEqual(classifyDataFlags(0x64), { wrapped: true, encrypted: true, sendMic: false });
  assert.deepEqual(classifyDataFlags(0xa4), { wrapped: true, encrypted: false, sendMic: true });
  assert.deepEqual(classifyDataFlags(0xc4), { wrapped: false, encrypted: false, sendMic: true });
  assert.deepEqual(classifyDataFlags(0x04), { wrapped: false, encrypted: false, sendMic: false });
});

test('classifyDataFlags refuses frames that are not DATA or carry foreign bits', () => {
  for (const bad of [0x02, 0x01, 0x14, 0x0c, 0x00, 0xe0, 0x1e4, -4]) {
    assert.throws(() => classifyDataFlags(bad), framingError('ERR_FRAME_UNEXPECTED'), `${bad}`);
  }
});

test('property: 500 seeded random frame sequences survive random chunking', () => {
  const random = mulberry32(0x6550_4d31);
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  for (let run = 0; run < 500; run++) {
    const frames: GssSampleFrame[] = Array.from({ length: int(0, 8) }, () => {
      // Empty bodies are legal here; sometimes large enough to span many chunks.
      const roll = random();
      const length = roll < 0.15 ? 0 : roll < 0.25 ? int(1000, 5000) : int(1, 64);
      return {
        flags: int(1, 255),
        body: Buffer.from(Array.from({ length }, () => int(0, 255))),
      };
    });
    const stream = Buffer.concat(frames.map((f) => encodeGssSampleFrame(f.flags, f.body)));
    const max = Math.max(1, ...frames.map((f) => f.body.length)) + int(0, 2);
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length; ) {
      const size = random() < 0.2 ? int(0, 3) : int(1, 700);
      chunks.push(stream.subarray(at, at + size));
      at += size;
    }
    assert.deepEqual(decodeAll(chunks, max), frames, `run ${run}`);
  }
});
