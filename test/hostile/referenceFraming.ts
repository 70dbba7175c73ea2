/**
 * A whole-stream reference decoder for length-prefixed framings, written for clarity rather
 * than speed: the oracle the incremental decoders are checked against. It describes what a
 * decoder must have concluded once it has seen `stream`, however the bytes were chunked.
 */

/** How one framing reads its header, for the oracle. */
export interface ReferenceFormat {
  headerBytes: number;
  /** A code if the first `filled` header bytes already refuse the frame (gss-sample's v1 byte). */
  refusePartial?: (header: Buffer, filled: number) => string | undefined;
  /** Length and flags of a complete header, or a code when the header is refused. */
  parse: (header: Buffer) => { length: number; flags: number } | { code: string };
  /** The code for a length above the maximum. */
  tooLargeCode: string;
}

export interface ReferenceFrame {
  flags: number;
  body: Buffer;
}

export interface ReferenceResult {
  /** Every frame completed before the stream ends or fails. */
  frames: ReferenceFrame[];
  /** The error the stream runs into, if any. */
  code?: string;
  /** Bytes held for an incomplete last frame (header bytes, or body bytes once the header is whole). */
  pending: number;
}

export function referenceDecode(stream: Buffer, f: ReferenceFormat, maxFrameBytes: number): ReferenceResult {
  const frames: ReferenceFrame[] = [];
  let at = 0;
  while (at < stream.length) {
    const headerEnd = Math.min(stream.length, at + f.headerBytes);
    const header = stream.subarray(at, headerEnd);
    for (let filled = 1; filled <= header.length; filled++) {
      const code = f.refusePartial?.(header, filled);
      if (code !== undefined) return { frames, code, pending: 0 };
    }
    if (header.length < f.headerBytes) return { frames, pending: header.length };
    const parsed = f.parse(header);
    if ('code' in parsed) return { frames, code: parsed.code, pending: 0 };
    if (parsed.length > maxFrameBytes) return { frames, code: f.tooLargeCode, pending: 0 };
    const bodyEnd = headerEnd + parsed.length;
    if (bodyEnd > stream.length) return { frames, pending: stream.length - headerEnd };
    frames.push({ flags: parsed.flags, body: stream.subarray(headerEnd, bodyEnd) });
    at = bodyEnd;
  }
  return { frames, pending: 0 };
}

export const SSPI_REFERENCE: ReferenceFormat = {
  headerBytes: 4,
  parse: (h) => {
    const length = h.readUInt32LE(0);
    return length === 0 ? { code: 'ERR_FRAME_EMPTY' } : { length, flags: 0 };
  },
  tooLargeCode: 'ERR_FRAME_TOO_LARGE',
};

export const GSS_SAMPLE_REFERENCE: ReferenceFormat = {
  headerBytes: 5,
  refusePartial: (h) => (h[0] === 0 ? 'ERR_FRAME_UNSUPPORTED_V1' : undefined),
  parse: (h) => ({ length: h.readUInt32BE(1), flags: h[0] ?? 0 }),
  tooLargeCode: 'ERR_FRAME_TOO_LARGE',
};
