/**
 * The network namespace an AD domain runs in. Samba's KDC must own port 88 (Windows clients and
 * MIT alike find an AD KDC there), which the host may already use, so the domain gets a
 * namespace of its own with only a loopback interface: nothing in it is reachable from outside,
 * and processes that must reach the KDC run inside with `ip netns exec NAME ...`.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { realmError } from '../realmError.js';
import { runProgram } from '../tools.js';

const kNamePattern = /^negotiate-ad-[0-9a-f]{8}$/;

/** A fresh namespace name, `negotiate-ad-` and 8 hex digits. */
export function newNamespaceName(): string {
  return `negotiate-ad-${randomBytes(4).toString('hex')}`;
}

export function isNamespaceName(name: string): boolean {
  return kNamePattern.test(name);
}

let gIpPath: string | undefined;

/** Absolute path of iproute2's `ip`; ERR_REALM naming the package when it is missing. */
export async function ipTool(): Promise<string> {
  if (gIpPath !== undefined) return gIpPath;
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs.filter((d) => path.isAbsolute(d))) {
    try {
      await fs.access(path.join(dir, 'ip'), fsConstants.X_OK);
      gIpPath = path.join(dir, 'ip');
      return gIpPath;
    } catch {
      // not here
    }
  }
  throw realmError('ip not found: install it with: apt-get install -y iproute2');
}

/** `argv` run inside namespace `name`: the file and arguments to spawn. */
export async function inNamespace(name: string, argv: readonly string[]): Promise<[string, string[]]> {
  return [await ipTool(), ['netns', 'exec', name, ...argv]];
}

/**
 * Creates namespace `name` with its loopback up. Needs CAP_SYS_ADMIN (root): the error says so,
 * since that is nearly always why it fails.
 */
export async function createNamespace(name: string, env: NodeJS.ProcessEnv): Promise<void> {
  const ip = await ipTool();
  const what = `creating network namespace ${name} (this needs root: CAP_SYS_ADMIN and CAP_NET_ADMIN)`;
  await runProgram(ip, 'ip', ['netns', 'add', name], what, { env });
  try {
    await runProgram(ip, 'ip', ['-n', name, 'link', 'set', 'lo', 'up'], `bringing up loopback in ${name}`, { env });
  } catch (err) {
    await runProgram(ip, 'ip', ['netns', 'delete', name], `deleting network namespace ${name}`, { env }).catch(
      () => undefined,
    );
    throw err;
  }
}

/** PIDs of the processes inside namespace `name` (none when it does not exist). */
export async function namespacePids(name: string, env: NodeJS.ProcessEnv): Promise<number[]> {
  try {
    const out = await runProgram(await ipTool(), 'ip', ['netns', 'pids', name], `listing processes in ${name}`, {
      env,
    });
    return out.stdout
      .split('\n')
      .filter((l) => /^[1-9][0-9]*$/.test(l.trim()))
      .map((l) => Number(l.trim()));
  } catch {
    return [];
  }
}

/** True when the namespace exists (its bind mount is in /run/netns). */
export async function namespaceExists(name: string): Promise<boolean> {
  try {
    await fs.access(path.join('/run/netns', name));
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends every process inside `name`, by PID (SIGTERM, then SIGKILL after `graceMs`), then
 * deletes the namespace. Every process there was started for the domain: the namespace is made
 * new for it and has no other way in.
 */
export async function deleteNamespace(name: string, env: NodeJS.ProcessEnv, graceMs = 3000): Promise<void> {
  if (!isNamespaceName(name))
    throw realmError(`refusing to delete network namespace ${JSON.stringify(name)}: not one of ours`);
  let pids = await namespacePids(name, env);
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    pids = pids.filter(alive);
  }
  for (const pid of pids) signal(pid, 'SIGKILL');
  if (await namespaceExists(name)) {
    await runProgram(await ipTool(), 'ip', ['netns', 'delete', name], `deleting network namespace ${name}`, { env });
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
