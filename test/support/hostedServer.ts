/**
 * A typed view of tools/hostedServer.mjs: a NegotiateServer in a child process, for fault
 * tests whose failure mode is a crash of the whole server process (a fatal error in a worker
 * thread aborts the process). In a child, such a crash is an assertion failure carrying the
 * server's stderr, not the death of the test runner. The soak uses the same host.
 */
import type { EventEmitter } from 'node:events';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { NativeContextStats } from '../../src/native.js';
import { FAULT_WORKER } from './faultWorker.js';

// Compiled to dist/test/support/: the repository root is three levels up.
const HOSTED_SERVER = pathToFileURL(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'tools', 'hostedServer.mjs'),
).href;

export interface HostStats {
  pool: NativeContextStats & { queued: number; utilization: number };
  connections: Record<string, number>;
  memory: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  gcRan: boolean;
}

export interface HostEvent {
  event: 'session' | 'handshakeFailed';
  connectionId: number;
  frontend: string;
  code?: string;
  message?: string;
  principal?: string;
}

export interface HostedServer extends EventEmitter {
  readonly pid: number | undefined;
  readonly exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  port(frontend: 'sspi' | 'gss-sample' | 'http'): number;
  stderrTail(): string;
  request(op: 'stall', args: { ms: number }, timeoutMs?: number): Promise<number>;
  request(op: 'terminateWorker', args: { threadId: number }, timeoutMs?: number): Promise<boolean>;
  request(op: 'sweep', args?: Record<string, never>, timeoutMs?: number): Promise<number>;
  stats(o?: { gc?: boolean }): Promise<HostStats>;
  close(timeoutMs?: number): Promise<unknown>;
  kill(): void;
}

/** What tools/hostedServer.mjs's HostedServer.start takes. */
export interface HostStartOptions {
  env: Record<string, string>;
  options?: Record<string, unknown>;
  forwardEvents?: boolean;
  startTimeoutMs?: number;
  /** Run the child inside this network namespace (ip netns exec). */
  netns?: string;
}

interface HostedServerModule {
  HostedServer: { start(o: HostStartOptions): Promise<HostedServer> };
}

/** Starts tools/hostedServer.mjs's child-process server, typed. */
export async function startHost(o: HostStartOptions): Promise<HostedServer> {
  const mod = (await import(HOSTED_SERVER)) as HostedServerModule;
  return mod.HostedServer.start(o);
}

/**
 * Starts a server in a child process on the realm's keytab, listening on 127.0.0.1 port 0
 * (sspi and gss-sample), with `options` over the host's defaults and `extraEnv` in its
 * environment. Events are forwarded. Its pool runs the worker fixture
 * (test/fixtures/faultWorker.ts), which the `stall` and `terminateWorker` requests need.
 */
export async function startHostedServer(
  realm: ThrowawayRealm,
  options: Record<string, unknown>,
  extraEnv: Record<string, string> = {},
): Promise<HostedServer> {
  const mod = (await import(HOSTED_SERVER)) as HostedServerModule;
  const env = realm.env();
  return mod.HostedServer.start({
    // The acceptor's process-wide settings only: the server needs no password or ccache.
    env: {
      KRB5_CONFIG: env['KRB5_CONFIG'] as string,
      KRB5RCACHEDIR: env['KRB5RCACHEDIR'] as string,
      NTLM_USER_FILE: env['NTLM_USER_FILE'] as string,
      ...extraEnv,
    },
    options: { keytab: realm.keytab, workerFile: FAULT_WORKER, ...options },
    forwardEvents: true,
  });
}
