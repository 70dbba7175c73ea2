/**
 * What the HTTP front end reads off uWS responses, kept out of the request path in HttpAcceptor.
 */
import type { HttpResponse } from 'uwebsockets';

/** Two lowercase hex digits per byte value. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * The peer's address as uWS's getRemoteAddressAsText() writes it — dotted decimal for the 4
 * bytes of an IPv4 peer, eight groups of four hex digits for the 16 of an IPv6 one (an IPv4
 * client of a dual-stack listener included) — from its binary form: the text form cost a second
 * ArrayBuffer and a UTF-8 decode per request on top of the same getpeername(2). Undefined when
 * there is none (the response is gone).
 */
export function formatPeerAddress(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return `${bytes[0] ?? 0}.${bytes[1] ?? 0}.${bytes[2] ?? 0}.${bytes[3] ?? 0}`;
  if (bytes.length !== 16) return undefined;
  let text = '';
  for (let i = 0; i < 16; i += 2) {
    text += `${i === 0 ? '' : ':'}${HEX[bytes[i] ?? 0] ?? ''}${HEX[bytes[i + 1] ?? 0] ?? ''}`;
  }
  return text;
}

/** The peer's address as uWS reports it, or undefined once the response is gone. */
export function remoteAddressOf(res: HttpResponse): string | undefined {
  try {
    return formatPeerAddress(new Uint8Array(res.getRemoteAddress()));
  } catch {
    return undefined;
  }
}
