/**
 * The HTTP header block limit an RFC 4559 listener needs: the largest `Authorization:
 * Negotiate <base64>` it accepts plus room for everything else. Shared by both HTTP engines
 * (uWS reads it from UWS_HTTP_MAX_HEADERS_SIZE, node:http takes it as maxHeaderSize), so an
 * Active Directory token with a large PAC fits and a larger block is refused with 431.
 */

/** Room for the request line and every header but Authorization (cookies, proxies' headers…). */
export const HEADER_ROOM_BYTES = 16 * 1024;

/** The header block limit for tokens up to `maxTokenBytes`: `Negotiate <base64>` plus the room. */
export function headerLimitFor(maxTokenBytes: number): number {
  return 'Authorization: Negotiate \r\n'.length + 4 * Math.ceil(maxTokenBytes / 3) + HEADER_ROOM_BYTES;
}
