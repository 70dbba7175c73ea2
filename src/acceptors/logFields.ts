/**
 * Log fields shared by the front ends' handshake lines.
 */
import { GssError } from '../errors.js';

/**
 * GSSAPI's major and minor status of a failure, for the `handshake failed` line (its `message`
 * already holds their gss_display_status text); nothing for other errors.
 */
export function gssStatusFields(err: unknown): { major?: number; minor?: number } {
  return err instanceof GssError ? { major: err.major, minor: err.minor } : {};
}
