/**
 * A batch of calls or results on the native hand-off queue as one byte buffer (the addon's
 * format, native/src/binding/handoff.cc): frames of [u32le seq | u32le length | value], each
 * value encoded by wireCodec. One buffer per batch each way instead of a typed array per call.
 */
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
    const parts = wireParts(value);
    const need = this.#at + FRAME_HEADER + wireBound(parts);
    if (need > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.#buf.length * 2));
      this.#buf.copy(grown, 0, 0, this.#at);
      this.#buf = grown;
    }
    const size = writeWire(parts, this.#buf, this.#at + FRAME_HEADER);
    this.#buf.writeUInt32LE(seq >>> 0, this.#at);
    this.#buf.writeUInt32LE(size, this.#at + 4);
    this.#at += FRAME_HEADER + size;
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
    each(seq, decodeWireAt(buf, at + FRAME_HEADER));
    at += FRAME_HEADER + size;
  }
}
