/**
 * What a realm accepts as names, paths and passwords, and the secrets it makes up. Realm and
 * principal names end up inside kadmin queries and krb5 profile files, and passwords on prompt
 * lines; all of these break on quotes, line breaks and control characters, so such input is
 * refused before any file is written.
 */
import { randomBytes } from 'node:crypto';

import { realmError } from './realmError.js';

const kRealmPattern = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const kUserPattern = /^[A-Za-z0-9._-]+$/;
const kPrincipalPattern = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*(@[A-Za-z0-9.-]+)?$/;
// eslint-disable-next-line no-control-regex
const kUnsafePathPattern = /["\\\u0000-\u001f\u007f]/;

export function isRealmName(name: string): boolean {
  return kRealmPattern.test(name);
}

export function isUserName(name: string): boolean {
  return kUserPattern.test(name);
}

export function checkRealmName(name: string): void {
  if (!isRealmName(name)) throw realmError(`invalid realm name ${JSON.stringify(name)}`);
}

export function checkUserName(name: string): void {
  if (!isUserName(name)) throw realmError(`invalid user name ${JSON.stringify(name)}`);
}

/** `name`, `name/instance` or either with `@REALM`. */
export function checkPrincipal(name: string): void {
  if (!kPrincipalPattern.test(name)) throw realmError(`invalid principal name ${JSON.stringify(name)}`);
}

/** Throws unless `file` can be written into a profile or a kadmin query (`what` names it). */
export function checkPath(file: string, what: string): void {
  if (kUnsafePathPattern.test(file)) {
    throw realmError(`unusable ${what} ${JSON.stringify(file)}: it contains quotes, backslashes or control characters`);
  }
}

export function checkPassword(password: string): void {
  // Passwords are fed to prompts one per line and stored one per line in the NTLM file.
  if (password.length === 0 || /[\r\n\0]/.test(password)) {
    throw realmError('invalid password: it must be non-empty and hold no line breaks or NUL');
  }
}

/**
 * A `key = value` line for a realm's krb5.conf stanza: one line, no braces (which would open or
 * close a stanza), a relation name as MIT's profile parser reads it.
 */
export function checkRealmSetting(line: string): void {
  if (!/^[A-Za-z0-9_-]+ *= *[^{}\r\n\0]+$/.test(line)) {
    throw realmError(`invalid realm setting ${JSON.stringify(line)}: expected one "key = value" line without braces`);
  }
}

/** A dotted-quad IPv4 address, the only form the KDC's listen lines and krb5.conf take here. */
export function isIpv4Address(address: string): boolean {
  const parts = address.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

export function checkKdcAddress(address: string): void {
  if (!isIpv4Address(address))
    throw realmError(`invalid kdcAddress ${JSON.stringify(address)}: expected an IPv4 address`);
}

export function checkPort(port: number): void {
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw realmError(`invalid kdcPort ${port}: expected an integer in 1..65535`);
  }
}

/** Everything `ThrowawayRealm.create()` is given, checked before anything is written. */
export function checkRealmInputs(i: {
  dir: string;
  realm: string;
  user: string;
  password: string;
  kdcPort: number | undefined;
  kdcAddress?: string | undefined;
  realmSettings?: readonly string[] | undefined;
}): void {
  checkPath(i.dir, 'realm directory');
  checkRealmName(i.realm);
  checkUserName(i.user);
  checkPassword(i.password);
  if (i.kdcPort !== undefined) checkPort(i.kdcPort);
  if (i.kdcAddress !== undefined) checkKdcAddress(i.kdcAddress);
  for (const line of i.realmSettings ?? []) checkRealmSetting(line);
}

/**
 * 24 base64url characters from 18 random bytes, never starting with '-': command-line parsers
 * (argparse in the sample clients, among others) take `--password -x...` for an option.
 */
export function randomSecret(): string {
  for (;;) {
    const s = randomBytes(18).toString('base64url');
    if (!s.startsWith('-')) return s;
  }
}
