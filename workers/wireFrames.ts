/**
 * A batch of calls or results on the native hand-off queue as one byte buffer (the addon's
 * format, native/src/binding/handoff.cc): frames of [u32le seq | u32le length | value]. A value
 * starts with its kind: an accept call or result in a fixed layout (acceptWire), or 0 and JSON
 * (wireCodec) for everything else. One buffer per batch each way, not a typed array per call.
 */
import { fixedLayout, KIND_JSON, readFixed, writeFixed } from './acceptWire.js';
import { decodeWireAt, wireBound, wireParts, writeWire } from './wireCodec.js';

const FRAME_HEADER = 8;

/**
 * Collects a batch's frames in one reused buffer: the addon copies what it is given, so after
 * `frames()` has been handed over the writer starts again at zero without allocating.
 */
export class WireBatchWriter {
  #buf: Buffer;
  #at = 0;

  constructor(initialBytes = 16 * 1024) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  get empty(): boolean {
    return this.#at === 0;
  }

  /** Appends `value` (which it consumes: see wireCodec's wireParts) as call or result `seq`. */
  append(seq: number, value: object): void {
    const at = this.#at + FRAME_HEADER;
    let size: number;
    const fixed = fixedLayout(value);
    if (fixed !== undefined) {
      this.#room(at + fixed.bound);
      size = writeFixed(fixed, this.#buf, at);
    } else {
      const parts = wireParts(value);
      this.#room(at + 1 + wireBound(parts));
      this.#buf[at] = KIND_JSON;
      size = 1 + writeWire(parts, this.#buf, at + 1);
    }
    this.#buf.writeUInt32LE(seq >>> 0, this.#at);
    this.#buf.writeUInt32LE(size, this.#at + 4);
    this.#at += FRAME_HEADER + size;
  }

  #room(bytes: number): void {
    if (bytes <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(bytes, this.#buf.length * 2));
    this.#buf.copy(grown, 0, 0, this.#at);
    this.#buf = grown;
  }

  /** The frames written since the last call (a view: valid until the next append). */
  frames(): Uint8Array {
    const out = this.#buf.subarray(0, this.#at);
    this.#at = 0;
    return out;
  }
}

/** Calls `each` with every frame's seq and decoded value; byte arrays in values are views of `frames`. */
export function readWireBatch(frames: Uint8Array, each: (seq: number, value: unknown) => void): void {
  const buf = Buffer.from(frames.buffer, frames.byteOffset, frames.byteLength);
  let at = 0;
  while (at + FRAME_HEADER <= buf.length) {
    const seq = buf.readUInt32LE(at);
    const size = buf.readUInt32LE(at + 4);
    const v = at + FRAME_HEADER;
    each(seq, buf[v] === KIND_JSON ? decodeWireAt(buf, v + 1) : readFixed(buf, v));
    at += FRAME_HEADER + size;
  }
}
