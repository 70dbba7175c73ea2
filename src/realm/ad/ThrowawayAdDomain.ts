/**
 * A throwaway Active Directory domain: Samba's AD DC running only its KDC, in a network
 * namespace of its own, in one directory. It gives what the MIT realm gives (a user with a TGT,
 * a keytab for `HTTP/localhost` and `host/localhost`, DIR/env) with what only AD has: tickets
 * that carry a Windows PAC with the user's groups, RC4 keys by default, and a domain database
 * to change (groups, enctypes, passwords) as an administrator would.
 *
 * Clients and servers that talk to the KDC run inside the namespace:
 * `ip netns exec $NEGOTIATE_NETNS cmd...` ({@link command} builds that).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import * as inputs from '../inputs.js';
import { krb5Conf } from '../profiles.js';
import { realmError } from '../realmError.js';
import * as state from '../state.js';
import { findTool, runProgram } from '../tools.js';
import { loadAdState, saveAdState, type AdState } from './adState.js';
import { createNamespace, deleteNamespace, inNamespace, newNamespaceName } from './netns.js';
import { exportKeytab, provision, sambaAdmin, sambaPaths, type SambaPaths } from './sambaAdmin.js';
import { startSamba } from './sambaProcess.js';

export interface AdDomainOptions {
  /** Directory holding everything; created (mode 0700) if missing, refused if not empty. */
  dir: string;
  /** Realm (DNS domain, upper case). Default `SAMBA.EXAMPLE`. */
  realm?: string;
  /** NetBIOS domain name. Default: the realm's first label. */
  domain?: string;
  /** Default `alice`. */
  user?: string;
  /** Default: random, with the character classes AD's complexity rule asks for. */
  password?: string;
  /** Put the user in this many extra groups at creation. Default 0. */
  groups?: number;
  /** Let Samba outlive this process (`realm up`); stop it with `load(dir)` + `stop()`. */
  detached?: boolean;
}

/** The service principals of the service account, as AD writes SPNs (no realm). */
export const kServiceNames = ['HTTP/localhost', 'host/localhost'] as const;
/** msDS-SupportedEncryptionTypes values: RC4 only, AES only (AES128 + AES256), both. */
export const kEnctypeBits = { rc4: 4, aes: 24, all: 28 } as const;
export type ServiceEnctypes = keyof typeof kEnctypeBits;

const kServiceAccount = 'svc-negotiate';
const kGroupPrefix = 'ngs-';

export class ThrowawayAdDomain {
  readonly dir: string;
  readonly realmName: string;
  readonly domain: string;
  readonly user: string;
  readonly userPrincipal: string;
  /** Secret: do not log it. */
  readonly password: string;
  readonly serviceAccount: string;
  /** `HTTP/localhost@REALM`, `host/localhost@REALM`: the keys in {@link keytab}. */
  readonly servicePrincipals: readonly string[];
  /** The network namespace the KDC runs in. */
  readonly netns: string;
  readonly detached: boolean;
  readonly krb5Config: string;
  readonly keytab: string;
  readonly ccache: string;
  readonly rcacheDir: string;
  readonly envFile: string;
  readonly #samba: SambaPaths;
  #sambaPid: number;

  private constructor(dir: string, s: AdState) {
    this.dir = dir;
    this.realmName = s.realm;
    this.domain = s.domain;
    this.user = s.user;
    this.userPrincipal = `${s.user}@${s.realm}`;
    this.password = s.password;
    this.serviceAccount = s.serviceAccount;
    this.servicePrincipals = kServiceNames.map((n) => `${n}@${s.realm}`);
    this.netns = s.netns;
    this.detached = s.detached;
    this.#sambaPid = s.sambaPid;
    this.krb5Config = path.join(dir, 'krb5.conf');
    this.keytab = path.join(dir, 'keytab');
    this.ccache = path.join(dir, 'ccache');
    this.rcacheDir = path.join(dir, 'rcache');
    this.envFile = path.join(dir, 'env');
    this.#samba = sambaPaths(dir);
  }

  /** PID of the Samba process (the KDC). */
  get sambaPid(): number {
    return this.#sambaPid;
  }

  /**
   * Provisions the domain, starts its KDC in a new namespace, creates the user (with a TGT in
   * {@link ccache}) and the service account (AES keys in {@link keytab}). On failure everything
   * started is stopped and the namespace removed; the directory is kept for inspection.
   */
  static async create(opts: AdDomainOptions): Promise<ThrowawayAdDomain> {
    const dir = path.resolve(opts.dir);
    const realm = (opts.realm ?? 'SAMBA.EXAMPLE').toUpperCase();
    const domain = (opts.domain ?? realm.split('.')[0] ?? realm).toUpperCase();
    const user = opts.user ?? 'alice';
    const password = opts.password ?? complexSecret();
    inputs.checkRealmInputs({ dir, realm, user, password, kdcPort: undefined });
    inputs.checkUserName(domain);
    await state.prepareEmptyDir(dir);
    const s: AdState = {
      realm,
      domain,
      user,
      password,
      serviceAccount: kServiceAccount,
      netns: newNamespaceName(),
      sambaPid: 0,
      detached: opts.detached ?? false,
    };
    const d = new ThrowawayAdDomain(dir, s);
    const env = d.#toolEnv();
    await provision(d.#samba, realm, domain, env);
    await fs.mkdir(d.rcacheDir, { mode: 0o700 });
    await fs.writeFile(d.krb5Config, krb5Conf({ realm, kdcPort: 88, ccache: d.ccache, keytab: d.keytab }), {
      mode: 0o644,
    });
    await createNamespace(s.netns, env);
    try {
      await saveAdState(dir, s);
      const started = await startSamba(d.#samba, s.netns, env, s.detached);
      d.#sambaPid = started.pid;
      await saveAdState(dir, { ...s, sambaPid: started.pid });
      await sambaAdmin(d.#samba, ['user', user], `creating user ${user}`, env, `${password}\n`);
      const servicePassword = complexSecret();
      await sambaAdmin(
        d.#samba,
        ['user', kServiceAccount, ...kServiceNames],
        `creating service account ${kServiceAccount}`,
        env,
        `${servicePassword}\n`,
      );
      await d.setServiceEnctypes('aes');
      await d.exportServiceKeytab(d.keytab);
      if ((opts.groups ?? 0) > 0) await d.setGroups(opts.groups ?? 0);
      await d.kinit(d.userPrincipal, password, d.ccache);
      await d.writeEnvFile();
    } catch (err) {
      await d.stop().catch(() => undefined);
      throw err;
    }
    return d;
  }

  /** Re-opens a domain made by `create()`, possibly by another process. */
  static async load(dir: string): Promise<ThrowawayAdDomain> {
    const abs = path.resolve(dir);
    return new ThrowawayAdDomain(abs, await loadAdState(abs));
  }

  /** Environment for clients and servers; includes the password: pass it on, never print it. */
  env(): Record<string, string> {
    return {
      KRB5_CONFIG: this.krb5Config,
      KRB5CCNAME: `FILE:${this.ccache}`,
      KRB5_KTNAME: `FILE:${this.keytab}`,
      KRB5RCACHEDIR: this.rcacheDir,
      NEGOTIATE_USER: this.userPrincipal,
      NEGOTIATE_PASSWORD: this.password,
      NEGOTIATE_REALM: this.realmName,
      NEGOTIATE_NETNS: this.netns,
    };
  }

  async writeEnvFile(): Promise<string> {
    await state.writeEnvFile(this.envFile, this.realmName, this.env());
    return this.envFile;
  }

  /** `argv` run inside the domain's namespace: the file and arguments to spawn. */
  command(argv: readonly string[]): Promise<[string, string[]]> {
    return inNamespace(this.netns, argv);
  }

  /** Gets a TGT for `principal` into `ccache` (a path or `FILE:...`), inside the namespace. */
  async kinit(
    principal: string,
    password: string,
    ccache: string,
    opts: { forwardable?: boolean } = {},
  ): Promise<void> {
    inputs.checkPrincipal(principal);
    inputs.checkPassword(password);
    const ccname = /^[A-Z]+:/.test(ccache) ? ccache : `FILE:${path.resolve(ccache)}`;
    const args = [await findTool('kinit'), ...(opts.forwardable === true ? ['-f'] : []), '-c', ccname, principal];
    const [file, argv] = await this.command(args);
    await runProgram(file, 'kinit', argv, `kinit of ${principal} into ${ccname}`, {
      env: this.#toolEnv(),
      input: `${password}\n`,
    });
  }

  /**
   * Makes the user a member of exactly `n` groups named `ngs-00001`... (besides Domain Users),
   * in one database transaction. Tickets issued afterwards carry them.
   */
  async setGroups(n: number): Promise<void> {
    if (!(Number.isInteger(n) && n >= 0 && n <= 100_000))
      throw realmError(`invalid group count ${n}: expected 0..100000`);
    await sambaAdmin(
      this.#samba,
      ['groups', this.user, kGroupPrefix, String(n)],
      `putting ${this.user} in ${n} groups`,
      this.#toolEnv(),
    );
  }

  /**
   * Sets msDS-SupportedEncryptionTypes on the service account, which decides the enctype of
   * the tickets the KDC issues for it and of the keys `exportServiceKeytab` writes. AD's default
   * (attribute unset) is RC4 tickets.
   */
  async setServiceEnctypes(enctypes: ServiceEnctypes): Promise<void> {
    const bits = String(kEnctypeBits[enctypes]);
    await sambaAdmin(
      this.#samba,
      ['enctypes', this.serviceAccount, bits],
      `setting the enctypes of ${this.serviceAccount} to ${enctypes}`,
      this.#toolEnv(),
    );
  }

  /** Writes the service account's current keys, under both SPNs, to `keytab` (appending). */
  async exportServiceKeytab(keytab: string): Promise<void> {
    await exportKeytab(this.#samba, path.resolve(keytab), kServiceNames, this.#toolEnv());
  }

  /**
   * Writes the service account's keys under its own name (`svc-negotiate@REALM`) to `keytab`
   * (appending). A service authenticates to an AD KDC as a client (its TGT, for S4U) by that
   * name only: Samba, like AD, refuses an SPN as the client of an AS request.
   */
  async exportServiceAccountKeytab(keytab: string): Promise<string> {
    await exportKeytab(this.#samba, path.resolve(keytab), [this.serviceAccount], this.#toolEnv());
    return `${this.serviceAccount}@${this.realmName}`;
  }

  /**
   * Constrained delegation for the service account: it may obtain tickets for users to exactly
   * `targets` (SPNs as AD writes them, no realm: `host/backend.localhost`; the account's
   * msDS-AllowedToDelegateTo, replaced), and with `protocolTransition` (default true) for users
   * who did not authenticate to it with Kerberos (TRUSTED_TO_AUTH_FOR_DELEGATION, S4U2Self giving
   * a forwardable ticket). An empty list takes the right away.
   */
  async allowDelegation(targets: readonly string[], opts: { protocolTransition?: boolean } = {}): Promise<void> {
    for (const t of targets) inputs.checkPrincipal(t);
    const transition = opts.protocolTransition ?? true;
    await sambaAdmin(
      this.#samba,
      ['delegate', this.serviceAccount, transition ? '1' : '0', ...targets],
      `letting ${this.serviceAccount} delegate to ${targets.join(', ') || 'nothing'}`,
      this.#toolEnv(),
    );
  }

  /**
   * Sets the service account's userPrincipalName, e.g. to its SPN `HTTP/localhost@REALM`: AD then
   * lets that name get a TGT from the keytab (an AS request), as it does the account's own name.
   */
  async setServiceUpn(upn: string): Promise<void> {
    inputs.checkPrincipal(upn);
    await sambaAdmin(
      this.#samba,
      ['upn', this.serviceAccount, upn],
      `setting the UPN of ${this.serviceAccount}`,
      this.#toolEnv(),
    );
  }

  /**
   * A second service account `name` with `spns` (a back end to delegate to), AES keys, its keys
   * under each SPN written to `keytab`. Returns the SPNs with the realm.
   */
  async createServiceAccount(name: string, spns: readonly string[], keytab: string): Promise<string[]> {
    inputs.checkUserName(name);
    for (const spn of spns) inputs.checkPrincipal(spn);
    await sambaAdmin(
      this.#samba,
      ['user', name, ...spns],
      `creating service account ${name}`,
      this.#toolEnv(),
      `${complexSecret()}\n`,
    );
    await sambaAdmin(
      this.#samba,
      ['enctypes', name, String(kEnctypeBits.aes)],
      `setting the enctypes of ${name}`,
      this.#toolEnv(),
    );
    await exportKeytab(this.#samba, path.resolve(keytab), spns, this.#toolEnv());
    return spns.map((spn) => `${spn}@${this.realmName}`);
  }

  /** Changes the service account's password: its keys change and its kvno goes up. */
  async changeServicePassword(): Promise<void> {
    const pw = complexSecret();
    await sambaAdmin(
      this.#samba,
      ['setpassword', this.serviceAccount],
      `changing the password of ${this.serviceAccount}`,
      this.#toolEnv(),
      `${pw}\n`,
    );
  }

  /**
   * Stops the KDC and every other process in the namespace (by PID), then deletes the
   * namespace. Idempotent.
   */
  async stop(): Promise<void> {
    await deleteNamespace(this.netns, this.#toolEnv());
  }

  /** Stops everything and deletes the directory. */
  async destroy(): Promise<void> {
    await this.stop();
    await fs.rm(this.dir, { recursive: true, force: true });
  }

  #toolEnv(): NodeJS.ProcessEnv {
    return { ...process.env, KRB5_CONFIG: this.krb5Config, KRB5RCACHEDIR: this.rcacheDir, LC_ALL: 'C' };
  }
}

/** A random password that meets AD's complexity rule (upper, lower, digit, symbol). */
function complexSecret(): string {
  return `Aa1-${inputs.randomSecret()}`;
}
