/**
 * The realm directory on disk: where each file lives, and the files that let another process
 * take the realm over. `realm up DIR` writes DIR/realm.json, DIR/kdc.pid and DIR/env;
 * `realm down DIR` reads the first two; users source the third (`. DIR/env`).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { isIpv4Address, isRealmName, isUserName } from './inputs.js';
import { errorText, realmError } from './realmError.js';

/** Absolute paths of everything in a realm directory. */
export interface RealmFiles {
  dir: string;
  /** Client profile (`KRB5_CONFIG`). */
  krb5Config: string;
  /** KDC profile (`KRB5_KDC_PROFILE`). */
  kdcProfile: string;
  keytab: string;
  /** FILE ccache of the user's TGT, without the `FILE:` prefix. */
  ccache: string;
  ntlmUserFile: string;
  kdcLog: string;
  rcacheDir: string;
  envFile: string;
  stateFile: string;
  pidFile: string;
  database: string;
  stash: string;
}

export function realmFiles(dir: string): RealmFiles {
  const file = (name: string): string => path.join(dir, name);
  return {
    dir,
    krb5Config: file('krb5.conf'),
    kdcProfile: file('kdc.conf'),
    keytab: file('keytab'),
    ccache: file('ccache'),
    ntlmUserFile: file('ntlm_users'),
    kdcLog: file('kdc.log'),
    rcacheDir: file('rcache'),
    envFile: file('env'),
    stateFile: file('realm.json'),
    pidFile: file('kdc.pid'),
    database: file('principal'),
    stash: file('stash'),
  };
}

const kStateFormat = 1;

/** Everything `ThrowawayRealm.load()` needs besides the directory. */
export interface RealmState {
  realm: string;
  user: string;
  /** Secret: the file is mode 0600. */
  password: string;
  kdcPort: number;
  /** IPv4 address the KDC listens on; absent in files written before it existed (127.0.0.1). */
  kdcAddress?: string;
  detached: boolean;
}

/** Writes DIR/realm.json (mode 0600: it holds the password). */
export async function saveState(file: string, state: RealmState): Promise<void> {
  const { realm, user, password, kdcPort, kdcAddress, detached } = state;
  const record = { format: kStateFormat, realm, user, password, kdcPort, kdcAddress, detached };
  await writePrivateFile(file, `${JSON.stringify(record, null, 2)}\n`);
}

/** Reads and checks DIR/realm.json; ERR_REALM naming the file when it is missing or wrong. */
export async function loadState(file: string): Promise<RealmState> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw realmError(`cannot load the realm in ${path.dirname(file)}: reading ${file} failed: ${errorText(err)}`, err);
  }
  const bad = (why: string): Error => realmError(`${file} is not a realm state file: ${why}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('not a JSON object');
  const record: Partial<Record<string, unknown>> = { ...raw };
  if (record['format'] !== kStateFormat) throw bad(`unsupported format ${JSON.stringify(record['format'])}`);
  const { realm, user, password, kdcPort, kdcAddress, detached } = record;
  if (typeof realm !== 'string' || !isRealmName(realm)) throw bad('bad "realm"');
  if (typeof user !== 'string' || !isUserName(user)) throw bad('bad "user"');
  if (typeof password !== 'string') throw bad('bad "password"');
  if (typeof kdcPort !== 'number' || !Number.isInteger(kdcPort)) throw bad('bad "kdcPort"');
  if (typeof detached !== 'boolean') throw bad('bad "detached"');
  if (kdcAddress !== undefined && (typeof kdcAddress !== 'string' || !isIpv4Address(kdcAddress))) {
    throw bad('bad "kdcAddress"');
  }
  return { realm, user, password, kdcPort, ...(kdcAddress === undefined ? {} : { kdcAddress }), detached };
}

export async function writePidFile(file: string, pid: number): Promise<void> {
  await fs.writeFile(file, `${pid}\n`, { mode: 0o644 });
}

/** The PID in DIR/kdc.pid, or undefined when the file is missing or holds no PID. */
export async function readPidFile(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = (await fs.readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
  return /^[1-9][0-9]*$/.test(text) ? Number(text) : undefined;
}

/**
 * DIR/env: a header naming the realm, then one `export NAME='value'` line per variable, for
 * `. DIR/env` in sh and bash. Mode 0600: the variables include the password.
 */
export async function writeEnvFile(file: string, realm: string, vars: Readonly<Record<string, string>>): Promise<void> {
  await writePrivateFile(file, envFileText(file, realm, vars));
}

export function envFileText(file: string, realm: string, vars: Readonly<Record<string, string>>): string {
  const lines = Object.entries(vars).map(([name, value]) => `export ${name}=${shellQuote(value)}`);
  const header = `# Throwaway Kerberos realm ${realm}; holds a password. Use: . ${shellQuote(file)}`;
  return `${header}\n${lines.join('\n')}\n`;
}

/** Single-quotes `value` for sh: nothing inside is expanded. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Writes `text` readable by the owner only, also when the file already existed. */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  await fs.writeFile(file, text, { mode: 0o600 });
  // mode applies only when the file is created; an existing file keeps its old mode.
  await fs.chmod(file, 0o600);
}

/** Creates `dir` (mode 0700) when missing; refuses one that holds anything. */
export async function prepareEmptyDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      return;
    }
    throw realmError(`cannot use ${dir} as a realm directory: ${errorText(err)}`, err);
  }
  if (entries.length > 0) {
    const shown = entries.slice(0, 5).join(', ');
    throw realmError(
      `refusing to create a realm in ${dir}: the directory is not empty (${shown}); pass a new or empty directory`,
    );
  }
}
