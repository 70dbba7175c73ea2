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

import { FramingError } from '../errors.js';
import { LengthPrefixedDecoder, U32_MAX } from './lengthPrefixedDecoder.js';
import type { FrameFormat } from './lengthPrefixedDecoder.js';

/** Size of the length prefix, in bytes. */
const HEADER_BYTES = 4;

/** The `[u32 LE N]` prefix, for the shared decoding loop. */
const SSPI_FORMAT: FrameFormat<Buffer> = {
  headerBytes: HEADER_BYTES,
  parseHeader(header) {
    const length = header.readUInt32LE(0);
    if (length === 0) {
      throw new FramingError(
        'ERR_FRAME_EMPTY',
        'sspi frame announces an empty token (length 0); a peer never sends an empty token',
      );
    }
    return { length };
  },
  tooLarge: (length, _flags, maxFrameBytes) =>
    new FramingError(
      'ERR_FRAME_TOO_LARGE',
      `sspi frame length ${length} bytes exceeds the limit of ${maxFrameBytes} bytes ` + '(maxFrameBytes)',
    ),
  toFrame: (body) => body,
};

/**
 * Incremental, bounded decoder of `[u32 LE N][N bytes]` frames from a TCP byte stream.
 *
 * Accepts arbitrary chunking and holds at most the one frame in progress (never more than
 * `maxFrameBytes`). A frame that lies wholly inside one pushed chunk is returned as a view
 * (`subarray`) of that chunk, not a copy: do not modify a chunk after pushing it. After `push`
 * throws, every later `push` rethrows the same error and the connection must be closed.
 * Details of both in `lengthPrefixedDecoder.ts`, the decoding loop shared with gss-sample.
 */
export class SspiFrameDecoder {
  readonly #decoder: LengthPrefixedDecoder<Buffer>;

  /**
   * @param maxFrameBytes - Largest accepted body length N, in bytes: an integer from 1 to
   *   2^32 - 1. PROTOCOLS.md §1 suggests 64 KiB (Windows MaxTokenSize is 48,000 by default).
   * @throws ConfigError `ERR_CONFIG` when `maxFrameBytes` is out of range.
   */
  constructor(maxFrameBytes: number) {
    this.#decoder = new LengthPrefixedDecoder(SSPI_FORMAT, maxFrameBytes);
  }

  /**
   * Bytes held for the frame in progress: prefix bytes until the length is known, then body
   * bytes. 0 between frames; never more than `maxFrameBytes`.
   */
  get bufferedBytes(): number {
    return this.#decoder.bufferedBytes;
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
    return this.#decoder.push(chunk);
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
