import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  SspiFrameDecoder,
  decodeSspiGreeting,
  encodeSspiFrame,
  encodeSspiGreeting,
} from '../../src/framing/index.js';
import { ConfigError, FramingError } from '../../src/errors.js';
import { framingError, mulberry32 } from '../support/framing.js';

const MAX = 64 * 1024;

/** Runs every chunk through one decoder and returns all frames, in order. */
function decodeAll(chunks: readonly Buffer[], max = MAX): Buffer[] {
  const decoder = new SspiFrameDecoder(max);
  const frames: Buffer[] = [];
  for (const chunk of chunks) {
    frames.push(...decoder.push(chunk));
  }
  assert.equal(decoder.bufferedBytes, 0, 'nothing left over after whole frames');
  return frames;
}

const TOKENS = [
  Buffer.from('a'),
  Buffer.from('hello, kerberos'),
  Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff)),
];
const STREAM = Buffer.concat(TOKENS.map((t) => encodeSspiFrame(t)));

test('encodeSspiFrame writes a little-endian u32 length then the token', () => {
  const frame = encodeSspiFrame(Uint8Array.of(0xaa, 0xbb, 0xcc));
  assert.deepEqual([...frame], [3, 0, 0, 0, 0xaa, 0xbb, 0xcc]);
  const big = encodeSspiFrame(new Uint8Array(0x0102));
  assert.deepEqual([...big.subarray(0, 4)], [0x02, 0x01, 0, 0]);
});

test('encodeSspiFrame refuses an empty token', () => {
  assert.throws(() => encodeSspiFrame(new Uint8Array(0)), framingError('ERR_FRAME_EMPTY'));
});

test('round trip of one frame', () => {
  const token = Buffer.from('token bytes');
  assert.deepEqual(decodeAll([encodeSspiFrame(token)]), [token]);
});

test('several frames in one chunk', () => {
  assert.deepEqual(decodeAll([STREAM]), TOKENS);
});

test('stream of three frames fed one byte at a time', () => {
  const decoder = new SspiFrameDecoder(MAX);
  const frames: Buffer[] = [];
  for (let i = 0; i < STREAM.length; i++) {
    frames.push(...decoder.push(STREAM.subarray(i, i + 1)));
    assert.ok(decoder.bufferedBytes <= MAX);
  }
  assert.deepEqual(frames, TOKENS);
  assert.equal(decoder.bufferedBytes, 0);
});

test('stream of three frames split in two at every byte boundary', () => {
  for (let i = 0; i <= STREAM.length; i++) {
    const frames = decodeAll([STREAM.subarray(0, i), STREAM.subarray(i)]);
    assert.deepEqual(frames, TOKENS, `split at ${i}`);
  }
});

test('empty chunks are harmless', () => {
  assert.deepEqual(decodeAll([Buffer.alloc(0), STREAM, Buffer.alloc(0)]), TOKENS);
});

test('bufferedBytes counts prefix then body bytes of the frame in progress', () => {
  const decoder = new SspiFrameDecoder(MAX);
  const frame = encodeSspiFrame(Buffer.alloc(10, 7));
  assert.deepEqual(decoder.push(frame.subarray(0, 2)), []);
  assert.equal(decoder.bufferedBytes, 2);
  assert.deepEqual(decoder.push(frame.subarray(2, 7)), []);
  assert.equal(decoder.bufferedBytes, 3);
  assert.deepEqual(decoder.push(frame.subarray(7)), [Buffer.alloc(10, 7)]);
  assert.equal(decoder.bufferedBytes, 0);
});

test('a frame assembled from several chunks is a copy independent of them', () => {
  const decoder = new SspiFrameDecoder(MAX);
  const frame = encodeSspiFrame(Buffer.from('abcdef'));
  const first = Buffer.from(frame.subarray(0, 6));
  const second = Buffer.from(frame.subarray(6));
  decoder.push(first);
  const [body] = decoder.push(second);
  first.fill(0);
  second.fill(0);
  assert.deepEqual(body, Buffer.from('abcdef'));
});

test('oversize prefix is rejected from the 4 header bytes alone, before any body byte', () => {
  const decoder = new SspiFrameDecoder(1000);
  const header = Buffer.alloc(4);
  header.writeUInt32LE(1001, 0);
  assert.deepEqual(decoder.push(header.subarray(0, 3)), []);
  assert.equal(decoder.bufferedBytes, 3);
  assert.throws(
    () => decoder.push(header.subarray(3)),
    (error: unknown) =>
      error instanceof FramingError &&
      error.code === 'ERR_FRAME_TOO_LARGE' &&
      error.message.includes('1001') &&
      error.message.includes('1000'),
  );
  assert.ok(decoder.bufferedBytes <= 4);
});

test('a huge announced length (0xFFFFFFFF) is rejected without buffering', () => {
  const decoder = new SspiFrameDecoder(MAX);
  const chunk = Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.alloc(100)]);
  assert.throws(() => decoder.push(chunk), framingError('ERR_FRAME_TOO_LARGE'));
  assert.equal(decoder.bufferedBytes, 0);
});

test('exactly maxFrameBytes is accepted, one more is rejected', () => {
  const max = 256;
  const exact = Buffer.alloc(max, 1);
  assert.deepEqual(decodeAll([encodeSspiFrame(exact)], max), [exact]);
  assert.throws(
    () => decodeAll([encodeSspiFrame(Buffer.alloc(max + 1))], max),
    framingError('ERR_FRAME_TOO_LARGE'),
  );
});

test('zero-length frame is rejected', () => {
  const decoder = new SspiFrameDecoder(MAX);
  assert.throws(() => decoder.push(Buffer.alloc(4)), framingError('ERR_FRAME_EMPTY'));
});

test('after a failure every later push rethrows the same error', () => {
  const decoder = new SspiFrameDecoder(MAX);
  let first: unknown;
  try {
    decoder.push(Buffer.alloc(4));
  } catch (error) {
    first = error;
  }
  assert.ok(first instanceof FramingError);
  assert.throws(
    () => decoder.push(encodeSspiFrame(Buffer.from('x'))),
    (error: unknown) => error === first,
  );
});

test('constructor refuses a bad maxFrameBytes', () => {
  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 32]) {
    assert.throws(
      () => new SspiFrameDecoder(bad),
      (error: unknown) => error instanceof ConfigError && error.code === 'ERR_CONFIG',
      String(bad),
    );
  }
});

test('greeting encode/decode round trip', () => {
  const trailer = Buffer.alloc(60, 0x11);
  const ciphertext = Buffer.from('This is your server speaking');
  const message = encodeSspiGreeting(trailer, ciphertext);
  assert.equal(message.length, 4 + 60 + 28);
  assert.deepEqual([...message.subarray(0, 4)], [60, 0, 0, 0]);
  const decoded = decodeSspiGreeting(message);
  assert.deepEqual(decoded.trailer, trailer);
  assert.deepEqual(decoded.ciphertext, ciphertext);
});

test('greeting with an empty ciphertext or an empty trailer', () => {
  const a = decodeSspiGreeting(encodeSspiGreeting(Buffer.alloc(16, 2), new Uint8Array(0)));
  assert.deepEqual(a.trailer, Buffer.alloc(16, 2));
  assert.equal(a.ciphertext.length, 0);
  const b = decodeSspiGreeting(encodeSspiGreeting(new Uint8Array(0), Buffer.from('data')));
  assert.equal(b.trailer.length, 0);
  assert.deepEqual(b.ciphertext, Buffer.from('data'));
});

test('truncated greeting is rejected', () => {
  const message = encodeSspiGreeting(Buffer.alloc(60), Buffer.alloc(28));
  // Trailer cut short: T = 60 but fewer bytes follow.
  assert.throws(
    () => decodeSspiGreeting(message.subarray(0, 4 + 59)),
    framingError('ERR_FRAME_TRUNCATED'),
  );
  // Exactly T bytes and no ciphertext is still well formed.
  assert.equal(decodeSspiGreeting(message.subarray(0, 4 + 60)).ciphertext.length, 0);
  for (let n = 0; n < 4; n++) {
    assert.throws(
      () => decodeSspiGreeting(message.subarray(0, n)),
      framingError('ERR_FRAME_TRUNCATED'),
      `length ${n}`,
    );
  }
  assert.throws(
    () => decodeSspiGreeting(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])),
    framingError('ERR_FRAME_TRUNCATED'),
  );
});

test('property: 500 seeded random frame sequences survive random chunking', () => {
  const random = mulberry32(0x5eed_55b1);
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  for (let run = 0; run < 500; run++) {
    const tokens = Array.from({ length: int(0, 8) }, () => {
      // Mostly small tokens, sometimes large enough to span many chunks.
      const length = random() < 0.1 ? int(1000, 5000) : int(1, 64);
      return Buffer.from(Array.from({ length }, () => int(0, 255)));
    });
    const stream = Buffer.concat(tokens.map((t) => encodeSspiFrame(t)));
    const max = Math.max(1, ...tokens.map((t) => t.length)) + int(0, 2);
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length; ) {
      const size = random() < 0.2 ? int(0, 3) : int(1, 700);
      chunks.push(stream.subarray(at, at + size));
      at += size;
    }
    assert.deepEqual(decodeAll(chunks, max), tokens, `run ${run}`);
  }
});
