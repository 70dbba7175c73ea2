/**
 * What the HTTP front end reads off uWS responses, kept out of the request path in HttpAcceptor.
 */
import type { HttpResponse } from 'uwebsockets';

/** The peer's address as uWS reports it, or undefined once the response is gone. */
export function remoteAddressOf(res: HttpResponse): string | undefined {
  try {
    const text = Buffer.from(res.getRemoteAddressAsText()).toString();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}
