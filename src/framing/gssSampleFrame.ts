/**
 * MIT krb5 gss-sample framing, as spoken by `gss-client` / `gss-server` (PROTOCOLS.md §2).
 *
 * ```
 * [1 flags byte][u32 big-endian N][N bytes]
 * ```
 *
 * A first byte of 0 is the old flagless "v1" format, where that byte is the top byte of the
 * length: it is refused as soon as it arrives, as the current gss-server does. Empty bodies are
 * legal (NOOP frames are `01 00000000`).
 *
 * The reference `recv_token` trusts the peer's N and allocates it: here every N is checked
 * against `maxFrameBytes` as soon as its four bytes are known, before any body byte is kept.
 */

import { FramingError } from '../errors.js';
import { LengthPrefixedDecoder, U32_MAX } from './lengthPrefixedDecoder.js';
import type { FrameFormat } from './lengthPrefixedDecoder.js';

/** Size of the flags byte plus the length prefix, in bytes. */
const HEADER_BYTES = 5;

/** Token flag bits of the gss-sample frame's first byte (MIT `gss-misc.h` `TOKEN_*`). */
export const TokenFlag = {
  /** Empty token; also "end of session". */
  NOOP: 0x01,
  /** Context-establishment token. */
  CONTEXT: 0x02,
  /** Application message. */
  DATA: 0x04,
  /** MIC reply. */
  MIC: 0x08,
  /** On the first NOOP: context tokens follow. */
  CONTEXT_NEXT: 0x10,
  /** Data is `gss_wrap` output. */
  WRAPPED: 0x20,
  /** Wrapped with confidentiality. */
  ENCRYPTED: 0x40,
  /** The server must reply with `gss_get_mic(plaintext)`. */
  SEND_MIC: 0x80,
} as const;

/** One decoded gss-sample frame. */
export interface GssSampleFrame {
  /** The flags byte, 1..255 (a combination of {@link TokenFlag} bits, not validated here). */
  flags: number;
  /** The body, possibly empty. Ownership as described on {@link GssSampleFrameDecoder}. */
  body: Buffer;
}

/** The bits a DATA frame may carry. */
const DATA_ALLOWED_FLAGS = TokenFlag.DATA | TokenFlag.WRAPPED | TokenFlag.ENCRYPTED | TokenFlag.SEND_MIC;

/** The `[flags][u32 BE N]` header, for the shared decoding loop. */
const GSS_SAMPLE_FORMAT: FrameFormat<GssSampleFrame> = {
  headerBytes: HEADER_BYTES,
  checkPartialHeader(header) {
    // Decided on the first byte alone: a v1 peer would otherwise sit waiting for a reply
    // while we wait for a body whose length we misread.
    if (header[0] === 0) {
      throw new FramingError(
        'ERR_FRAME_UNSUPPORTED_V1',
        'gss-sample v1 (flagless) clients are not supported; use a gss-client from ' +
          'krb5 >= 1.x that sends token flags',
      );
    }
  },
  parseHeader: (header) => ({ flags: header[0] ?? 0, length: header.readUInt32BE(1) }),
  tooLarge: (length, flags, maxFrameBytes) =>
    new FramingError(
      'ERR_FRAME_TOO_LARGE',
      `gss-sample frame length ${length} bytes (flags ${hex(flags)}) exceeds the ` +
        `limit of ${maxFrameBytes} bytes (maxFrameBytes)`,
    ),
  toFrame: (body, flags) => ({ flags, body }),
};

/**
 * Incremental, bounded decoder of `[flags][u32 BE N][N bytes]` frames from a TCP byte stream.
 *
 * Accepts arbitrary chunking and holds at most the one frame in progress (never more than
 * `maxFrameBytes`). A body that lies wholly inside one pushed chunk is returned as a view
 * (`subarray`) of that chunk, not a copy: do not modify a chunk after pushing it. After `push`
 * throws, every later `push` rethrows the same error and the connection must be closed.
 * Details of both in `lengthPrefixedDecoder.ts`, the decoding loop shared with sspi.
 *
 * Only the framing is checked here (v1, length bound); which flags are legal where is the
 * protocol layer's business (see {@link classifyDataFlags}).
 */
export class GssSampleFrameDecoder {
  readonly #decoder: LengthPrefixedDecoder<GssSampleFrame>;

  /**
   * @param maxFrameBytes - Largest accepted body length N, in bytes: an integer from 1 to
   *   2^32 - 1. Context tokens are the large ones; 64 KiB covers Kerberos and NTLM.
   * @throws ConfigError `ERR_CONFIG` when `maxFrameBytes` is out of range.
   */
  constructor(maxFrameBytes: number) {
    this.#decoder = new LengthPrefixedDecoder(GSS_SAMPLE_FORMAT, maxFrameBytes);
  }

  /**
   * Bytes held for the frame in progress: header bytes until the header is complete, then
   * body bytes. 0 between frames; never more than `maxFrameBytes`.
   */
  get bufferedBytes(): number {
    return this.#decoder.bufferedBytes;
  }

  /**
   * Feeds the next chunk of the stream.
   *
   * @param chunk - Next bytes from the peer, in order; may be empty. See the class notes on
   *   ownership: the decoder may keep and return views of it.
   * @returns All frames completed by this chunk, in stream order (possibly none).
   * @throws FramingError `ERR_FRAME_UNSUPPORTED_V1` as soon as a frame's first byte is 0,
   *   `ERR_FRAME_TOO_LARGE` when a header announces more than `maxFrameBytes` (thrown as soon
   *   as the five header bytes are known, before any body byte). The decoder is then failed
   *   for good.
   */
  push(chunk: Buffer): GssSampleFrame[] {
    return this.#decoder.push(chunk);
  }
}

/**
 * Frames one token as `[flags][u32 BE N][N bytes]`.
 *
 * @param flags - The flags byte, 1..255 (combine {@link TokenFlag} bits). 0 is refused: the
 *   peer would read it as a v1 frame.
 * @param body - The body; omitted or empty for NOOP frames.
 * @returns A fresh buffer of `5 + body.length` bytes; `body` is copied, not retained.
 * @throws FramingError `ERR_FRAME_UNEXPECTED` when `flags` is not an integer in 1..255,
 *   `ERR_FRAME_TOO_LARGE` when the body length does not fit a u32.
 */
export function encodeGssSampleFrame(flags: number, body?: Uint8Array): Buffer {
  if (!Number.isInteger(flags) || flags < 1 || flags > 0xff) {
    throw new FramingError(
      'ERR_FRAME_UNEXPECTED',
      `gss-sample flags must be an integer from 1 to 255 (0 would read as a v1 frame), ` + `got ${String(flags)}`,
    );
  }
  const length = body?.length ?? 0;
  if (length > U32_MAX) {
    throw new FramingError(
      'ERR_FRAME_TOO_LARGE',
      `gss-sample body of ${length} bytes does not fit the u32 length prefix (max ${U32_MAX})`,
    );
  }
  const frame = Buffer.allocUnsafe(HEADER_BYTES + length);
  frame.writeUInt8(flags, 0);
  frame.writeUInt32BE(length, 1);
  if (body !== undefined) {
    frame.set(body, HEADER_BYTES);
  }
  return frame;
}

/**
 * Validates the flags of a frame received where the protocol expects an application message,
 * and says how to process its body.
 *
 * The byte must contain DATA and may add WRAPPED, ENCRYPTED and SEND_MIC; any other bit is
 * refused. gss-client's defaults send 0xE4, `-nm` 0x64, `-nx` 0xA4, `-nw` 0xC4, all three
 * 0x04. Note `-nw` leaves ENCRYPTED set without WRAPPED, and gss-server looks only at WRAPPED
 * to decide whether to unwrap: ENCRYPTED without WRAPPED is therefore accepted and means a
 * plain, unwrapped body.
 *
 * This checks the byte only: refusing WRAPPED/ENCRYPTED/SEND_MIC when no context exists
 * (PROTOCOLS.md §2) is the caller's job.
 *
 * @param flags - The frame's flags byte.
 * @returns `wrapped`: the body is `gss_wrap` output and must be unwrapped; `encrypted`: the
 *   client asked for confidentiality on a wrapped body (always false when not wrapped);
 *   `sendMic`: the reply must be `gss_get_mic(plaintext)` with flag MIC, else a NOOP.
 * @throws FramingError `ERR_FRAME_UNEXPECTED` when DATA is missing or another bit is set.
 */
export function classifyDataFlags(flags: number): {
  wrapped: boolean;
  encrypted: boolean;
  sendMic: boolean;
} {
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xff) {
    throw new FramingError('ERR_FRAME_UNEXPECTED', `gss-sample flags must be a byte, got ${String(flags)}`);
  }
  if ((flags & TokenFlag.DATA) === 0) {
    throw new FramingError('ERR_FRAME_UNEXPECTED', `expected a DATA frame (flag 0x04), got flags ${hex(flags)}`);
  }
  const extra = flags & ~DATA_ALLOWED_FLAGS;
  if (extra !== 0) {
    throw new FramingError(
      'ERR_FRAME_UNEXPECTED',
      `DATA frame flags ${hex(flags)} carry bits ${hex(extra)} that a DATA frame cannot have ` +
        '(allowed: DATA 0x04, WRAPPED 0x20, ENCRYPTED 0x40, SEND_MIC 0x80)',
    );
  }
  const wrapped = (flags & TokenFlag.WRAPPED) !== 0;
  return {
    wrapped,
    encrypted: wrapped && (flags & TokenFlag.ENCRYPTED) !== 0,
    sendMic: (flags & TokenFlag.SEND_MIC) !== 0,
  };
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0').toUpperCase()}`;
}
