/**
 * A farm for tests (scripts/farm.sh): N instances in their own network namespaces behind
 * HAProxy, with Redis and the realm's KDC in the balancer's namespace and clients in theirs.
 * One farm per test file (it takes ~10 s to start). Tests skip only where a network namespace
 * cannot be made (not root); a missing haproxy or redis-server fails them, as the script says.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { createConnection } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PYTHON } from './server.js';
import { waitUntil } from './waitUntil.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FARM_SH = path.join(ROOT, 'scripts', 'farm.sh');
const FARM_CLIENT = path.join(ROOT, 'test', 'fixtures', 'farm_client.py');
const SSPI_CLIENT = path.join(ROOT, 'examples', 'sspi_client.py');

/** Why this machine cannot run a farm, or undefined when it can. */
export function farmSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) {
    return 'a farm runs in network namespaces, which need root (CAP_SYS_ADMIN); CI runs these tests as root';
  }
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch (err) {
    return `network namespaces are not available here (ip netns list failed: ${(err as Error).message})`;
  }
  return undefined;
}

/**
 * The replay cache scripts/farm.sh gives instances by default: redis when this build's
 * `serve --help` offers redis:// (issue 15 item 1), else memory (per instance).
 */
export function defaultReplayCache(): 'redis' | 'memory' {
  const cli = path.join(ROOT, 'bin', 'negotiate-server.js');
  const help = execFileSync(process.execPath, [cli, 'serve', '--help'], { encoding: 'utf8' });
  return help.includes('redis://') ? 'redis' : 'memory';
}

/** A part of the farm that tests stop and start. */
export type FarmPart = 'redis' | 'haproxy' | { instance: number };

interface RunResult {
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** One running farm; `down()` removes it (processes, namespaces, directory). */
export class Farm {
  /** The farm's directory: farm.state, realm/, logs/, haproxy.cfg. */
  readonly dir: string;
  readonly #state: ReadonlyMap<string, string>;

  private constructor(dir: string, state: ReadonlyMap<string, string>) {
    this.dir = dir;
    this.#state = state;
  }

  /** Starts `scripts/farm.sh up` with `instances` instances in a new temporary directory. */
  static async up(instances: number, opts: { replayCache?: 'redis' | 'memory' } = {}): Promise<Farm> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-farm-'));
    const env = { ...process.env, ...(opts.replayCache ? { FARM_REPLAY_CACHE: opts.replayCache } : {}) };
    try {
      await new Promise<void>((resolve, reject) => {
        execFile('bash', [FARM_SH, 'up', dir, String(instances)], { env, timeout: 90_000 }, (err, _out, stderr) => {
          if (err) reject(new Error(`farm.sh up failed: ${err.message}\n${stderr}`));
          else resolve();
        });
      });
    } catch (err) {
      // farm.sh takes down a half-made farm itself, but not when it was killed (the timeout):
      // whatever farm.state lists still goes, so no namespace outlives the test.
      await run('bash', [FARM_SH, 'down', dir], 60_000).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }
    return new Farm(dir, await readState(path.join(dir, 'farm.state')));
  }

  #get(key: string): string {
    const v = this.#state.get(key);
    if (v === undefined || v === '') throw new Error(`farm.state has no ${key}`);
    return v;
  }

  /** HAProxy's address (HTTP on :80, sspi :2000, gss-sample :4444). */
  get balancer(): string {
    return this.#get('LB_IP');
  }

  /** The replay cache the instances run with. */
  get replayCache(): 'redis' | 'memory' {
    return this.#get('REPLAY_CACHE') === 'redis' ? 'redis' : 'memory';
  }

  /** Instance `i`'s own address (1-based). */
  instance(i: number): string {
    return this.#get(`IP_S${i}`);
  }

  /** Runs `file args` in the client namespace with the realm's environment (alice's TGT). */
  async inClient(file: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
    const envFile = path.join(this.#get('REALM_DIR'), 'env');
    const script = '. "$0"; exec "$@"';
    const ns = this.#get('NS_CL');
    return (await run('ip', ['netns', 'exec', ns, 'bash', '-c', script, envFile, file, ...args], timeoutMs)).stdout;
  }

  /** test/fixtures/farm_client.py MODE ARGS in the client namespace; its JSON answer. */
  async client(mode: string, args: readonly string[], timeoutMs?: number): Promise<Record<string, unknown>> {
    const out = await this.inClient(PYTHON, [FARM_CLIENT, mode, ...args], timeoutMs);
    return JSON.parse(out) as Record<string, unknown>;
  }

  /** examples/sspi_client.py ARGS (one JSON line per connection) in the client namespace. */
  async sspiClient(args: readonly string[]): Promise<Record<string, unknown>[]> {
    const out = await this.inClient(PYTHON, [SSPI_CLIENT, ...args]);
    return out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** The status of instance i's /readyz, asked from the balancer's namespace (0: no answer). */
  async readyz(i: number): Promise<number> {
    const ns = this.#get('NS_LB');
    const url = `http://${this.instance(i)}:9090/readyz`;
    const args = ['netns', 'exec', ns, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', url];
    const out = await run('ip', args, 5000).catch(() => ({ stdout: '0', stderr: '' }));
    return Number(out.stdout.trim()) || 0;
  }

  /** HAProxy's view of instance i in `backend` (e.g. "UP", "DOWN"), from its stats socket. */
  async serverStatus(backend: string, i: number): Promise<string> {
    const csv = await haproxyCommand(path.join(this.dir, 'haproxy.sock'), 'show stat');
    for (const line of csv.split('\n')) {
      const f = line.split(',');
      if (f[0] === backend && f[1] === `s${i}`) return f[17] ?? '';
    }
    return '';
  }

  /** `farm.sh stop|kill|start PART`: stop is SIGTERM, kill SIGKILL; start waits until ready. */
  async part(action: 'stop' | 'kill' | 'start', part: FarmPart): Promise<void> {
    const which = typeof part === 'string' ? [part] : ['instance', String(part.instance)];
    await run('bash', [FARM_SH, action, ...which, this.dir], 60_000);
  }

  /**
   * Instance i running and back in HAProxy's rotation, whatever a failed test left: a test that
   * stops an instance ends with this, so one failure does not take the next tests' instance.
   */
  async restore(i: number): Promise<void> {
    if ((await this.readyz(i)) !== 200) await this.part('start', { instance: i });
    await waitUntil(async () => (await this.serverStatus('http', i)) === 'UP', `HAProxy to mark s${i} up`, 15_000, 100);
  }

  /** Log of a part (`s1`, `redis`, `haproxy`), for failure messages. */
  async log(name: string): Promise<string> {
    return fs.readFile(path.join(this.dir, 'logs', `${name}.log`), 'utf8').catch(() => '');
  }

  /** `farm.sh down`, then the directory goes too. */
  async down(): Promise<void> {
    await run('bash', [FARM_SH, 'down', this.dir], 60_000);
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

async function readState(file: string): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for (const line of (await fs.readFile(file, 'utf8')).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) map.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return map;
}

/** One command on HAProxy's admin socket (a Unix socket: no namespace to enter). */
async function haproxyCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let data = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${command}\n`));
    conn.on('data', (chunk: string) => (data += chunk));
    conn.on('end', () => resolve(data));
    conn.on('error', reject);
  });
}
