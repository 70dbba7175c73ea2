/**
 * One bounded load run: `connections` loops, each doing handshakes one after another with a
 * fresh token each, until the duration (or --max-handshakes) is reached; every handshake
 * bounded by the timeout; optionally capped to a rate; one in `sampleMutual` handshakes has
 * its reply token verified by the token generator (mutual authentication).
 */
import { performance } from 'node:perf_hooks';
import { HttpClient } from './HttpClient.js';
import { LoadStats, loadResult, type LoadResult } from './LoadStats.js';
import type { HandshakeClient } from './outcome.js';
import { TcpClient } from './TcpClient.js';
import { TokenGenerator, type TokenMech } from './TokenGenerator.js';

export interface LoadTarget {
  framing: LoadResult['framing'];
  host: string;
  port: number;
  /** HTTP: the request target (path and query); `/` for the TCP framings. */
  path: string;
  /** https: verify the server's certificate. */
  verify: boolean;
  /** As the user gave it, for the report. */
  text: string;
}

export interface LoadOptions {
  target: LoadTarget;
  /** `service@host`: whose service ticket the tokens carry. */
  service: string;
  mech: TokenMech;
  connections: number;
  durationSeconds: number;
  /** Handshakes per second, at most; undefined: as fast as the server answers. */
  rate: number | undefined;
  maxHandshakes: number | undefined;
  timeoutMs: number;
  /** Verify one handshake in this many (the first included); 0: none. */
  sampleMutual: number;
  /** Called about once a second while the load runs. */
  onProgress?: (p: { seconds: number; handshakes: number; errors: number; errorsByKind: LoadStats['errors'] }) => void;
}

/**
 * Runs the load and returns its result.
 * @throws TokenGeneratorError when the generator cannot start, or dies during the run (the
 *   error then carries no result: a run without tokens measures nothing).
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const gen = await TokenGenerator.start({
    service: o.service,
    mech: o.mech,
    batch: Math.min(1024, Math.max(64, o.connections * 2)),
  });
  const stats = new LoadStats();
  const clients = Array.from({ length: o.connections }, () => makeClient(o.target));
  const inFlight = new Map<HandshakeClient, number>();
  const limiter = new RateLimiter(o.rate);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + o.durationSeconds * 1000;
  let started = 0;
  let generatorFailure: Error | undefined;
  const more = (): boolean =>
    generatorFailure === undefined &&
    performance.now() < deadline &&
    (o.maxHandshakes === undefined || started < o.maxHandshakes);

  // One sweep for every timeout, rather than a timer per handshake.
  const sweep = setInterval(
    () => {
      const now = performance.now();
      for (const [client, since] of inFlight) {
        if (now - since > o.timeoutMs) client.abort('timeout', `no answer within ${o.timeoutMs} ms`);
      }
    },
    Math.min(250, Math.max(10, o.timeoutMs / 4)),
  );
  const progress = setInterval(() => {
    o.onProgress?.({
      seconds: (performance.now() - t0) / 1000,
      handshakes: stats.handshakes,
      errors: stats.errorsTotal,
      errorsByKind: stats.errors,
    });
  }, 1000);

  const loop = async (client: HandshakeClient): Promise<void> => {
    while (more()) {
      const wait = limiter.next();
      if (wait !== undefined) await wait;
      if (!more()) break;
      const sampled = o.sampleMutual > 0 && started % o.sampleMutual === 0;
      started++;
      let token: string;
      let kept: number | undefined;
      try {
        if (sampled) ({ id: kept, token } = await gen.keep());
        else token = gen.take() ?? (await gen.next());
      } catch (err) {
        generatorFailure ??= err instanceof Error ? err : new Error(String(err));
        break;
      }
      const begin = performance.now();
      inFlight.set(client, begin);
      const outcome = await client.handshake(token);
      inFlight.delete(client);
      const ms = performance.now() - begin;
      if (!outcome.ok) {
        stats.error(outcome.kind, outcome.detail, outcome.status);
        if (kept !== undefined) gen.drop(kept);
        // A closed port answers at once: without a pause each loop would spin on it.
        if (outcome.detail === 'ECONNREFUSED') await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      if (kept !== undefined) {
        stats.mutual.sampled++;
        const failure =
          outcome.reply === undefined ? 'no reply token' : await gen.verify(kept, outcome.reply).catch(String);
        if (outcome.reply === undefined) gen.drop(kept);
        if (failure !== undefined) {
          stats.mutual.failed++;
          stats.error('mutual', failure, outcome.status);
          continue;
        }
        stats.mutual.verified++;
      }
      stats.success(ms, outcome.status);
    }
  };

  try {
    await Promise.all(clients.map(loop));
  } finally {
    clearInterval(sweep);
    clearInterval(progress);
    for (const c of clients) c.close();
  }
  const elapsedSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const usage = await gen.close();
  if (generatorFailure !== undefined) throw generatorFailure;
  return loadResult(stats, {
    target: o.target.text,
    framing: o.target.framing,
    service: o.service,
    mech: o.mech,
    connections: o.connections,
    durationSeconds: o.durationSeconds,
    rate: o.rate ?? null,
    elapsedSeconds,
    sampleEvery: o.sampleMutual,
    cpuSeconds: {
      loadgen: Number(((cpu.user + cpu.system) / 1e6).toFixed(3)),
      tokengen: usage === undefined ? null : usage.cpuSeconds,
    },
  });
}

function makeClient(t: LoadTarget): HandshakeClient {
  if (t.framing === 'http' || t.framing === 'https') {
    return new HttpClient({ tls: t.framing === 'https', host: t.host, port: t.port, path: t.path, verify: t.verify });
  }
  return new TcpClient(t.framing, t.host, t.port);
}

/** Spaces handshake starts at least 1/rate apart, across all connections; no catch-up bursts. */
class RateLimiter {
  readonly #intervalMs: number | undefined;
  #nextMs = 0;

  constructor(rate: number | undefined) {
    this.#intervalMs = rate === undefined ? undefined : 1000 / rate;
  }

  /** undefined: go now; else a promise that resolves at this start's slot. */
  next(): Promise<void> | undefined {
    if (this.#intervalMs === undefined) return undefined;
    const now = performance.now();
    const slot = Math.max(this.#nextMs, now);
    this.#nextMs = slot + this.#intervalMs;
    if (slot <= now) return undefined;
    return new Promise((resolve) => setTimeout(resolve, slot - now));
  }
}
