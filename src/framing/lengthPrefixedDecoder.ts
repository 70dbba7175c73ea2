/**
 * The incremental, bounded decoding loop shared by the two TCP framings (PROTOCOLS.md §1, §2):
 * a fixed-size header that announces a body length N, then N body bytes. Internal: the public
 * decoders wrap it and describe their own header through a {@link FrameFormat}.
 *
 * The reference implementations trust the peer's N and allocate it: here every N is checked
 * against `maxFrameBytes` as soon as the header is complete, before any body byte is kept.
 */

import { ConfigError, FramingError } from '../errors.js';

/** Largest value a u32 length prefix can carry. */
export const U32_MAX = 0xffff_ffff;

/** What a complete header says about the frame that follows it. */
export interface FrameHeader {
  /** Body length N, in bytes (a u32). */
  length: number;
  /** Framing-specific header value handed back to {@link FrameFormat.toFrame}; 0 if omitted. */
  flags?: number;
}

/** How one framing lays out its header and shapes its frames. */
export interface FrameFormat<F> {
  /** Size of the header that precedes every body, in bytes. */
  readonly headerBytes: number;
  /**
   * Called each time header bytes arrive, including the ones that complete it, with the
   * header assembled so far (`filled` >= 1 bytes valid). Lets a framing refuse a frame on its
   * first bytes instead of waiting for a header the peer may never send. Throws FramingError.
   */
  readonly checkPartialHeader?: (header: Buffer, filled: number) => void;
  /**
   * Reads a complete header. Throws the framing's FramingError for values it refuses; N above
   * `maxFrameBytes` is checked by the decoder afterwards, through {@link FrameFormat.tooLarge}.
   */
  readonly parseHeader: (header: Buffer) => FrameHeader;
  /** The `ERR_FRAME_TOO_LARGE` error for a header announcing more than `maxFrameBytes`. */
  readonly tooLarge: (length: number, flags: number, maxFrameBytes: number) => FramingError;
  /** Shapes a completed body (a view or a fresh copy, see the class notes) into a frame. */
  readonly toFrame: (body: Buffer, flags: number) => F;
}

/**
 * Incremental, bounded decoder of `[header announcing N][N bytes]` frames from a TCP byte
 * stream.
 *
 * Accepts arbitrary chunking: a header split over several chunks, a body split over many,
 * several frames in one chunk. Memory held between calls is at most the bytes received for
 * the one frame in progress (never more than `maxFrameBytes`), and it grows only as bytes
 * arrive: a peer announcing a large N does not make the decoder allocate N up front.
 *
 * Buffer ownership: a returned body that lies wholly inside one pushed chunk is a view
 * (`subarray`) of that chunk, not a copy; a body spread over several chunks is copied once
 * into a fresh buffer. Views stay valid because `net.Socket` hands out a fresh buffer per
 * `'data'` event and never reuses it. Do not modify a chunk after pushing it, and copy chunks
 * first when reading with a reused buffer (`net.Socket` `onread.buffer`).
 *
 * After `push` throws, the decoder is failed: every later `push` rethrows the same error.
 * The connection must be closed; frames decoded earlier in the failing chunk are dropped.
 */
export class LengthPrefixedDecoder<F> {
  readonly #format: FrameFormat<F>;
  readonly #maxFrameBytes: number;
  /** Header being assembled; reused across frames. */
  readonly #header: Buffer;
  #headerFilled = 0;
  /** Flags of the frame in progress, valid once its header is complete. */
  #flags = 0;
  /** Body length of the frame in progress, or -1 while its header is still incomplete. */
  #bodyLength = -1;
  /** Body pieces received so far; copied together only once the body is complete. */
  #parts: Buffer[] = [];
  #partsBytes = 0;
  #failure: FramingError | undefined;

  /**
   * @param format - The framing's header layout and frame shape.
   * @param maxFrameBytes - Largest accepted body length N, in bytes: an integer from 1 to
   *   2^32 - 1.
   * @throws ConfigError `ERR_CONFIG` when `maxFrameBytes` is out of range.
   */
  constructor(format: FrameFormat<F>, maxFrameBytes: number) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > U32_MAX) {
      throw new ConfigError(
        'ERR_CONFIG',
        `maxFrameBytes must be an integer from 1 to ${U32_MAX}, got ${String(maxFrameBytes)}`,
      );
    }
    this.#format = format;
    this.#maxFrameBytes = maxFrameBytes;
    this.#header = Buffer.alloc(format.headerBytes);
  }

  /**
   * Bytes held for the frame in progress: header bytes until the header is complete, then
   * body bytes. 0 between frames; never more than `maxFrameBytes`.
   */
  get bufferedBytes(): number {
    return this.#headerFilled + this.#partsBytes;
  }

  /**
   * Feeds the next chunk of the stream.
   *
   * @param chunk - Next bytes from the peer, in order; may be empty. See the class notes on
   *   ownership: the decoder may keep and return views of it.
   * @returns All frames completed by this chunk, in stream order (possibly none).
   * @throws FramingError whatever the format throws, or its `tooLarge` error as soon as a
   *   complete header announces more than `maxFrameBytes` (before any body byte). The decoder
   *   is then failed for good.
   */
  push(chunk: Buffer): F[] {
    if (this.#failure !== undefined) {
      throw this.#failure;
    }
    try {
      return this.#consume(chunk);
    } catch (error) {
      if (error instanceof FramingError) {
        this.#fail(error);
      }
      throw error;
    }
  }

  #consume(chunk: Buffer): F[] {
    const format = this.#format;
    const headerBytes = format.headerBytes;
    const frames: F[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#bodyLength < 0) {
        const take = Math.min(headerBytes - this.#headerFilled, chunk.length - offset);
        chunk.copy(this.#header, this.#headerFilled, offset, offset + take);
        this.#headerFilled += take;
        offset += take;
        format.checkPartialHeader?.(this.#header, this.#headerFilled);
        if (this.#headerFilled < headerBytes) {
          break;
        }
        const { length, flags = 0 } = format.parseHeader(this.#header);
        this.#flags = flags;
        if (length > this.#maxFrameBytes) {
          throw format.tooLarge(length, flags, this.#maxFrameBytes);
        }
        this.#bodyLength = length;
        this.#headerFilled = 0;
        if (length === 0) {
          // Emitted now: with no body byte to wait for, the frame would otherwise stay pending
          // until the next chunk arrives.
          frames.push(format.toFrame(Buffer.alloc(0), flags));
          this.#bodyLength = -1;
        }
        continue;
      }

      const need = this.#bodyLength - this.#partsBytes;
      const available = chunk.length - offset;
      if (this.#partsBytes === 0 && available >= need) {
        // Whole body inside this chunk: a view, no copy (valid, see the class notes).
        frames.push(format.toFrame(chunk.subarray(offset, offset + need), this.#flags));
        offset += need;
        this.#bodyLength = -1;
        continue;
      }

      const take = Math.min(need, available);
      this.#parts.push(chunk.subarray(offset, offset + take));
      this.#partsBytes += take;
      offset += take;
      if (this.#partsBytes === this.#bodyLength) {
        // Collecting views and joining once copies each body byte exactly once, where
        // appending chunk by chunk would be quadratic in the number of chunks.
        frames.push(format.toFrame(Buffer.concat(this.#parts, this.#bodyLength), this.#flags));
        this.#parts = [];
        this.#partsBytes = 0;
        this.#bodyLength = -1;
      }
    }
    return frames;
  }

  #fail(error: FramingError): void {
    this.#failure = error;
    // Release whatever the peer made us hold; nothing more will be decoded.
    this.#parts = [];
    this.#partsBytes = 0;
    this.#headerFilled = 0;
    this.#bodyLength = -1;
  }
}
