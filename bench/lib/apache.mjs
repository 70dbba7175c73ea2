// Apache httpd 2.4 + mod_auth_gssapi as an HTTP Negotiate peer. Everything (config, pid file,
// logs, keytab copy, replay cache) lives in one temporary directory; /etc/apache2 and the
// Debian service are never used, so a system Apache (if any) does not matter.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, curlNegotiate, freePort, realmEnv, sleep, stopChild, waitForPort } from './peerProcess.mjs';
import { processTree } from './proc.mjs';

const APACHE_BIN = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';

/**
 * @typedef {{ name: string, pid: number, pids(): number[], ports: { http?: number, sspi?: number, gssSample?: number },
 *   stop(): Promise<void>, dir: string, runDir: string, version: string }} ServerHandle
 */

/**
 * Start Apache (mpm_event) with mod_auth_gssapi protecting GET /whoami.
 * @param {{
 *   env: string | Record<string, string>, // realm env file path or its parsed variables
 *   keytab?: string,                      // default: the realm's KRB5_KTNAME
 *   port: number,                         // 127.0.0.1:PORT; 0 = a free port picked here (see ports.http)
 *   rcache?: 'default' | 'none',          // MIT replay cache: default (file2 in dir/rcache) or none:
 *   dir?: string,                         // working dir; a fresh temp dir if omitted (then removed on stop)
 *   accessLog?: boolean,                  // default false: a log line per request is I/O the other peers do not do
 *   readyTimeoutMs?: number,
 *   verify?: boolean,                     // default true: readiness includes one curl --negotiate 200 with mutual auth
 * }} opts
 * @returns {Promise<ServerHandle>}
 */
export async function startApache(opts) {
  const realm = realmEnv(opts.env);
  const rcache = opts.rcache ?? 'default';
  if (rcache !== 'default' && rcache !== 'none') throw new Error(`rcache must be default|none, got ${rcache}`);
  if (!Number.isInteger(opts.port) || opts.port < 0) throw new Error(`bad port ${opts.port}`);
  // Apache cannot listen on port 0 and report the port, so 0 means "pick a free one now".
  const port = opts.port === 0 ? await freePort() : opts.port;
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'bench-apache-'));
  mkdirSync(dir, { recursive: true });
  const keytabSrc = (opts.keytab ?? realm.KRB5_KTNAME ?? '').replace(/^FILE:/, '');
  if (!keytabSrc) throw new Error('no keytab (pass keytab or KRB5_KTNAME in env)');

  // As root, Apache refuses to serve as root and switches its children to `User`; the
  // children must read the keytab and krb5.conf and write the replay cache. The realm's
  // keytab is 0600 root and `dir` may sit under a 0700 mkdtemp directory, so everything the
  // children touch is copied into a separate directory under /tmp owned by that user
  // (removed on stop). The parent (root) still reads the config and opens the logs in `dir`.
  const asRoot = process.getuid?.() === 0;
  const runUser = asRoot ? 'www-data' : null;
  const runDir = asRoot ? mkdtempSync('/tmp/bench-apache-run-') : join(dir, 'run');
  mkdirSync(runDir, { recursive: true });
  const keytab = join(runDir, 'http.keytab');
  copyFileSync(keytabSrc, keytab);
  const krb5Conf = join(runDir, 'krb5.conf');
  if (realm.KRB5_CONFIG) copyFileSync(realm.KRB5_CONFIG, krb5Conf);
  const rcDir = join(runDir, 'rcache');
  mkdirSync(rcDir, { recursive: true });
  const docDir = join(runDir, 'htdocs');
  mkdirSync(docDir, { recursive: true });
  writeFileSync(join(docDir, 'whoami.txt'), 'ok\n');
  if (runUser) {
    const uid = Number(execFileSync('id', ['-u', runUser]).toString().trim());
    const gid = Number(execFileSync('id', ['-g', runUser]).toString().trim());
    chmodSync(runDir, 0o711);
    for (const p of [runDir, keytab, rcDir, docDir, join(docDir, 'whoami.txt')]) chownSync(p, uid, gid);
    if (realm.KRB5_CONFIG) chmodSync(krb5Conf, 0o644);
  }

  const conf = join(dir, 'httpd.conf');
  writeFileSync(conf, apacheConfig({ dir, port, keytab, rcache, runUser, docDir, accessLog: !!opts.accessLog }));

  const baseEnv = childEnv(realm);
  const env = {
    ...baseEnv,
    KRB5_KTNAME: `FILE:${keytab}`,
    KRB5RCACHEDIR: rcDir,
    ...(realm.KRB5_CONFIG ? { KRB5_CONFIG: krb5Conf } : {}),
    // The acceptor never initiates; don't let children touch the user's TGT cache.
    KRB5CCNAME: `FILE:${join(dir, 'no-ccache')}`,
    APACHE_RUN_DIR: dir,
    APACHE_LOCK_DIR: dir,
    APACHE_LOG_DIR: dir,
    APACHE_PID_FILE: join(dir, 'httpd.pid'),
    APACHE_RUN_USER: runUser ?? '',
    APACHE_RUN_GROUP: runUser ?? '',
    LANG: 'C',
  };
  // Syntax check first: a config error then reports Apache's own message, not a timeout.
  try {
    execFileSync(APACHE_BIN, ['-t', '-f', conf], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (asRoot) rmSync(runDir, { recursive: true, force: true });
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw new Error(`apache2 -t failed: ${/** @type {any} */ (e).stderr?.toString().trim()}`, { cause: e });
  }
  const version = (() => {
    try {
      return /Apache\/(\S+)/.exec(execFileSync(APACHE_BIN, ['-v']).toString())?.[1] ?? '?';
    } catch {
      return '?';
    }
  })();

  const child = spawn(APACHE_BIN, ['-f', conf, '-DFOREGROUND'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const running = () => child.exitCode === null && child.signalCode === null;

  const handle = {
    name: rcache === 'none' ? 'apache-rcache-none' : 'apache',
    pid: /** @type {number} */ (child.pid),
    pids: () => processTree(/** @type {number} */ (child.pid)),
    ports: { http: port },
    dir,
    runDir,
    version,
    async stop() {
      await stopChild(child, 5000);
      if (asRoot) rmSync(runDir, { recursive: true, force: true });
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    const timeout = opts.readyTimeoutMs ?? 15_000;
    const t0 = Date.now();
    await waitForPort(port, timeout, running);
    if (opts.verify !== false) {
      // Children may still be starting when the listener accepts; retry briefly.
      let last;
      for (;;) {
        last = await curlNegotiate(realm, port);
        if (last.status === 200 && last.mutual) break;
        if (Date.now() - t0 > timeout || !running()) {
          throw new Error(`apache not ready: curl --negotiate gave ${last.status} mutual=${last.mutual}`);
        }
        await sleep(100);
      }
    }
  } catch (e) {
    const errLog = join(dir, 'error.log');
    const log = existsSync(errLog)
      ? `; error.log: ${readFileSync(errLog, 'utf8').trim().split('\n').slice(-5).join(' | ')}`
      : '';
    await handle.stop().catch(() => {});
    throw new Error(`${/** @type {Error} */ (e).message}${stderr ? `; stderr: ${stderr.trim()}` : ''}${log}`, {
      cause: e,
    });
  }
  return handle;
}

/**
 * The generated httpd.conf.
 * @param {{ dir: string, port: number, keytab: string, rcache: 'default'|'none', runUser: string|null, docDir: string,
 *   accessLog: boolean }} o
 */
export function apacheConfig(o) {
  const mods = [
    ['mpm_event_module', 'mod_mpm_event.so'],
    ['authn_core_module', 'mod_authn_core.so'],
    ['authz_core_module', 'mod_authz_core.so'],
    ['authz_user_module', 'mod_authz_user.so'], // provides `Require valid-user`
    ['auth_gssapi_module', 'mod_auth_gssapi.so'],
    ['alias_module', 'mod_alias.so'],
    ['headers_module', 'mod_headers.so'],
  ];
  const accessLog = o.accessLog
    ? `LogFormat "%h %u %t \\"%r\\" %>s %b %D" bench\nCustomLog "${join(o.dir, 'access.log')}" bench\n`
    : '# No access log: per-request log I/O is work the other peers do not do.';
  const rcacheNone =
    o.rcache === 'none'
      ? '    # MIT replay cache type "none:" (colon required) through gss_acquire_cred_from\'s rcache element.\n' +
        '    GssapiCredStore rcache:none:\n'
      : '';
  return `# Generated by bench/lib/apache.mjs; loopback only, nothing from /etc/apache2.
ServerRoot "${o.dir}"
ServerName localhost
Listen 127.0.0.1:${o.port}
PidFile "${join(o.dir, 'httpd.pid')}"
DefaultRuntimeDir "${o.dir}"
ErrorLog "${join(o.dir, 'error.log')}"
LogLevel warn
${o.runUser ? `User ${o.runUser}\nGroup ${o.runUser}\n` : ''}
${mods.map(([n, f]) => `LoadModule ${n} ${MODULES}/${f}`).join('\n')}

# mpm_event for 2 cores and up to 64 concurrent connections: two fixed processes of 64
# threads, so every connection can have a thread and no process is forked or reaped during a
# timed phase (spare-thread limits wide enough that the pool never changes size).
StartServers            2
ServerLimit             2
ThreadLimit             64
ThreadsPerChild         64
MaxRequestWorkers       128
MinSpareThreads         1
MaxSpareThreads         128
MaxConnectionsPerChild  0
ListenBacklog           511

# Keep connections open for the whole run (autocannon reuses them); 0 = unlimited requests.
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 15
Timeout 30

${accessLog}

DocumentRoot "${o.docDir}"
<Directory />
    AllowOverride None
    Require all denied
</Directory>

Alias /whoami "${join(o.docDir, 'whoami.txt')}"
<Location /whoami>
    AuthType GSSAPI
    AuthName "Negotiate bench"
    GssapiCredStore keytab:${o.keytab}
${rcacheNone}    GssapiAllowedMech krb5
    GssapiBasicAuth Off
    # One handshake per request, like the other peers (no connection-bound auth reuse).
    GssapiConnectionBound Off
    Require valid-user
    Header always set X-Remote-User "expr=%{REMOTE_USER}"
    ForceType text/plain
</Location>
`;
}
