/**
 * A throwaway MIT Kerberos realm in one directory, after MIT's k5test `K5Realm`: its own
 * krb5.conf and kdc.conf, a fresh database, a running `krb5kdc` on a loopback port, a user with
 * a TGT in a FILE ccache, a keytab for `host/localhost` and `HTTP/localhost`, and a gss-ntlmssp
 * users file. Nothing outside the directory is read or written: every tool runs with
 * `KRB5_CONFIG`/`KRB5_KDC_PROFILE` pointing into it, so /etc/krb5.conf never matters.
 * Built from profiles.ts (the profiles' text), tools.ts (kdb5_util, kadmin.local, kinit),
 * KdcProcess.ts (the KDC's life) and state.ts (the directory, realm.json, kdc.pid, env).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import * as inputs from './inputs.js';
import { freeLoopbackPort, KdcProcess } from './KdcProcess.js';
import { writeProfiles } from './profiles.js';
import { realmError } from './realmError.js';
import * as state from './state.js';
import { createDatabase, kadminLocal, kinit, toolEnv } from './tools.js';

/** Options of {@link ThrowawayRealm.create}. */
export interface RealmOptions {
  /** Directory holding everything; created (mode 0700) if missing, refused if not empty. */
  dir: string;
  /** Realm name. Default `KRBTEST.COM`, as in k5test. */
  realm?: string;
  /** Short name of the user principal. Default `alice`. */
  user?: string;
  /** The user's password (Kerberos and NTLM). Default: 24 random base64url characters. */
  password?: string;
  /** KDC port (TCP and UDP, 127.0.0.1 only). Default: a free port chosen by the OS. */
  kdcPort?: number;
  /**
   * IPv4 address the KDC listens on instead of 127.0.0.1, e.g. a network namespace's address so
   * other namespaces reach it (scripts/farm.sh). It must exist where the realm is created.
   */
  kdcAddress?: string;
  /**
   * Let the KDC outlive this Node process (new session, not killed at exit), as the CLI's
   * `realm up` needs; stop it later with `ThrowawayRealm.load(dir)` + `stop()`. Default false.
   */
  detached?: boolean;
  /**
   * More `key = value` lines for this realm's stanza of krb5.conf (`[realms] REALM = { ... }`),
   * e.g. `auth_to_local = RULE:[1:$1@$0](^alice@.*$)s/@.*$//` then `auth_to_local = DEFAULT`.
   * Not kept in realm.json: a realm re-opened by `load()` does not rewrite its krb5.conf.
   */
  realmSettings?: readonly string[];
}

const kServiceNames = ['host/localhost', 'HTTP/localhost'] as const;
const kPortAttempts = 3;

/**
 * A private MIT Kerberos realm with a running KDC, for tests, benchmarks and the CLI.
 *
 * Lifetime: `create()` returns with the KDC running and the user's TGT in {@link ccache}.
 * A non-detached KDC is killed when this Node process exits; a detached one runs until
 * `stop()`, which works from any process through `load(dir)`. `destroy()` stops and deletes.
 */
export class ThrowawayRealm {
  /** Absolute path of the realm directory. */
  readonly dir: string;
  /** Realm name, e.g. `KRBTEST.COM`. */
  readonly realmName: string;
  /** Short user name, e.g. `alice`. */
  readonly user: string;
  /** `user@REALM`. */
  readonly userPrincipal: string;
  /** The user's password, for Kerberos and NTLM alike. Secret: do not log it. */
  readonly password: string;
  /** NTLM domain: the realm's first label, upper case (`KRBTEST`). */
  readonly ntlmDomain: string;
  /** NTLM account in `DOMAIN\user` form. */
  readonly ntlmUser: string;
  /** Service principals in {@link keytab}: `host/localhost@REALM`, `HTTP/localhost@REALM`. */
  readonly servicePrincipals: readonly string[];
  /** Whether the KDC was started to outlive the creating process. */
  readonly detached: boolean;
  /** Client profile (`KRB5_CONFIG`). */
  readonly krb5Config: string;
  /** KDC profile (`KRB5_KDC_PROFILE`). */
  readonly kdcProfile: string;
  /** Keytab holding the service principals' keys. */
  readonly keytab: string;
  /** FILE ccache holding the user's TGT (a path, without the `FILE:` prefix). */
  readonly ccache: string;
  /** gss-ntlmssp users file (`DOMAIN:USER:PASSWORD` lines, mode 0600). */
  readonly ntlmUserFile: string;
  /** KDC log; also receives the KDC's stderr. */
  readonly kdcLog: string;
  /** Replay-cache directory, so acceptors never write to /var/tmp. */
  readonly rcacheDir: string;
  /** Shell file written by {@link writeEnvFile}. */
  readonly envFile: string;
  readonly #files: state.RealmFiles;
  #kdcPort: number;
  readonly #kdcAddress: string | undefined;
  #realmSettings: readonly string[] = [];
  #kdc: KdcProcess | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(dir: string, s: state.RealmState) {
    const files = state.realmFiles(dir);
    this.#files = files;
    this.dir = dir;
    this.krb5Config = files.krb5Config;
    this.kdcProfile = files.kdcProfile;
    this.keytab = files.keytab;
    this.ccache = files.ccache;
    this.ntlmUserFile = files.ntlmUserFile;
    this.kdcLog = files.kdcLog;
    this.rcacheDir = files.rcacheDir;
    this.envFile = files.envFile;
    this.realmName = s.realm;
    this.user = s.user;
    this.password = s.password;
    this.detached = s.detached;
    this.#kdcPort = s.kdcPort;
    this.#kdcAddress = s.kdcAddress;
    this.userPrincipal = `${s.user}@${s.realm}`;
    this.ntlmDomain = (s.realm.split('.')[0] ?? s.realm).toUpperCase();
    this.ntlmUser = `${this.ntlmDomain}\\${s.user}`;
    this.servicePrincipals = kServiceNames.map((name) => `${name}@${s.realm}`);
  }

  /** Port the KDC listens on, TCP and UDP, on {@link kdcAddress}. */
  get kdcPort(): number {
    return this.#kdcPort;
  }

  /** Address the KDC listens on: 127.0.0.1 unless `kdcAddress` was given. */
  get kdcAddress(): string {
    return this.#kdcAddress ?? '127.0.0.1';
  }

  /** PID of the running KDC, or undefined when it is not known to be running. */
  get kdcPid(): number | undefined {
    return this.#kdc?.running === true ? this.#kdc.pid : undefined;
  }

  /**
   * Builds a realm in `opts.dir` and starts its KDC. On failure the KDC (if started) is stopped
   * and the directory is left as it is, for inspection; the error is a `ConfigError` with code
   * `ERR_REALM` carrying the tail of the failing tool's output or of kdc.log.
   */
  static async create(opts: RealmOptions): Promise<ThrowawayRealm> {
    const dir = path.resolve(opts.dir);
    const { realm: realmName = 'KRBTEST.COM', user = 'alice', detached = false } = opts;
    const password = opts.password ?? inputs.randomSecret();
    const { realmSettings, kdcAddress } = opts;
    inputs.checkRealmInputs({
      dir,
      realm: realmName,
      user,
      password,
      kdcPort: opts.kdcPort,
      kdcAddress,
      realmSettings,
    });
    await state.prepareEmptyDir(dir);

    const kdcPort = opts.kdcPort ?? (await freeLoopbackPort());
    const where = kdcAddress === undefined ? {} : { kdcAddress };
    const realm = new ThrowawayRealm(dir, { realm: realmName, user, password, kdcPort, ...where, detached });
    realm.#realmSettings = realmSettings ?? [];
    try {
      await realm.#writeProfilesAndState();
      await fs.mkdir(realm.rcacheDir, { mode: 0o700 });
      await createDatabase(realm.realmName, inputs.randomSecret(), { env: toolEnv(realm.#files) });
      await realm.addPrincipal(user, { password });
      for (const name of kServiceNames) await realm.addPrincipal(name, { keytab: realm.keytab });
      await state.writePrivateFile(realm.ntlmUserFile, `${realm.ntlmDomain}:${user}:${password}\n`);
      await realm.writeEnvFile();
      await realm.#startKdc(opts.kdcPort === undefined);
      await realm.kinit(realm.userPrincipal, password, realm.ccache);
    } catch (err) {
      await realm.stop().catch(() => undefined);
      throw err;
    }
    return realm;
  }

  /**
   * Re-opens a realm made by `create()` (possibly by another process) from DIR/realm.json and
   * DIR/kdc.pid, e.g. so `realm down` can stop a detached KDC.
   */
  static async load(dir: string): Promise<ThrowawayRealm> {
    const abs = path.resolve(dir);
    const realm = new ThrowawayRealm(abs, await state.loadState(state.realmFiles(abs).stateFile));
    realm.#kdc = await KdcProcess.fromPidFile(realm.#files.pidFile, realm.kdcProfile, realm.kdcLog);
    return realm;
  }

  /**
   * Environment for clients and servers using this realm. Includes the password
   * (`NEGOTIATE_PASSWORD`): pass it to child processes, never print it.
   */
  env(): Record<string, string> {
    return {
      KRB5_CONFIG: this.krb5Config,
      KRB5_KDC_PROFILE: this.kdcProfile,
      KRB5CCNAME: `FILE:${this.ccache}`,
      KRB5_KTNAME: `FILE:${this.keytab}`,
      KRB5RCACHEDIR: this.rcacheDir,
      NTLM_USER_FILE: this.ntlmUserFile,
      NEGOTIATE_USER: this.userPrincipal,
      NEGOTIATE_PASSWORD: this.password,
      NEGOTIATE_NTLM_USER: this.ntlmUser,
      NEGOTIATE_REALM: this.realmName,
    };
  }

  /**
   * Writes {@link env} to DIR/env as `export NAME='value'` lines for `. DIR/env`; mode 0600
   * because it holds the password. Returns the file's path.
   */
  async writeEnvFile(): Promise<string> {
    await state.writeEnvFile(this.envFile, this.realmName, this.env());
    return this.envFile;
  }

  /**
   * Adds a principal (`name` or `name@REALM`): with `password`, a password key; otherwise a
   * random key. With `keytab`, also writes its keys to that keytab.
   */
  async addPrincipal(name: string, opts: { password?: string; keytab?: string } = {}): Promise<void> {
    inputs.checkPrincipal(name);
    const what = `adding principal ${name} to realm ${this.realmName}`;
    if (opts.password !== undefined) {
      inputs.checkPassword(opts.password);
      // Without -pw kadmin.local prompts (twice) on stdin, which keeps the password out of
      // argv, where any local user could read it in /proc.
      await this.#kadmin(`addprinc ${name}`, '" created.', what, `${opts.password}\n${opts.password}\n`);
    } else {
      await this.#kadmin(`addprinc -randkey ${name}`, '" created.', what);
    }
    if (opts.keytab !== undefined) {
      const keytab = path.resolve(opts.keytab);
      inputs.checkPath(keytab, 'keytab path');
      // ktadd re-randomizes keys by default, which would silently invalidate a password
      // principal's password; -norandkey (kadmin.local only) exports the existing keys.
      const norandkey = opts.password !== undefined ? '-norandkey ' : '';
      const what = `writing keys of ${name} to keytab ${keytab}`;
      await this.#kadmin(`ktadd -k "${keytab}" ${norandkey}${name}`, 'added to keytab', what);
    }
  }

  /**
   * Gives `name` a new random key (its kvno goes up) and writes the new key to `keytab`, as an
   * administrator rotating a service key does. Tickets issued before keep the old kvno.
   */
  async rotateKey(name: string, keytab: string): Promise<void> {
    inputs.checkPrincipal(name);
    const file = path.resolve(keytab);
    inputs.checkPath(file, 'keytab path');
    const what = `rotating the key of ${name} into keytab ${file}`;
    await this.#kadmin(`ktadd -k "${file}" ${name}`, 'added to keytab', what);
  }

  /**
   * Gets a TGT for `principal` into `ccache` (a path, or a ccache name such as `FILE:/x`).
   * The password goes to kinit's stdin, never onto its command line.
   */
  async kinit(principal: string, password: string, ccache: string): Promise<void> {
    inputs.checkPrincipal(principal);
    inputs.checkPassword(password);
    const ccname = /^[A-Z]+:/.test(ccache) ? ccache : `FILE:${path.resolve(ccache)}`;
    await kinit(principal, password, ccname, { env: toolEnv(this.#files) });
  }

  /**
   * Stops the KDC: SIGTERM, then SIGKILL if it is still there after 5 s; removes DIR/kdc.pid.
   * A PID is signalled only while /proc says it is a krb5kdc of this realm, so a recycled PID is
   * never hit. Idempotent, and safe when the KDC already died.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopKdc().finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  /** Stops the KDC and deletes the realm directory with everything in it. */
  async destroy(): Promise<void> {
    await this.stop();
    await fs.rm(this.dir, { recursive: true, force: true });
  }

  async #stopKdc(): Promise<void> {
    const kdc = this.#kdc ?? (await KdcProcess.fromPidFile(this.#files.pidFile, this.kdcProfile, this.kdcLog));
    await kdc?.stop();
    this.#kdc = undefined;
    await fs.rm(this.#files.pidFile, { force: true });
  }

  /**
   * Starts krb5kdc. A port picked by the OS was free when picked but may be taken before the
   * KDC binds it (another realm starting in parallel); then a new port is tried.
   */
  async #startKdc(mayChangePort: boolean): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const { realmName: realm, kdcLog, detached } = this;
      const env = toolEnv(this.#files);
      const kdcPort = this.#kdcPort;
      const started = await KdcProcess.start({ realm, kdcPort, kdcAddress: this.kdcAddress, env, kdcLog, detached });
      if (started.ok) {
        this.#kdc = started.kdc;
        await state.writePidFile(this.#files.pidFile, started.kdc.pid);
        return;
      }
      if (!(started.portInUse && mayChangePort && attempt < kPortAttempts)) throw realmError(started.message);
      this.#kdcPort = await freeLoopbackPort();
      await this.#writeProfilesAndState();
    }
  }

  async #writeProfilesAndState(): Promise<void> {
    const { realmName: realm, user, password, detached } = this;
    const kdc = { kdcPort: this.#kdcPort, ...(this.#kdcAddress === undefined ? {} : { kdcAddress: this.#kdcAddress }) };
    await writeProfiles(this.#files, { realm, ...kdc, realmSettings: this.#realmSettings });
    await state.saveState(this.#files.stateFile, { realm, user, password, ...kdc, detached });
  }

  #kadmin(query: string, confirmation: string, what: string, input?: string): Promise<unknown> {
    const env = toolEnv(this.#files);
    return kadminLocal(this.realmName, query, confirmation, what, input === undefined ? { env } : { env, input });
  }
}
