/**
 * `negotiate-server realm up|down`: throwaway realms for users' own scripts, an MIT one by
 * default or an Active Directory domain (Samba) with --kind ad.
 */
import path from 'node:path';
import { isAdDomainDir, ThrowawayAdDomain, ThrowawayRealm } from '../realm/index.js';
import { isIpv4Address } from '../realm/inputs.js';
import { UsageError } from './flagTable.js';
import { out } from './jsonLine.js';

export const REALM_HELP = `Usage: negotiate-server realm up DIR
       negotiate-server realm up --kdc-address IPV4 DIR
       negotiate-server realm up --kind ad [--groups N] DIR
       negotiate-server realm down DIR

'up' creates a throwaway MIT Kerberos realm (KRBTEST.COM) in DIR (which must be empty or absent):
krb5.conf, kdc.conf, a database, a KDC on a free 127.0.0.1 port left running, service principals
host/localhost and HTTP/localhost in DIR/keytab, user alice with a TGT in DIR/ccache, and an NTLM
users file. It writes DIR/env (mode 0600) with export lines for KRB5_CONFIG, KRB5CCNAME,
KRB5_KTNAME, NTLM_USER_FILE, NEGOTIATE_USER, NEGOTIATE_PASSWORD and more:  . DIR/env
'down' stops that KDC. Nothing under /etc is read or written. --kdc-address makes the KDC listen on
that address instead of 127.0.0.1 (one that exists here, e.g. in a network namespace: scripts/farm.sh).

'up --kind ad' creates a throwaway Active Directory domain (SAMBA.EXAMPLE) instead: Samba's AD DC,
KDC only, in a new network namespace (needs root) so it owns port 88 there; user alice (in N
extra groups with --groups N), service account svc-negotiate with SPNs HTTP/localhost and
host/localhost and AES keys in DIR/keytab. DIR/env also sets NEGOTIATE_NETNS: run clients and
servers that must reach the KDC with  ip netns exec "$NEGOTIATE_NETNS" ...
'down' ends every process in the namespace and deletes it. Needs: apt-get install -y samba
samba-ad-dc samba-ad-provision python3-samba. See docs/active-directory.md.
`;

export async function realmCommand(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(REALM_HELP);
    return 0;
  }
  const { kind, groups, kdcAddress, rest } = realmOptions(args);
  const [action, dir, ...extra] = rest;
  if (
    (action !== 'up' && action !== 'down') ||
    !dir ||
    extra.length > 0 ||
    (action === 'down' && rest.length !== args.length)
  ) {
    throw new UsageError('expected: realm up DIR | realm down DIR (or realm up --kind ad [--groups N] DIR)');
  }
  if (action === 'up' && kind === 'ad') {
    const d = await ThrowawayAdDomain.create({ dir: path.resolve(dir), detached: true, groups });
    out({
      event: 'realm',
      kind: 'ad',
      dir: d.dir,
      envFile: d.envFile,
      realm: d.realmName,
      netns: d.netns,
      sambaPid: d.sambaPid,
      user: d.userPrincipal,
      servicePrincipals: d.servicePrincipals,
    });
    return 0;
  }
  if (action === 'down' && (await isAdDomainDir(path.resolve(dir)))) {
    const d = await ThrowawayAdDomain.load(path.resolve(dir));
    await d.stop();
    out({ event: 'realm-down', kind: 'ad', dir: d.dir });
    return 0;
  }
  if (action === 'up' && groups !== 0) throw new UsageError('--groups needs --kind ad');
  if (kdcAddress !== undefined && (action !== 'up' || kind === 'ad')) {
    throw new UsageError('--kdc-address goes with realm up (MIT)');
  }
  if (action === 'up') {
    const where = kdcAddress === undefined ? {} : { kdcAddress };
    const r = await ThrowawayRealm.create({ dir: path.resolve(dir), detached: true, ...where });
    const envFile = await r.writeEnvFile();
    out({
      event: 'realm',
      dir: r.dir,
      envFile,
      realm: r.realmName,
      kdcPort: r.kdcPort,
      kdcAddress: r.kdcAddress,
      kdcPid: r.kdcPid,
      user: r.userPrincipal,
    });
    return 0;
  }
  const r = await ThrowawayRealm.load(path.resolve(dir));
  await r.stop();
  out({ event: 'realm-down', dir: r.dir });
  return 0;
}

/** `realm` flags: --kind mit|ad (default mit), --groups N (AD only), --kdc-address; the rest in order. */
function realmOptions(args: readonly string[]): {
  kind: 'mit' | 'ad';
  groups: number;
  kdcAddress: string | undefined;
  rest: string[];
} {
  let kind: 'mit' | 'ad' = 'mit';
  let groups = 0;
  let kdcAddress: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--kind') {
      const v = args[++i];
      if (v !== 'mit' && v !== 'ad') throw new UsageError(`--kind must be mit or ad, not ${JSON.stringify(v ?? '')}`);
      kind = v;
    } else if (a === '--groups') {
      const v = args[++i] ?? '';
      if (!/^[0-9]{1,6}$/.test(v)) throw new UsageError(`--groups must be a whole number, not ${JSON.stringify(v)}`);
      groups = Number(v);
    } else if (a === '--kdc-address') {
      const v = args[++i] ?? '';
      if (!isIpv4Address(v)) throw new UsageError(`--kdc-address must be an IPv4 address, not ${JSON.stringify(v)}`);
      kdcAddress = v;
    } else {
      rest.push(a);
    }
  }
  return { kind, groups, kdcAddress, rest };
}
