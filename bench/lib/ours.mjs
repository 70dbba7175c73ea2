/**
 * negotiate-server itself, started through its CLI exactly as a user would.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { processTree } from './proc.mjs';

const CLI = fileURLToPath(new URL('../../bin/negotiate-server.js', import.meta.url));

/**
 * @param {{ env: Record<string, string>, keytab: string, workers?: number, replayCache?: string, name?: string, extraArgs?: string[] }} o
 */
export async function startOurs(o) {
  const args = [
    CLI, 'serve', '--keytab', o.keytab,
    '--http', '127.0.0.1:0', '--sspi', '127.0.0.1:0', '--gss-sample', '127.0.0.1:0', '--ws', 'none',
    '--workers', String(o.workers ?? 2), '--replay-cache', o.replayCache ?? 'default',
    '--max-queue', '100000', '--log-level', 'error', ...(o.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'inherit'] });
  /** @type {{ http?: number, sspi?: number, gssSample?: number }} */
  const ports = {};
  const lines = createInterface({ input: child.stdout });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('negotiate-server did not start within 20 s')), 20_000);
    child.once('exit', (code) => reject(new Error(`negotiate-server exited with ${code}`)));
    lines.on('line', (line) => {
      const e = JSON.parse(line);
      if (e.event !== 'listening') return;
      if (e.frontend === 'http') ports.http = e.port;
      if (e.frontend === 'sspi') ports.sspi = e.port;
      if (e.frontend === 'gss-sample') ports.gssSample = e.port;
      if (ports.http && ports.sspi && ports.gssSample) {
        clearTimeout(timer);
        resolve(undefined);
      }
    });
  });
  const pid = /** @type {number} */ (child.pid);
  return {
    name: o.name ?? 'negotiate-server',
    pid,
    pids: () => processTree(pid),
    ports,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(undefined);
        child.once('exit', () => resolve(undefined));
        child.kill('SIGTERM');
      }),
  };
}
