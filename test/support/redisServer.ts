/**
 * A throwaway redis-server (Debian's) for tests: on a free loopback port in its own temporary
 * directory, no persistence, started and stopped by PID. `pause`/`resume` (SIGSTOP/SIGCONT)
 * make it slow; `kill` then `start` make it down, then back on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { requireTool } from './realm.js';

/** A port no one listens on now (the kernel's pick for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly #binary: string;
  readonly #extraArgs: string[];
  #child: ChildProcess | undefined;

  private constructor(binary: string, dir: string, port: number, extraArgs: string[]) {
    this.#binary = binary;
    this.dir = dir;
    this.port = port;
    this.#extraArgs = extraArgs;
  }

  /** Starts one; `extraArgs` are redis-server options (e.g. ['--requirepass', 'pw']). */
  static async create(extraArgs: string[] = []): Promise<RedisServer> {
    const binary = requireTool('redis-server', 'redis-server');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-redis-'));
    const server = new RedisServer(binary, dir, await freePort(), extraArgs);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts redis-server (again) on this port; resolves when it accepts connections. */
  async start(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--loglevel',
      'notice',
      ...this.#extraArgs,
    ];
    const child = spawn(this.#binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${String(code)}): ${out}`));
      });
    });
    child.stdout?.resume();
    child.stderr?.resume();
  }

  /** SIGSTOP: connections stay open, nothing is answered. */
  pause(): void {
    if (this.#child?.pid !== undefined) process.kill(this.#child.pid, 'SIGSTOP');
  }

  /** SIGCONT after pause(). */
  resume(): void {
    if (this.#child?.pid !== undefined) process.kill(this.#child.pid, 'SIGCONT');
  }

  /** SIGKILL, waiting until it has exited (down: connections refused). */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid, 'SIGCONT');
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }

  /** A client of this server, for the test's own look at the keys. */
  client(): Redis {
    return new Redis(this.port, '127.0.0.1', { lazyConnect: false, maxRetriesPerRequest: 1 });
  }

  /** Kills the server and removes its directory. */
  async destroy(): Promise<void> {
    await this.kill();
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}
