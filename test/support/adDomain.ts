/**
 * The throwaway AD domain for tests: one per test file (provisioning takes 5-30 s), servers
 * and clients run inside its network namespace. Tests skip only when a network namespace
 * cannot be made here (not root: CAP_SYS_ADMIN is needed); a missing Samba package fails them.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ThrowawayAdDomain } from '../../src/realm/index.js';
import { startHost, type HostedServer } from './hostedServer.js';
import { PYTHON } from './server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

/**
 * Why this machine cannot run the AD tests, or undefined when it can. Only the namespace is
 * a reason to skip: it needs root, which CI has.
 */
export function adSkipReason(): string | undefined {
  if (process.getuid?.() !== 0)
    return (
      'a throwaway AD domain runs in its own network namespace, which needs root (CAP_SYS_ADMIN); CI runs these ' +
      'tests as root'
    );
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch (err) {
    return `network namespaces are not available here (ip netns list failed: ${(err as Error).message})`;
  }
  return undefined;
}

/** Fails (never skips) when Samba or python3-samba is missing. */
export function requireSamba(): void {
  try {
    execFileSync(PYTHON, ['-c', 'import samba.samdb, samba.dcerpc.krb5pac, gssapi'], { stdio: 'ignore' });
    execFileSync('samba-tool', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'Samba AD DC not available: install it with: apt-get install -y samba samba-ad-dc samba-ad-provision ' +
        'python3-samba python3-gssapi',
    );
  }
}

export async function startTestAdDomain(groups = 0): Promise<ThrowawayAdDomain> {
  requireSamba();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-ad-test-'));
  try {
    return await ThrowawayAdDomain.create({ dir, groups });
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A server in a child process inside the domain's namespace, serving HTTP on 127.0.0.1. */
export async function startAdServer(
  domain: ThrowawayAdDomain,
  options: Record<string, unknown> = {},
): Promise<HostedServer> {
  return startHost({
    env: { KRB5_CONFIG: domain.krb5Config, KRB5RCACHEDIR: domain.rcacheDir },
    options: { keytab: domain.keytab, http: { host: '127.0.0.1', port: 0 }, ...options },
    forwardEvents: true,
    netns: domain.netns,
  });
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `argv` inside the domain's namespace with the domain's client environment plus `env`. */
export async function runInDomain(
  domain: ThrowawayAdDomain,
  argv: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<RunResult> {
  const [file, args] = await domain.command(argv);
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: { ...process.env, ...domain.env(), ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
