/**
 * Runs MIT's command-line tools (kdb5_util, kadmin.local, kinit, and finds krb5kdc) without a
 * shell, with a deadline, secrets on stdin rather than argv, and errors that say what was being
 * done, how the tool ended and the tail of what it printed.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { realmError, tailLines } from './realmError.js';

export type Krb5Tool = 'krb5kdc' | 'kdb5_util' | 'kadmin.local' | 'kinit';

/** Debian package providing each tool, for the "install it with" hint. */
const kToolPackages: Readonly<Record<Krb5Tool, string>> = {
  krb5kdc: 'krb5-kdc',
  kdb5_util: 'krb5-kdc',
  'kadmin.local': 'krb5-admin-server',
  kinit: 'krb5-user',
};

const kDefaultTimeoutMs = 30_000;

export interface ToolOutput {
  stdout: string;
  stderr: string;
}

/** How a tool is found and run. */
export interface ToolOptions {
  /** The whole environment of the tool (see {@link toolEnv}). */
  env: NodeJS.ProcessEnv;
  /** Directories searched for the tool; default: PATH, then the sbin directories. */
  searchPath?: readonly string[];
  /** The tool is killed and the call fails after this long. Default 30 s. */
  timeoutMs?: number;
}

/** The files every tool of a realm must read instead of /etc. */
export interface ToolProfiles {
  krb5Config: string;
  kdcProfile: string;
  rcacheDir: string;
}

/** This process's environment, pointed at the realm's profiles. */
export function toolEnv(p: ToolProfiles): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KRB5_CONFIG: p.krb5Config,
    KRB5_KDC_PROFILE: p.kdcProfile,
    KRB5RCACHEDIR: p.rcacheDir,
    // The readiness sentinel and kadmin's success lines are matched as text; krb5-locales
    // would translate them.
    LC_ALL: 'C',
  };
}

function defaultSearchPath(): string[] {
  // The KDC tools live in sbin directories, which are often not on a user's PATH.
  return [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
}

const gToolPaths = new Map<string, string>();

/** Absolute path of `tool`; ERR_REALM naming the Debian package when it is nowhere. */
export async function findTool(tool: Krb5Tool, searchPath: readonly string[] = defaultSearchPath()): Promise<string> {
  const dirs = searchPath.filter((d) => path.isAbsolute(d));
  const key = `${tool}\0${dirs.join('\0')}`;
  const cached = gToolPaths.get(key);
  if (cached !== undefined) return cached;
  for (const dir of dirs) {
    const candidate = path.join(dir, tool);
    try {
      await fs.access(candidate, fsConstants.X_OK);
      gToolPaths.set(key, candidate);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  const hint = `install it with: apt-get install -y ${kToolPackages[tool]}`;
  throw realmError(`${tool} not found on PATH or in /usr/sbin: ${hint}`);
}

/**
 * Runs `tool args` with `input` on stdin; resolves with its output when it exits 0. Otherwise
 * throws ERR_REALM: "`what` failed: TOOL exited with code N" (or was killed, or timed out),
 * then the last lines of its output.
 */
export async function runTool(
  tool: Krb5Tool,
  args: readonly string[],
  what: string,
  opts: ToolOptions & { input?: string },
): Promise<ToolOutput> {
  return runProgram(await findTool(tool, opts.searchPath), tool, args, what, opts);
}

/**
 * Runs the program at `file` (named `label` in errors) as {@link runTool} runs a krb5 tool:
 * no shell, `input` on stdin, a deadline, ERR_REALM with the tail of its output on failure.
 */
export function runProgram(
  file: string,
  label: string,
  args: readonly string[],
  what: string,
  opts: Omit<ToolOptions, 'searchPath'> & { input?: string },
): Promise<ToolOutput> {
  const timeoutMs = opts.timeoutMs ?? kDefaultTimeoutMs;
  return new Promise<ToolOutput>((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A tool that fails early closes stdin before reading the password: EPIPE, not our error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
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
      const how = timedOut
        ? `did not finish within ${timeoutMs} ms and was killed`
        : signal !== null
          ? `was killed by ${signal}`
          : `exited with code ${code}`;
      reject(realmError(`${what} failed: ${label} ${how}; its output ends with:\n${tailLines(`${stdout}${stderr}`)}`));
    });
  });
}

/**
 * `kdb5_util create -s`: a new KDC database for `realm`. The master password is prompted for
 * twice on stdin, keeping it out of argv; the stash file (-s) lets the KDC open the database
 * without it afterwards.
 */
export async function createDatabase(realm: string, masterPassword: string, opts: ToolOptions): Promise<void> {
  const input = `${masterPassword}\n${masterPassword}\n`;
  const what = `creating the KDC database of realm ${realm}`;
  await runTool('kdb5_util', ['create', '-s', '-r', realm], what, { ...opts, input });
}

/**
 * Gets a TGT for `principal` into the ccache named `ccname` (`FILE:/path`). The password goes
 * to kinit's stdin, never onto its command line.
 */
export async function kinit(principal: string, password: string, ccname: string, opts: ToolOptions): Promise<void> {
  const what = `kinit of ${principal} into ${ccname}`;
  await runTool('kinit', ['-c', ccname, principal], what, { ...opts, input: `${password}\n` });
}

/**
 * Runs one kadmin.local query for `realm` and checks that its output holds `confirmation`:
 * kadmin.local -q exits 0 even when the query fails (unknown principal, usage error).
 */
export async function kadminLocal(
  realm: string,
  query: string,
  confirmation: string,
  what: string,
  opts: ToolOptions & { input?: string },
): Promise<ToolOutput> {
  const out = await runTool('kadmin.local', ['-r', realm, '-q', query], what, opts);
  if (!out.stdout.includes(confirmation)) {
    const tail = tailLines(`${out.stdout}${out.stderr}`);
    throw realmError(`${what} failed: kadmin.local did not confirm it; its output ends with:\n${tail}`);
  }
  return out;
}
