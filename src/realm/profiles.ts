/**
 * The realm's two MIT profiles as text: krb5.conf for clients and acceptors (`KRB5_CONFIG`)
 * and kdc.conf for the KDC and the admin tools (`KRB5_KDC_PROFILE`). The text comes from pure
 * functions that read no file, so nothing in /etc/krb5.conf can leak into a realm.
 */
import * as fs from 'node:fs/promises';

/** What krb5.conf names. Paths are absolute and already checked by `inputs.checkPath`. */
export interface ClientProfile {
  realm: string;
  kdcPort: number;
  /** IPv4 address the KDC listens on. Default `127.0.0.1`. */
  kdcAddress?: string;
  ccache: string;
  keytab: string;
  /**
   * More `key = value` lines for the realm's stanza in [realms], e.g.
   * `auth_to_local = RULE:[1:$1@$0](^alice@.*$)s/@.*$/_local/` (checked by inputs.checkRealmSetting).
   */
  realmSettings?: readonly string[];
}

/** What kdc.conf names. */
export interface KdcProfile {
  realm: string;
  kdcPort: number;
  /** IPv4 address to listen on. Default `127.0.0.1`. */
  kdcAddress?: string;
  database: string;
  stash: string;
  kdcLog: string;
}

export function krb5Conf(p: ClientProfile): string {
  return [
    `# Throwaway realm ${p.realm} (negotiate-server src/realm); deleted with its directory.`,
    '[libdefaults]',
    `    default_realm = ${p.realm}`,
    '    dns_lookup_kdc = false',
    '    dns_lookup_realm = false',
    '    dns_canonicalize_hostname = false',
    '    rdns = false',
    // Always TCP: a stopped KDC then fails fast with "connection refused" instead of UDP
    // retries, and large tickets never take the RESPONSE_TOO_BIG detour.
    '    udp_preference_limit = 1',
    // Forwardable TGTs, so clients can test delegation (gss-client -d).
    '    forwardable = true',
    `    default_ccache_name = FILE:${p.ccache}`,
    `    default_keytab_name = FILE:${p.keytab}`,
    '[realms]',
    `    ${p.realm} = {`,
    `        kdc = ${p.kdcAddress ?? '127.0.0.1'}:${p.kdcPort}`,
    ...(p.realmSettings ?? []).map((line) => `        ${line}`),
    '    }',
    '[domain_realm]',
    `    localhost = ${p.realm}`,
    `    .localhost = ${p.realm}`,
    '',
  ].join('\n');
}

export function kdcConf(p: KdcProfile): string {
  const address = p.kdcAddress ?? '127.0.0.1';
  return [
    '[kdcdefaults]',
    // kdc_ports are what pre-1.15 KDCs read (all addresses); kdc_listen takes precedence
    // where supported and keeps the KDC on loopback (or the one address it is given).
    `    kdc_ports = ${p.kdcPort}`,
    `    kdc_tcp_ports = ${p.kdcPort}`,
    `    kdc_listen = ${address}:${p.kdcPort}`,
    `    kdc_tcp_listen = ${address}:${p.kdcPort}`,
    '[realms]',
    `    ${p.realm} = {`,
    `        database_name = ${p.database}`,
    `        key_stash_file = ${p.stash}`,
    '        max_life = 1d',
    '        max_renewable_life = 7d',
    '        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal',
    // As Active Directory does: clients then go through the PREAUTH_REQUIRED round trip.
    '        default_principal_flags = +preauth',
    '    }',
    '[logging]',
    `    kdc = FILE:${p.kdcLog}`,
    `    default = FILE:${p.kdcLog}`,
    '',
  ].join('\n');
}

/** Where the profiles are written and the files they name. */
export interface ProfileFiles {
  krb5Config: string;
  kdcProfile: string;
  ccache: string;
  keytab: string;
  database: string;
  stash: string;
  kdcLog: string;
}

/** Writes both profiles (mode 0644: they hold no secret), replacing earlier ones. */
export async function writeProfiles(
  files: ProfileFiles,
  p: { realm: string; kdcPort: number; kdcAddress?: string; realmSettings?: readonly string[] },
): Promise<void> {
  await fs.writeFile(files.krb5Config, krb5Conf({ ...files, ...p }), { mode: 0o644 });
  await fs.writeFile(files.kdcProfile, kdcConf({ ...files, ...p }), { mode: 0o644 });
}
