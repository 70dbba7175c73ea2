/**
 * The HTTP listener's connection cap. This uWebSockets.js build tells JavaScript nothing when it
 * accepts or closes an HTTP connection (no connection filter, no socket count), and it holds an
 * idle connection ~12 s before its timeout closes it, so idle sockets and WebSockets could take
 * every descriptor of the process. The gate therefore counts the connections on the listener's
 * port itself, from the kernel's socket tables (/proc/net/tcp and tcp6: ESTABLISHED and
 * CLOSE_WAIT sockets whose local port is ours, WebSockets included), every SAMPLE_MS, and
 * stops accepting while the count is at the cap (the listen socket is closed: new clients are
 * refused at once), resuming below it.
 *
 * Reading the socket tables costs kernel time in proportion to every TCP socket of the network
 * namespace (measured: ~50 ms of CPU for 8,000 sockets), so each sample first reads the
 * namespace's TCP socket count from /proc/net/sockstat{,6}, which costs next to nothing: below
 * the cap, the port cannot be at it. Only above it are the tables read, and then no more often
 * than every 10× the last read's duration, which keeps the gate under ~10% of a core however
 * many sockets there are.
 *
 * Sampling means the cap holds to within what clients can open in one interval: the listener's
 * descriptor budget includes httpCapSlack(cap) for that. Linux only; elsewhere the gate is off.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** How often the connections on the port are counted. */
export const SAMPLE_MS = 100;

/** Descriptors budgeted beyond the HTTP cap for the connections accepted within one sampling interval. */
export function httpCapSlack(cap: number): number {
  return Math.max(64, Math.ceil(cap / 10));
}

/** TCP states in /proc/net/tcp whose socket still holds a descriptor here: ESTABLISHED, CLOSE_WAIT. */
const kHeldStates = new Set(['01', '08']);

/** Sockets on local port `port` that hold a descriptor, from /proc/net/tcp{,6}; undefined without /proc. */
export async function countPortConnections(port: number): Promise<number | undefined> {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let found = false;
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(table, 'latin1');
    } catch {
      continue;
    }
    found = true;
    // "  sl  local_address rem_address   st ..." then one socket per line.
    for (const line of text.split('\n')) {
      // Cheap filter first: with many sockets in the namespace, most lines are not ours.
      if (!line.includes(`${hexPort} `)) continue;
      const fields = line.trim().split(/\s+/, 4);
      const local = fields[1];
      if (local !== undefined && local.endsWith(hexPort) && kHeldStates.has(fields[3] ?? '')) count++;
    }
  }
  return found ? count : undefined;
}

/** The namespace-wide socket counters, and the line holding TCP's sockets in use. */
const kSockstatTables = [
  ['/proc/net/sockstat', /^TCP: inuse (\d+)/m],
  ['/proc/net/sockstat6', /^TCP6: inuse (\d+)/m],
] as const;

/**
 * TCP sockets in use in this network namespace (IPv4 and IPv6), from /proc/net/sockstat{,6}; undefined without /proc.
 *
 * Read synchronously: these are two short procfs files that the kernel fills from counters, never
 * disk I/O, and fs/promises' readFile (open, fstat, read, close, each a thread-pool round trip) cost
 * ~8x the CPU of readFileSync here (~0.9 ms against ~0.12 ms per sample, measured on a 2-core VM),
 * ten times a second on the thread that serves every connection.
 */
export function namespaceTcpSockets(): number | undefined {
  let found = false;
  let total = 0;
  for (const [table, label] of kSockstatTables) {
    let text: string;
    try {
      text = readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    const m = label.exec(text);
    if (m) {
      found = true;
      total += Number(m[1]);
    }
  }
  return found ? total : undefined;
}

/** The socket tables are read at most this often, relative to the last read's duration. */
const kCostFactor = 10;

export interface ConnectionGateOptions {
  port: number;
  cap: number;
  /** Stop accepting (the count reached the cap). */
  pause: () => void;
  /** Accept again (the count fell below the cap); false if that failed (retried at the next sample). */
  resume: () => Promise<boolean>;
  /** For tests: how connections are counted. Default: countPortConnections(port). */
  count?: () => Promise<number | undefined>;
}

/** Samples the listener's connections and pauses/resumes accepting at the cap. */
export class ConnectionGate {
  readonly cap: number;
  readonly #options: ConnectionGateOptions;
  readonly #timer: NodeJS.Timeout;
  #sampling = false;
  #paused = false;
  #connections = 0;
  /** performance.now() before which the socket tables are not read again. */
  #nextTableRead = 0;

  constructor(options: ConnectionGateOptions) {
    this.#options = options;
    this.cap = options.cap;
    this.#timer = setInterval(() => void this.sample(), SAMPLE_MS);
    this.#timer.unref();
  }

  /**
   * Connections on the port at the last sample; when the whole network namespace held fewer TCP
   * sockets than the cap, that smaller bound.
   */
  get connections(): number {
    return this.#connections;
  }

  /** True while accepting is paused at the cap. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Counts now and pauses or resumes; one sample at a time. */
  async sample(): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      const n = await (this.#options.count ?? (() => this.#count()))();
      if (n === undefined) return;
      this.#connections = n;
      if (!this.#paused && n >= this.cap) {
        this.#paused = true;
        this.#options.pause();
      } else if (this.#paused && n < this.cap) {
        if (await this.#options.resume()) this.#paused = false;
      }
    } finally {
      this.#sampling = false;
    }
  }

  /** The port's connections, or an upper bound below the cap; undefined: no new count (throttled, or no /proc). */
  async #count(): Promise<number | undefined> {
    const bound = namespaceTcpSockets();
    if (bound !== undefined && bound < this.cap) return bound;
    const started = performance.now();
    if (started < this.#nextTableRead) return undefined;
    const n = await countPortConnections(this.#options.port);
    const took = performance.now() - started;
    this.#nextTableRead = started + Math.max(SAMPLE_MS, kCostFactor * took);
    return n;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
