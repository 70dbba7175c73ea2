/**
 * The Microsoft SSPI Windows Sockets sample framing (PROTOCOLS.md §1).
 *
 * Handshake frames, both directions:
 *
 * ```
 * [u32 little-endian N][N bytes of token]
 * ```
 *
 * N is a raw DWORD copied from memory on Windows, hence little-endian; there is no magic,
 * version or type byte. A side never sends an empty token, so N = 0 is a protocol error.
 *
 * After the handshake the sample server sends one unframed message, delimited only by the
 * connection close:
 *
 * ```
 * [u32 little-endian T][T bytes: security trailer][ciphertext]
 * ```
 *
 * The reference sample trusts the peer's N and allocates it: here every N is checked against
 * `maxFrameBytes` as soon as its four bytes are known, before any body byte is kept.
 */

import { ConfigError, FramingError } from '../errors.js';

/** Size of the length prefix, in bytes. */
const HEADER_BYTES = 4;

/** Largest value a u32 length prefix can carry. */
const U32_MAX = 0xffff_ffff;

/**
 * Incremental, bounded decoder of `[u32 LE N][N bytes]` frames from a TCP byte stream.
 *
 * Accepts arbitrary chunking: a length prefix split over several chunks, a body split over
 * many, several frames in one chunk. Memory held between calls is at most the bytes received
 * for the one frame in progress (never more than `maxFrameBytes`), and it grows only as bytes
 * arrive: a peer announcing a large N does not make the decoder allocate N up front.
 *
 * Buffer ownership: a returned frame that lies wholly inside one pushed chunk is a view
 * (`subarray`) of that chunk, not a copy; a frame spread over several chunks is copied once
 * into a fresh buffer. Views stay valid because `net.Socket` hands out a fresh buffer per
 * `'data'` event and never reuses it. Do not modify a chunk after pushing it, and copy chunks
 * first when reading with a reused buffer (`net.Socket` `onread.buffer`).
 *
 * After `push` throws, the decoder is failed: every later `push` rethrows the same error.
 * The connection must be closed; frames decoded earlier in the failing chunk are dropped.
 */
export class SspiFrameDecoder {
  readonly #maxFrameBytes: number;
  /** Length prefix being assembled; reused across frames. */
  readonly #header = Buffer.alloc(HEADER_BYTES);
  #headerFilled = 0;
  /** Body length of the frame in progress, or -1 while its prefix is still incomplete. */
  #bodyLength = -1;
  /** Body pieces received so far; copied together only once the body is complete. */
  #parts: Buffer[] = [];
  #partsBytes = 0;
  #failure: FramingError | undefined;

  /**
   * @param maxFrameBytes - Largest accepted body length N, in bytes: an integer from 1 to
   *   2^32 - 1. PROTOCOLS.md §1 suggests 64 KiB (Windows MaxTokenSize is 48,000 by default).
   * @throws ConfigError `ERR_CONFIG` when `maxFrameBytes` is out of range.
   */
  constructor(maxFrameBytes: number) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > U32_MAX) {
      throw new ConfigError(
        'ERR_CONFIG',
        `maxFrameBytes must be an integer from 1 to ${U32_MAX}, got ${String(maxFrameBytes)}`,
      );
    }
    this.#maxFrameBytes = maxFrameBytes;
  }

  /**
   * Bytes held for the frame in progress: prefix bytes until the length is known, then body
   * bytes. 0 between frames; never more than `maxFrameBytes`.
   */
  get bufferedBytes(): number {
    return this.#headerFilled + this.#partsBytes;
  }

  /**
   * Feeds the next chunk of the stream.
   *
   * @param chunk - Next bytes from the peer, in order; may be empty. See the class notes on
   *   ownership: the decoder may keep and return views of it.
   * @returns The bodies of all frames completed by this chunk, in stream order (possibly none).
   * @throws FramingError `ERR_FRAME_TOO_LARGE` when a prefix announces more than
   *   `maxFrameBytes` (thrown as soon as the four prefix bytes are known, before any body
   *   byte), `ERR_FRAME_EMPTY` when it announces 0. The decoder is then failed for good.
   */
  push(chunk: Buffer): Buffer[] {
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

  #consume(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#bodyLength < 0) {
        const take = Math.min(HEADER_BYTES - this.#headerFilled, chunk.length - offset);
        chunk.copy(this.#header, this.#headerFilled, offset, offset + take);
        this.#headerFilled += take;
        offset += take;
        if (this.#headerFilled < HEADER_BYTES) {
          break;
        }
        this.#bodyLength = this.#checkLength(this.#header.readUInt32LE(0));
        this.#headerFilled = 0;
        continue;
      }

      const need = this.#bodyLength - this.#partsBytes;
      const available = chunk.length - offset;
      if (this.#partsBytes === 0 && available >= need) {
        // Whole body inside this chunk: a view, no copy (valid, see the class notes).
        frames.push(chunk.subarray(offset, offset + need));
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
        frames.push(Buffer.concat(this.#parts, this.#bodyLength));
        this.#parts = [];
        this.#partsBytes = 0;
        this.#bodyLength = -1;
      }
    }
    return frames;
  }

  #checkLength(length: number): number {
    if (length === 0) {
      throw new FramingError(
        'ERR_FRAME_EMPTY',
        'sspi frame announces an empty token (length 0); a peer never sends an empty token',
      );
    }
    if (length > this.#maxFrameBytes) {
      throw new FramingError(
        'ERR_FRAME_TOO_LARGE',
        `sspi frame length ${length} bytes exceeds the limit of ${this.#maxFrameBytes} bytes ` +
          '(maxFrameBytes)',
      );
    }
    return length;
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

/**
 * Frames one token as `[u32 LE N][N bytes]`.
 *
 * @param token - The token to send; must not be empty (when a GSS/SSPI call produces no
 *   output, nothing is written at all, PROTOCOLS.md §1).
 * @returns A fresh buffer of `4 + token.length` bytes; `token` is copied, not retained.
 * @throws FramingError `ERR_FRAME_EMPTY` for an empty token, `ERR_FRAME_TOO_LARGE` when its
 *   length does not fit a u32.
 */
export function encodeSspiFrame(token: Uint8Array): Buffer {
  if (token.length === 0) {
    throw new FramingError(
      'ERR_FRAME_EMPTY',
      'refusing to frame an empty sspi token: when a call produces no output, send nothing',
    );
  }
  checkU32Length(token.length, 'sspi token');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + token.length);
  frame.writeUInt32LE(token.length, 0);
  frame.set(token, HEADER_BYTES);
  return frame;
}

/**
 * Builds the unframed post-handshake message `[u32 LE T][T bytes trailer][ciphertext]`
 * (PROTOCOLS.md §1: EncryptMessage's [TOKEN, DATA] buffers; `gss_wrap_iov` HEADER, DATA).
 *
 * The message has no overall length: the peer reads it until the connection closes, so the
 * caller must end the connection right after writing it.
 *
 * @param trailer - The security trailer (SECBUFFER_TOKEN / the wrap header), T bytes.
 * @param ciphertext - The sealed data (SECBUFFER_DATA).
 * @returns A fresh buffer of `4 + trailer.length + ciphertext.length` bytes; inputs are copied.
 * @throws FramingError `ERR_FRAME_TOO_LARGE` when the trailer length does not fit a u32.
 */
export function encodeSspiGreeting(trailer: Uint8Array, ciphertext: Uint8Array): Buffer {
  checkU32Length(trailer.length, 'sspi security trailer');
  const message = Buffer.allocUnsafe(HEADER_BYTES + trailer.length + ciphertext.length);
  message.writeUInt32LE(trailer.length, 0);
  message.set(trailer, HEADER_BYTES);
  message.set(ciphertext, HEADER_BYTES + trailer.length);
  return message;
}

/**
 * Splits a complete post-handshake message `[u32 LE T][T bytes trailer][ciphertext]`.
 *
 * The caller bounds `msg` (it was read until EOF, up to some limit); T is then checked
 * against what is actually there, never trusted.
 *
 * @param msg - The whole message as received.
 * @returns Views (`subarray`) of `msg`, not copies: `trailer` is bytes 4..4+T and
 *   `ciphertext` the rest (possibly empty). They live as long as `msg` and share its memory.
 * @throws FramingError `ERR_FRAME_TRUNCATED` when `msg` is shorter than 4 bytes or T exceeds
 *   the bytes that follow the prefix.
 */
export function decodeSspiGreeting(msg: Buffer): { trailer: Buffer; ciphertext: Buffer } {
  if (msg.length < HEADER_BYTES) {
    throw new FramingError(
      'ERR_FRAME_TRUNCATED',
      `sspi message of ${msg.length} bytes is shorter than its 4-byte trailer length`,
    );
  }
  const trailerLength = msg.readUInt32LE(0);
  if (trailerLength > msg.length - HEADER_BYTES) {
    throw new FramingError(
      'ERR_FRAME_TRUNCATED',
      `sspi message announces a ${trailerLength}-byte trailer but only ` +
        `${msg.length - HEADER_BYTES} bytes follow the length`,
    );
  }
  const ciphertextStart = HEADER_BYTES + trailerLength;
  return {
    trailer: msg.subarray(HEADER_BYTES, ciphertextStart),
    ciphertext: msg.subarray(ciphertextStart),
  };
}

function checkU32Length(length: number, what: string): void {
  if (length > U32_MAX) {
    throw new FramingError(
      'ERR_FRAME_TOO_LARGE',
      `${what} of ${length} bytes does not fit the u32 length prefix (max ${U32_MAX})`,
    );
  }
}
