/**
 * negotiate-server itself, started through its CLI exactly as a user would.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processTree } from './proc.mjs';

const CLI = fileURLToPath(new URL('../../bin/negotiate-server.js', import.meta.url));

/** The CLI of `o.root` (another checkout, for A/B runs of two builds), or this one's. */
const cliOf = (/** @type {{ root?: string }} */ o) => (o.root ? path.join(o.root, 'bin', 'negotiate-server.js') : CLI);

/**
 * @param {{ env: Record<string, string>, keytab: string, workers?: number, replayCache?: string, name?: string,
 *   extraArgs?: string[], defaults?: { logFile: string }, root?: string, nodeArgs?: string[] }} o
 *   root: the project checkout whose CLI runs (default this one); nodeArgs: node's own flags
 *   (e.g. --cpu-prof).
 *   defaults: the server as users run it: no tuning flags, info logging (one line per handshake)
 *   into logFile (stderr redirected there, as a service manager would); the bench's own flags
 *   (workers, replay cache, queue, log level error) are then not passed, extraArgs are.
 */
export async function startOurs(o) {
  if (o.defaults) return startDefaults(o, o.defaults.logFile);
  const args = [
    ...listenArgs(o),
    '--ws',
    'none',
    '--workers',
    String(o.workers ?? 2),
    '--replay-cache',
    o.replayCache ?? 'default',
    '--max-queue',
    '100000',
    '--log-level',
    'error',
    ...(o.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return handleOf(o, child);
}

/**
 * `serve` with the keytab and the three front ends on free loopback ports: all a defaults
 * server gets, and what the tuned one starts from.
 * @param {Parameters<typeof startOurs>[0]} o
 */
function listenArgs(o) {
  return [
    ...(o.nodeArgs ?? []),
    cliOf(o),
    'serve',
    '--keytab',
    o.keytab,
    '--http',
    '127.0.0.1:0',
    '--sspi',
    '127.0.0.1:0',
    '--gss-sample',
    '127.0.0.1:0',
  ];
}

/** @param {Parameters<typeof startOurs>[0]} o @param {string} logFile */
async function startDefaults(o, logFile) {
  const args = [...listenArgs(o), ...(o.extraArgs ?? [])];
  const fd = openSync(logFile, 'w');
  try {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', fd] });
    return await handleOf(o, child, logFile);
  } finally {
    closeSync(fd);
  }
}

/**
 * @param {Parameters<typeof startOurs>[0]} o @param {import('node:child_process').ChildProcess} child
 * @param {string} [logFile]
 */
async function handleOf(o, child, logFile) {
  // Passed through (log level error: only failures), and the tail kept to say why a start
  // failed (e.g. a --replay-cache value this build does not accept).
  let stderrTail = '';
  child.stderr?.on('data', (/** @type {Buffer} */ d) => {
    process.stderr.write(d);
    stderrTail = (stderrTail + d).slice(-2000);
  });
  const why = () => {
    const tail = logFile ? readFileSync(logFile, 'utf8').slice(-2000) : stderrTail;
    const lines = tail.trim().split('\n');
    const line = lines.findLast((l) => l.startsWith('negotiate-server:')) ?? lines.at(-1);
    return line ? `: ${line.slice(0, 400)}` : '';
  };
  /** @type {{ http?: number, sspi?: number, gssSample?: number }} */
  const ports = {};
  const lines = createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`negotiate-server did not start within 20 s${why()}`));
    }, 20_000);
    // 'close', not 'exit': stderr is drained by then, so the reason is complete.
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`negotiate-server exited with ${code}${code === 2 ? ' (usage error)' : ''}${why()}`));
    });
    lines.on('line', (line) => {
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        return; // stdout carries only JSON events; ignore anything else rather than crash
      }
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
