/**
 * The principal names the authorization rules take (--allow-principal, --allow-principals-file):
 * what a valid one looks like, and the file format, read once at start. A line that is not a
 * name refuses the start with its line number: a typo must not silently let nobody (or the
 * wrong user) in.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/**
 * `name@REALM` (Kerberos; `\@` escapes an `@` of the name) or `DOMAIN\user` (NTLM), with no
 * whitespace or control characters.
 */
const KERBEROS_NAME = /^(?:[^\s@\\\p{Cc}]|\\[^\s\p{Cc}])+@[^\s@\\\p{Cc}]+$/u;
const NTLM_NAME = /^[^\s@\\\p{Cc}]+\\[^\s@\\\p{Cc}]+$/u;

/** True for a principal name the rules can match (see KERBEROS_NAME, NTLM_NAME). */
export function isPrincipalName(name: string): boolean {
  return KERBEROS_NAME.test(name) || NTLM_NAME.test(name);
}

/** Checks one configured principal name; ConfigError ERR_CONFIG naming `where`. */
export function checkPrincipalName(name: unknown, where: string): string {
  if (typeof name !== 'string' || !isPrincipalName(name)) {
    throw new ConfigError(
      'ERR_CONFIG',
      `${where}: ${JSON.stringify(name)} is not a principal name (user@REALM, or DOMAIN\\user for NTLM)`,
    );
  }
  return name;
}

/**
 * The principals of `file`: one per line; blank lines and lines starting with `#` are skipped,
 * surrounding whitespace is trimmed. ConfigError ERR_CONFIG if the file cannot be read or a line
 * is not a principal name (with its line number).
 */
export function readPrincipalsFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('ERR_CONFIG', `allowed principals file ${file} cannot be read: ${String(err)}`);
  }
  const names: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    names.push(checkPrincipalName(line, `${file} line ${i + 1}`));
  });
  return names;
}
