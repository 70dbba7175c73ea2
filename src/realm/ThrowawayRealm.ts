/**
 * A throwaway MIT Kerberos realm in one directory, after MIT's k5test `K5Realm`: its own
 * krb5.conf and kdc.conf, a fresh database, a running `krb5kdc` on a loopback port, a user with
 * a TGT in a FILE ccache, a keytab for `host/localhost` and `HTTP/localhost`, and a gss-ntlmssp
 * users file. Nothing outside the directory is read or written: every tool runs with
 * `KRB5_CONFIG`/`KRB5_KDC_PROFILE` pointing into it, so /etc/krb5.conf never matters.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { createServer } from 'node:net';
import * as path from 'node:path';

import { ConfigError } from '../errors.js';

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
   * Let the KDC outlive this Node process (new session, not killed at exit), as the CLI's
   * `realm up` needs; stop it later with `ThrowawayRealm.load(dir)` + `stop()`. Default false.
   */
  detached?: boolean;
}

type Krb5Tool = 'krb5kdc' | 'kdb5_util' | 'kadmin.local' | 'kinit';

/** Debian package providing each tool, for the "install it with" hint. */
const kToolPackages: Readonly<Record<Krb5Tool, string>> = {
  krb5kdc: 'krb5-kdc',
  kdb5_util: 'krb5-kdc',
  'kadmin.local': 'krb5-admin-server',
  kinit: 'krb5-user',
};

const kDefaultRealm = 'KRBTEST.COM';
const kDefaultUser = 'alice';
const kServiceNames = ['host/localhost', 'HTTP/localhost'] as const;
const kStateFormat = 1;
/**
 * `krb5kdc -n` writes "krb5kdc: starting..." to stderr right after "commencing operation" goes
 * to the log, i.e. once its sockets are bound; k5test's `start_kdc` waits for the same line.
 */
const kReadySentinel = 'starting...';
const kReadyTimeoutMs = 10_000;
const kToolTimeoutMs = 30_000;
const kStopTimeoutMs = 5_000;
const kKillTimeoutMs = 2_000;
const kPollMs = 20;
const kPortAttempts = 3;
const kTailLines = 20;
// Realms nest principal names and paths inside kadmin queries and krb5 profile files; both
// break on quotes and control characters, so such input is refused up front.
const kRealmPattern = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const kUserPattern = /^[A-Za-z0-9._-]+$/;
const kPrincipalPattern = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*(@[A-Za-z0-9.-]+)?$/;
// eslint-disable-next-line no-control-regex
const kUnsafePathPattern = /["\\\u0000-\u001f\u007f]/;

/** Everything `load()` needs; stored as DIR/realm.json (mode 0600: it holds the password). */
interface RealmState {
  format: typeof kStateFormat;
  realm: string;
  user: string;
  password: string;
  kdcPort: number;
  detached: boolean;
}

interface RealmInit extends Omit<RealmState, 'format'> {
  dir: string;
}

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
  readonly #stateFile: string;
  readonly #pidFile: string;
  #kdcPort: number;
  #pid: number | undefined;
  #child: ChildProcess | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(init: RealmInit) {
    this.dir = init.dir;
    this.realmName = init.realm;
    this.user = init.user;
    this.password = init.password;
    this.detached = init.detached;
    this.#kdcPort = init.kdcPort;
    this.userPrincipal = `${init.user}@${init.realm}`;
    this.ntlmDomain = (init.realm.split('.')[0] ?? init.realm).toUpperCase();
    this.ntlmUser = `${this.ntlmDomain}\\${init.user}`;
    this.servicePrincipals = kServiceNames.map((name) => `${name}@${init.realm}`);
    const file = (name: string): string => path.join(init.dir, name);
    this.krb5Config = file('krb5.conf');
    this.kdcProfile = file('kdc.conf');
    this.keytab = file('keytab');
    this.ccache = file('ccache');
    this.ntlmUserFile = file('ntlm_users');
    this.kdcLog = file('kdc.log');
    this.rcacheDir = file('rcache');
    this.envFile = file('env');
    this.#stateFile = file('realm.json');
    this.#pidFile = file('kdc.pid');
  }

  /** Port the KDC listens on, TCP and UDP, on 127.0.0.1. */
  get kdcPort(): number {
    return this.#kdcPort;
  }

  /** PID of the running KDC, or undefined when it is not known to be running. */
  get kdcPid(): number | undefined {
    return this.#pid;
  }

  /**
   * Builds a realm in `opts.dir` and starts its KDC. On failure the KDC (if started) is stopped
   * and the directory is left as it is, for inspection; the error is a `ConfigError` with code
   * `ERR_REALM` carrying the tail of the failing tool's output or of kdc.log.
   */
  static async create(opts: RealmOptions): Promise<ThrowawayRealm> {
    const dir = path.resolve(opts.dir);
    const realmName = opts.realm ?? kDefaultRealm;
    const user = opts.user ?? kDefaultUser;
    const password = opts.password ?? randomSecret();
    if (kUnsafePathPattern.test(dir)) {
      throw realmError(`realm directory ${JSON.stringify(dir)} contains quotes, backslashes or control characters`);
    }
    if (!kRealmPattern.test(realmName)) throw realmError(`invalid realm name ${JSON.stringify(realmName)}`);
    if (!kUserPattern.test(user)) throw realmError(`invalid user name ${JSON.stringify(user)}`);
    checkPassword(password);
    if (opts.kdcPort !== undefined && !(Number.isInteger(opts.kdcPort) && opts.kdcPort > 0 && opts.kdcPort < 65536)) {
      throw realmError(`invalid kdcPort ${opts.kdcPort}: expected an integer in 1..65535`);
    }
    await prepareEmptyDir(dir);

    const realm = new ThrowawayRealm({
      dir,
      realm: realmName,
      user,
      password,
      kdcPort: opts.kdcPort ?? (await freeLoopbackPort()),
      detached: opts.detached ?? false,
    });
    try {
      await realm.#writeProfiles();
      await fs.mkdir(realm.rcacheDir, { mode: 0o700 });
      await realm.#saveState();
      await realm.#createDatabase();
      await realm.addPrincipal(user, { password });
      for (const name of kServiceNames) await realm.addPrincipal(name, { keytab: realm.keytab });
      await writePrivateFile(realm.ntlmUserFile, `${realm.ntlmDomain}:${user}:${password}\n`);
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
    const stateFile = path.join(abs, 'realm.json');
    let raw: unknown;
    try {
      raw = JSON.parse(await fs.readFile(stateFile, 'utf8'));
    } catch (err) {
      throw realmError(`cannot load the realm in ${abs}: reading ${stateFile} failed: ${errorText(err)}`, err);
    }
    const state = parseState(raw, stateFile);
    const realm = new ThrowawayRealm({ dir: abs, ...state });
    realm.#pid = await realm.#readPidFile();
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
    const lines = Object.entries(this.env()).map(([name, value]) => `export ${name}=${shellQuote(value)}`);
    const header = `# Throwaway Kerberos realm ${this.realmName}; holds a password. Use: . ${shellQuote(this.envFile)}`;
    await writePrivateFile(this.envFile, `${header}\n${lines.join('\n')}\n`);
    return this.envFile;
  }

  /**
   * Adds a principal (`name` or `name@REALM`): with `password`, a password key; otherwise a
   * random key. With `keytab`, also writes its keys to that keytab.
   */
  async addPrincipal(name: string, opts: { password?: string; keytab?: string } = {}): Promise<void> {
    if (!kPrincipalPattern.test(name)) throw realmError(`invalid principal name ${JSON.stringify(name)}`);
    const what = `adding principal ${name} to realm ${this.realmName}`;
    if (opts.password !== undefined) {
      checkPassword(opts.password);
      // Without -pw kadmin.local prompts (twice) on stdin, which keeps the password out of
      // argv, where any local user could read it in /proc.
      const out = await this.#kadmin(`addprinc ${name}`, what, `${opts.password}\n${opts.password}\n`);
      expectOutput(out, '" created.', what);
    } else {
      expectOutput(await this.#kadmin(`addprinc -randkey ${name}`, what), '" created.', what);
    }
    if (opts.keytab !== undefined) {
      const keytab = path.resolve(opts.keytab);
      if (kUnsafePathPattern.test(keytab)) throw realmError(`unusable keytab path ${JSON.stringify(keytab)}`);
      // ktadd re-randomizes keys by default, which would silently invalidate a password
      // principal's password; -norandkey (kadmin.local only) exports the existing keys.
      const norandkey = opts.password !== undefined ? '-norandkey ' : '';
      const whatKt = `writing keys of ${name} to keytab ${keytab}`;
      expectOutput(await this.#kadmin(`ktadd -k "${keytab}" ${norandkey}${name}`, whatKt), 'added to keytab', whatKt);
    }
  }

  /**
   * Gives `name` a new random key (its kvno goes up) and writes the new key to `keytab`, as an
   * administrator rotating a service key does. Tickets issued before keep the old kvno.
   */
  async rotateKey(name: string, keytab: string): Promise<void> {
    if (!kPrincipalPattern.test(name)) throw realmError(`invalid principal name ${JSON.stringify(name)}`);
    const file = path.resolve(keytab);
    if (kUnsafePathPattern.test(file)) throw realmError(`unusable keytab path ${JSON.stringify(file)}`);
    const what = `rotating the key of ${name} into keytab ${file}`;
    expectOutput(await this.#kadmin(`ktadd -k "${file}" ${name}`, what), 'added to keytab', what);
  }

  /**
   * Gets a TGT for `principal` into `ccache` (a path, or a ccache name such as `FILE:/x`).
   * The password goes to kinit's stdin, never onto its command line.
   */
  async kinit(principal: string, password: string, ccache: string): Promise<void> {
    if (!kPrincipalPattern.test(principal)) throw realmError(`invalid principal name ${JSON.stringify(principal)}`);
    checkPassword(password);
    const ccname = /^[A-Z]+:/.test(ccache) ? ccache : `FILE:${path.resolve(ccache)}`;
    await runTool('kinit', ['-c', ccname, principal], this.#toolEnv(), `kinit of ${principal} into ${ccname}`, `${password}\n`);
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
    const pid = this.#pid ?? (await this.#readPidFile());
    if (pid !== undefined && (await this.#isOurKdc(pid))) {
      sendSignal(pid, 'SIGTERM');
      if (!(await this.#waitGone(pid, kStopTimeoutMs))) {
        sendSignal(pid, 'SIGKILL');
        if (!(await this.#waitGone(pid, kKillTimeoutMs))) {
          throw realmError(`krb5kdc (pid ${pid}) of realm ${this.realmName} survived SIGKILL\n${await logTail(this.kdcLog)}`);
        }
      }
    }
    this.#forgetKdc(pid);
    await fs.rm(this.#pidFile, { force: true });
  }

  #forgetKdc(pid: number | undefined): void {
    if (pid !== undefined) gLiveKdcs.delete(pid);
    if (this.#pid === pid) {
      this.#pid = undefined;
      this.#child = undefined;
    }
  }

  async #isOurKdc(pid: number): Promise<boolean> {
    let cmdline: string;
    try {
      cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return false;
    }
    if (path.basename(cmdline.split('\0')[0] ?? '') !== 'krb5kdc') return false;
    try {
      const environ = await fs.readFile(`/proc/${pid}/environ`, 'utf8');
      return environ.split('\0').includes(`KRB5_KDC_PROFILE=${this.kdcProfile}`);
    } catch {
      // environ is unreadable across users or under some hardening; the name check must do.
      return true;
    }
  }

  /** Resolves true once `pid` has ended (or is a zombie), false at the deadline. */
  async #waitGone(pid: number, timeoutMs: number): Promise<boolean> {
    const child = this.#child;
    if (child?.pid === pid && child.exitCode === null && child.signalCode === null) {
      // Our own child: its 'exit' comes after the reap, so /proc/PID is gone when we return.
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    }
    // Not our child (a detached KDC left by another process): no exit event, so poll /proc.
    const deadline = Date.now() + timeoutMs;
    while (await processRunning(pid)) {
      if (Date.now() >= deadline) return false;
      await delay(kPollMs);
    }
    return true;
  }

  async #readPidFile(): Promise<number | undefined> {
    let text: string;
    try {
      text = (await fs.readFile(this.#pidFile, 'utf8')).trim();
    } catch {
      return undefined;
    }
    return /^[1-9][0-9]*$/.test(text) ? Number(text) : undefined;
  }

  #toolEnv(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      KRB5_CONFIG: this.krb5Config,
      KRB5_KDC_PROFILE: this.kdcProfile,
      KRB5RCACHEDIR: this.rcacheDir,
      // The readiness sentinel and kadmin's success lines are matched as text; krb5-locales
      // would translate them.
      LC_ALL: 'C',
    };
  }

  /**
   * Runs one kadmin.local query. kadmin.local -q exits 0 even when the query fails (unknown
   * principal, usage error), so callers check stdout for the success line.
   */
  #kadmin(query: string, what: string, input?: string): Promise<ToolOutput> {
    return runTool('kadmin.local', ['-r', this.realmName, '-q', query], this.#toolEnv(), what, input);
  }

  async #createDatabase(): Promise<void> {
    const master = randomSecret();
    // The master password is prompted for twice on stdin, keeping it out of argv; the stash
    // file (-s) lets the KDC open the database without it afterwards.
    await runTool(
      'kdb5_util',
      ['create', '-s', '-r', this.realmName],
      this.#toolEnv(),
      `creating the KDC database of realm ${this.realmName}`,
      `${master}\n${master}\n`,
    );
  }

  async #writeProfiles(): Promise<void> {
    const realm = this.realmName;
    const port = this.#kdcPort;
    const krb5Conf = [
      `# Throwaway realm ${realm} (negotiate-server src/realm); deleted with its directory.`,
      '[libdefaults]',
      `    default_realm = ${realm}`,
      '    dns_lookup_kdc = false',
      '    dns_lookup_realm = false',
      '    dns_canonicalize_hostname = false',
      '    rdns = false',
      // Always TCP: a stopped KDC then fails fast with "connection refused" instead of UDP
      // retries, and large tickets never take the RESPONSE_TOO_BIG detour.
      '    udp_preference_limit = 1',
      // Forwardable TGTs, so clients can test delegation (gss-client -d).
      '    forwardable = true',
      `    default_ccache_name = FILE:${this.ccache}`,
      `    default_keytab_name = FILE:${this.keytab}`,
      '[realms]',
      `    ${realm} = {`,
      `        kdc = 127.0.0.1:${port}`,
      '    }',
      '[domain_realm]',
      `    localhost = ${realm}`,
      `    .localhost = ${realm}`,
      '',
    ].join('\n');
    const kdcConf = [
      '[kdcdefaults]',
      // kdc_ports are what pre-1.15 KDCs read (all addresses); kdc_listen takes precedence
      // where supported and keeps the KDC on loopback.
      `    kdc_ports = ${port}`,
      `    kdc_tcp_ports = ${port}`,
      `    kdc_listen = 127.0.0.1:${port}`,
      `    kdc_tcp_listen = 127.0.0.1:${port}`,
      '[realms]',
      `    ${realm} = {`,
      `        database_name = ${path.join(this.dir, 'principal')}`,
      `        key_stash_file = ${path.join(this.dir, 'stash')}`,
      '        max_life = 1d',
      '        max_renewable_life = 7d',
      '        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal',
      // As Active Directory does: clients then go through the PREAUTH_REQUIRED round trip.
      '        default_principal_flags = +preauth',
      '    }',
      '[logging]',
      `    kdc = FILE:${this.kdcLog}`,
      `    default = FILE:${this.kdcLog}`,
      '',
    ].join('\n');
    await fs.writeFile(this.krb5Config, krb5Conf, { mode: 0o644 });
    await fs.writeFile(this.kdcProfile, kdcConf, { mode: 0o644 });
  }

  async #saveState(): Promise<void> {
    const state: RealmState = {
      format: kStateFormat,
      realm: this.realmName,
      user: this.user,
      password: this.password,
      kdcPort: this.#kdcPort,
      detached: this.detached,
    };
    await writePrivateFile(this.#stateFile, `${JSON.stringify(state, null, 2)}\n`);
  }

  /**
   * Starts krb5kdc. A port picked by the OS was free when picked but may be taken before the
   * KDC binds it (another realm starting in parallel); then a new port is tried.
   */
  async #startKdc(mayChangePort: boolean): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.#spawnKdc();
      if (result.ok) return;
      if (!(result.portInUse && mayChangePort && attempt < kPortAttempts)) throw realmError(result.message);
      this.#kdcPort = await freeLoopbackPort();
      await this.#writeProfiles();
      await this.#saveState();
    }
  }

  async #spawnKdc(): Promise<{ ok: true } | { ok: false; portInUse: boolean; message: string }> {
    const krb5kdc = await findTool('krb5kdc');
    // stderr goes to kdc.log, not a pipe: a detached KDC would die of SIGPIPE on its next
    // stderr write once this process had exited. The sentinel is then read from the file.
    const log = await fs.open(this.kdcLog, 'a', 0o600);
    const logStart = (await log.stat()).size;
    let child: ChildProcess;
    try {
      child = spawn(krb5kdc, ['-n', '-r', this.realmName], {
        env: this.#toolEnv(),
        detached: this.detached,
        stdio: ['ignore', 'ignore', log.fd],
      });
    } finally {
      await log.close();
    }
    let exitReason: string | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exitReason = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
        resolve();
      });
      child.once('error', (err) => {
        exitReason = `could not be started: ${err.message}`;
        resolve();
      });
    });

    // Wait for the sentinel, the process's end, or the deadline, whichever comes first. The
    // log is re-read every few ms: fs.watch is not reliable on every filesystem.
    const deadline = Date.now() + kReadyTimeoutMs;
    for (;;) {
      // Snapshot before reading: the exit may be observed while the read is in flight, and
      // only a read begun after the exit is sure to hold the KDC's last words.
      const hadExited = exitReason !== undefined;
      const text = await readFrom(this.kdcLog, logStart);
      if (text.includes(kReadySentinel) && exitReason === undefined) break;
      if (hadExited || Date.now() >= deadline) {
        const reason = exitReason ?? `did not print "${kReadySentinel}" within ${kReadyTimeoutMs} ms`;
        if (exitReason === undefined) {
          child.kill('SIGKILL');
          await exited;
        }
        return {
          ok: false,
          portInUse: text.includes('Address already in use'),
          message:
            `starting krb5kdc for realm ${this.realmName} on 127.0.0.1:${this.#kdcPort} failed: it ${reason}; ` +
            `${this.kdcLog} ends with:\n${tailLines(text)}`,
        };
      }
      await Promise.race([delay(kPollMs), exited]);
    }

    const pid = child.pid;
    if (pid === undefined) return { ok: false, portInUse: false, message: 'krb5kdc started without a pid' };
    this.#pid = pid;
    this.#child = child;
    child.once('exit', () => this.#forgetKdc(pid));
    // Unref'd in both modes so a realm nobody stopped does not keep Node alive; a non-detached
    // KDC is then ended by the exit hook instead of being orphaned.
    child.unref();
    if (!this.detached) trackForExit(pid);
    await fs.writeFile(this.#pidFile, `${pid}\n`, { mode: 0o644 });
    return { ok: true };
  }
}

// --- process-exit cleanup ---------------------------------------------------------------------

/**
 * PIDs of non-detached KDCs. A child is not killed when its parent exits: without this hook a
 * test run that crashed or forgot `stop()` would leave a krb5kdc holding its port and directory.
 * One listener serves every realm, so many realms do not trip MaxListenersExceededWarning.
 * Fatal signals skip 'exit' handlers; an interactive Ctrl-C still reaches the KDC, which is in
 * our process group.
 */
const gLiveKdcs = new Set<number>();
let gExitHookInstalled = false;

function trackForExit(pid: number): void {
  gLiveKdcs.add(pid);
  if (gExitHookInstalled) return;
  gExitHookInstalled = true;
  process.on('exit', () => {
    for (const kdc of gLiveKdcs) sendSignal(kdc, 'SIGTERM');
  });
}

// --- helpers ----------------------------------------------------------------------------------

interface ToolOutput {
  stdout: string;
  stderr: string;
}

const gToolPaths = new Map<Krb5Tool, string>();

/** Absolute path of a krb5 tool; sbin dirs are searched too, as they are often not on PATH. */
async function findTool(tool: Krb5Tool): Promise<string> {
  const cached = gToolPaths.get(tool);
  if (cached !== undefined) return cached;
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter((d) => path.isAbsolute(d))) {
    const candidate = path.join(dir, tool);
    try {
      await fs.access(candidate, fsConstants.X_OK);
      gToolPaths.set(tool, candidate);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw realmError(`${tool} not found on PATH or in /usr/sbin: install it with: apt-get install -y ${kToolPackages[tool]}`);
}

/** Runs a tool without a shell; throws ERR_REALM naming `what` with the output's tail. */
async function runTool(
  tool: Krb5Tool,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  what: string,
  input?: string,
): Promise<ToolOutput> {
  const file = await findTool(tool);
  return new Promise<ToolOutput>((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A tool that fails early closes stdin before reading the password: EPIPE, not our error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), kToolTimeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(realmError(`${what} failed: cannot run ${file}: ${err.message}`, err));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve({ stdout, stderr });
        return;
      }
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(realmError(`${what} failed: ${tool} ${how}; its output ends with:\n${tailLines(`${stdout}${stderr}`)}`));
    });
  });
}

function expectOutput(out: ToolOutput, marker: string, what: string): void {
  if (!out.stdout.includes(marker)) {
    throw realmError(`${what} failed: kadmin.local did not confirm it; its output ends with:\n${tailLines(`${out.stdout}${out.stderr}`)}`);
  }
}

async function prepareEmptyDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      return;
    }
    throw realmError(`cannot use ${dir} as a realm directory: ${errorText(err)}`, err);
  }
  if (entries.length > 0) {
    const shown = entries.slice(0, 5).join(', ');
    throw realmError(`refusing to create a realm in ${dir}: the directory is not empty (${shown}); pass a new or empty directory`);
  }
}

/** An ephemeral loopback port, free at the time of the call. */
function freeLoopbackPort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(realmError('could not pick a free loopback port'))));
    });
  });
}

/** True while /proc shows `pid` as a live (not zombie) process. */
async function processRunning(pid: number): Promise<boolean> {
  let stat: string;
  try {
    stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // The state letter follows the parenthesised command name, which may itself hold spaces.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone (ESRCH): that is the goal.
  }
}

function parseState(raw: unknown, file: string): Omit<RealmState, 'format'> {
  const bad = (why: string): ConfigError => realmError(`${file} is not a realm state file: ${why}`);
  if (typeof raw !== 'object' || raw === null) throw bad('not a JSON object');
  const record = raw as Record<string, unknown>;
  if (record['format'] !== kStateFormat) throw bad(`unsupported format ${JSON.stringify(record['format'])}`);
  const { realm, user, password, kdcPort, detached } = record;
  if (typeof realm !== 'string' || !kRealmPattern.test(realm)) throw bad('bad "realm"');
  if (typeof user !== 'string' || !kUserPattern.test(user)) throw bad('bad "user"');
  if (typeof password !== 'string') throw bad('bad "password"');
  if (typeof kdcPort !== 'number' || !Number.isInteger(kdcPort)) throw bad('bad "kdcPort"');
  if (typeof detached !== 'boolean') throw bad('bad "detached"');
  return { realm, user, password, kdcPort, detached };
}

function checkPassword(password: string): void {
  // Passwords are fed to prompts one per line and stored one per line in the NTLM file.
  if (password.length === 0 || /[\r\n\0]/.test(password)) {
    throw realmError('invalid password: it must be non-empty and hold no line breaks or NUL');
  }
}

/**
 * 24 base64url characters from 18 random bytes, never starting with '-': command-line parsers
 * (argparse in the sample clients, among others) take `--password -x...` for an option.
 */
function randomSecret(): string {
  for (;;) {
    const s = randomBytes(18).toString('base64url');
    if (!s.startsWith('-')) return s;
  }
}

async function writePrivateFile(file: string, text: string): Promise<void> {
  await fs.writeFile(file, text, { mode: 0o600 });
  // mode applies only when the file is created; an existing file keeps its old mode.
  await fs.chmod(file, 0o600);
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

async function readFrom(file: string, offset: number): Promise<string> {
  try {
    const text = await fs.readFile(file);
    return text.subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

async function logTail(file: string): Promise<string> {
  return `${file} ends with:\n${tailLines(await readFrom(file, 0))}`;
}

function tailLines(text: string): string {
  const lines = text.trimEnd().split('\n');
  const tail = lines.slice(-kTailLines).join('\n');
  return tail.length > 0 ? tail : '(empty)';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function realmError(message: string, cause?: unknown): ConfigError {
  return cause === undefined ? new ConfigError('ERR_REALM', message) : new ConfigError('ERR_REALM', message, { cause });
}
