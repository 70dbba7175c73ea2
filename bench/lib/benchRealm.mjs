/**
 * The realm a single-purpose bench gets its tickets from: the MIT throwaway realm (no PAC), or a
 * throwaway Active Directory domain (Samba; root) whose tickets carry a PAC naming the user's
 * SIDs and `groups` groups besides Domain Users, as an AD user's do. Both give `env()`,
 * `keytab` and `stop()`.
 *
 * The AD domain's KDC lives in a network namespace: the service ticket for HTTP/localhost is
 * fetched once inside it (kvno) into the user's ticket cache, so token generators, servers and
 * accept loops run here and need no KDC.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src');

/**
 * The `--realm` and `--groups` options checked: `{ kind, groups }`, or what is wrong with them.
 * @returns {{ kind: 'mit' | 'ad', groups: number } | string}
 */
export function realmOptions(/** @type {string} */ realm, /** @type {string} */ groupsText) {
  const groups = Number(groupsText);
  if (realm !== 'mit' && realm !== 'ad') return `--realm must be mit or ad, not ${JSON.stringify(realm)}`;
  if (!(Number.isInteger(groups) && groups >= 0 && groups <= 5000)) return '--groups must be 0..5000';
  if (groups > 0 && realm !== 'ad') return '--groups needs --realm ad';
  return { kind: realm, groups };
}

/**
 * @param {{ dir: string, kind: 'mit' | 'ad', groups?: number }} opts dir: created; removed by the caller.
 * @returns {Promise<{ env(): Record<string, string>, keytab: string, stop(): Promise<void> }>}
 */
export async function startBenchRealm({ dir, kind, groups = 0 }) {
  if (kind === 'ad') process.stderr.write(`provisioning a throwaway AD domain, ${groups} groups (10-30 s)\n`);
  const { ThrowawayRealm, ThrowawayAdDomain } = await import(path.join(dist, 'realm', 'index.js'));
  if (kind === 'mit') return ThrowawayRealm.create({ dir });
  if (kind !== 'ad') throw new Error(`unknown realm kind ${kind}`);
  const domain = await ThrowawayAdDomain.create({ dir, groups });
  try {
    const env = domain.env();
    const [file, argv] = await domain.command(['kvno', `HTTP/localhost@${env.NEGOTIATE_REALM}`]);
    const r = spawnSync(file, argv, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`kvno in the domain's namespace failed: ${(r.stderr ?? '').trim()}`);
  } catch (err) {
    await domain.stop();
    throw err;
  }
  return domain;
}

/** What a report says the tickets were. */
export function realmLabel(/** @type {string} */ kind, /** @type {number} */ groups) {
  return kind === 'ad' ? `AD tickets (PAC, ${groups} extra groups)` : 'MIT realm tickets (no PAC)';
}
