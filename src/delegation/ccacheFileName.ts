/**
 * The file name of a principal's delegated ccache inside the delegation directory. The mapping
 * is injective (two principals never share a file) and its output is always one plain name in
 * that directory: no `/`, no NUL, never `.` or `..`, never a leading `.` (the prefix of the
 * addon's temporary files), at most 200 bytes.
 */
import { createHash } from 'node:crypto';

/** Bytes kept as themselves; every other byte (UTF-8) becomes %XX, `%` included. */
const PLAIN = /^[A-Za-z0-9@._+=,-]$/;
const MAX_NAME_BYTES = 200;
/** Long names keep this much of their escaped form, then `~` and a hash of the principal. */
const LONG_PREFIX_BYTES = 120;

/**
 * `alice@EXAMPLE.COM` → `alice@EXAMPLE.COM`; `HTTP/www@EXAMPLE.COM` → `HTTP%2Fwww@EXAMPLE.COM`;
 * `../x` → `%2E.%2Fx`. Undefined for a principal that cannot name a file of its own: empty, or
 * holding U+FFFD (the addon's replacement for bytes that were not UTF-8, so two different
 * principals could read the same here).
 */
export function ccacheFileName(principal: string): string | undefined {
  if (principal.length === 0 || principal.includes('\uFFFD')) return undefined;
  let out = '';
  for (const byte of Buffer.from(principal, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += PLAIN.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  // A leading dot would make `.`, `..` or a hidden name that looks like a temporary file.
  if (out.startsWith('.')) out = `%2E${out.slice(1)}`;
  if (out.length <= MAX_NAME_BYTES) return out;
  // `~` is never plain, so a shortened name cannot equal a short one; the hash keeps long ones apart.
  const hash = createHash('sha256').update(principal, 'utf8').digest('hex');
  return `${out.slice(0, LONG_PREFIX_BYTES)}~${hash}`;
}
