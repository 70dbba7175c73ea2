/**
 * DIR/ad-realm.json: what `AdDomain.load(dir)` needs to take a domain over from the process
 * that made it (`realm down DIR`). Its presence is also what marks DIR as an AD domain rather
 * than an MIT realm (DIR/realm.json).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { isRealmName, isUserName } from '../inputs.js';
import { errorText, realmError } from '../realmError.js';
import { writePrivateFile } from '../state.js';
import { isNamespaceName } from './netns.js';

export const kAdStateFile = 'ad-realm.json';
const kFormat = 1;

export interface AdState {
  realm: string;
  /** NetBIOS domain name, e.g. `SAMBA`. */
  domain: string;
  user: string;
  /** Secret: the file is mode 0600. */
  password: string;
  /** sAMAccountName of the service account holding HTTP/localhost and host/localhost. */
  serviceAccount: string;
  netns: string;
  sambaPid: number;
  detached: boolean;
}

export async function saveAdState(dir: string, s: AdState): Promise<void> {
  await writePrivateFile(
    path.join(dir, kAdStateFile),
    `${JSON.stringify({ format: kFormat, kind: 'ad', ...s }, null, 2)}\n`,
  );
}

/** True when DIR holds an AD domain's state file. */
export async function isAdDomainDir(dir: string): Promise<boolean> {
  try {
    await fs.access(path.join(dir, kAdStateFile));
    return true;
  } catch {
    return false;
  }
}

export async function loadAdState(dir: string): Promise<AdState> {
  const file = path.join(dir, kAdStateFile);
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw realmError(`cannot load the AD domain in ${dir}: reading ${file} failed: ${errorText(err)}`, err);
  }
  const bad = (why: string): Error => realmError(`${file} is not an AD domain state file: ${why}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('not a JSON object');
  const r: Partial<Record<string, unknown>> = { ...raw };
  if (r['format'] !== kFormat || r['kind'] !== 'ad') throw bad('unsupported format');
  const { realm, domain, user, password, serviceAccount, netns, sambaPid, detached } = r;
  if (typeof realm !== 'string' || !isRealmName(realm)) throw bad('bad "realm"');
  if (typeof domain !== 'string' || !isUserName(domain)) throw bad('bad "domain"');
  if (typeof user !== 'string' || !isUserName(user)) throw bad('bad "user"');
  if (typeof password !== 'string') throw bad('bad "password"');
  if (typeof serviceAccount !== 'string' || !isUserName(serviceAccount)) throw bad('bad "serviceAccount"');
  if (typeof netns !== 'string' || !isNamespaceName(netns)) throw bad('bad "netns"');
  if (typeof sambaPid !== 'number' || !Number.isInteger(sambaPid)) throw bad('bad "sambaPid"');
  if (typeof detached !== 'boolean') throw bad('bad "detached"');
  return { realm, domain, user, password, serviceAccount, netns, sambaPid, detached };
}
