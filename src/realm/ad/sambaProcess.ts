/**
 * Starts Samba's AD DC (KDC service only) inside the domain's namespace and waits until its
 * KDC listens. One process (`-M single`), in the foreground (`-i`) so it never daemonizes away
 * from its PID; its output goes to DIR/samba/log/samba.out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { realmError, tailLines } from '../realmError.js';
import { inNamespace } from './netns.js';
import { sambaDaemon, type SambaPaths } from './sambaAdmin.js';

const kReadyTimeoutMs = 60_000;
const kKdcPortHex = '0058'; // 88
const kListen = '0A';

export interface StartedSamba {
  pid: number;
  /** The daemon's output, for errors. */
  outFile: string;
}

/**
 * Spawns samba in namespace `netns`. With `detached` it runs in its own session and outlives
 * this process (the CLI's `realm up`); otherwise it dies with this process.
 */
export async function startSamba(
  paths: SambaPaths,
  netns: string,
  env: NodeJS.ProcessEnv,
  detached: boolean,
): Promise<StartedSamba> {
  const outFile = path.join(paths.logDir, 'samba.out');
  const out = await fs.open(outFile, 'a', 0o600);
  const [file, args] = await inNamespace(netns, [await sambaDaemon(), '-i', '-M', 'single', '-s', paths.smbConf]);
  let pid: number | undefined;
  try {
    // `ip netns exec` execs samba in place, so the PID is samba's.
    const child = spawn(file, args, { env, detached, stdio: ['ignore', out.fd, out.fd] });
    pid = child.pid;
    // Never keeps this process alive: a non-detached KDC is killed at exit instead.
    child.unref();
    // The exit hook is set up before any await, so a samba that ends at once still removes it
    // and no later exit signals whatever process reuses its PID.
    if (pid !== undefined && !detached) killAtExit(child, pid);
  } finally {
    await out.close();
  }
  if (pid === undefined) throw realmError(`cannot start samba: spawning ${file} failed`);
  await waitForKdc(pid, outFile);
  return { pid, outFile };
}

/**
 * A KDC that outlived its tests would keep the namespace busy (the namespace itself is removed
 * by stop()), so a non-detached samba is killed when this process exits, unless it ended first.
 */
function killAtExit(child: ChildProcess, pid: number): void {
  const kill = (): void => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  };
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
}

/** Polls the namespace's TCP table (seen through /proc/PID/net) for a listener on port 88. */
async function waitForKdc(pid: number, outFile: string): Promise<void> {
  const deadline = Date.now() + kReadyTimeoutMs;
  for (;;) {
    let table: string | undefined;
    try {
      table = await fs.readFile(`/proc/${pid}/net/tcp`, 'utf8');
    } catch {
      table = undefined;
    }
    if (table === undefined) {
      throw realmError(`samba exited while starting; its output ends with:\n${tailLines(await readText(outFile))}`);
    }
    const listening = table.split('\n').some((line) => {
      const f = line.trim().split(/\s+/);
      return f[1]?.endsWith(`:${kKdcPortHex}`) === true && f[3] === kListen;
    });
    if (listening) return;
    if (Date.now() > deadline) {
      throw realmError(
        `samba's KDC did not listen on port 88 within ${kReadyTimeoutMs} ms; its output ends ` +
          `with:\n${tailLines(await readText(outFile))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function readText(file: string): Promise<string> {
  return fs.readFile(file, 'utf8').catch(() => '');
}
