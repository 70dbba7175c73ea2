/**
 * NegotiateServer: a worker pool plus the TCP front ends, started and stopped together. What the
 * CLI's `serve` runs, and the simplest way to embed the server in an application.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { TcpAcceptor, type TcpFraming } from './acceptors/TcpAcceptor.js';
import { gssSampleProtocol } from './acceptors/gssSampleProtocol.js';
import { sspiProtocol, type SspiProtocolOptions } from './acceptors/sspiProtocol.js';
import { defaultHandshakesPerAddress, HandshakesPerAddress, type HandshakeFailure } from './handshake/index.js';
import { DEFAULT_LIMITS, type ListenAddress, type ServeConfig } from './config.js';
import { silentLogger, type Logger } from './logger.js';
import { AuthPool } from './pool/AuthPool.js';
import type { Session } from './session.js';
import { HttpAcceptor, type HttpIdentity } from './acceptors/HttpAcceptor.js';
import { attachWebSocket, type WsAcceptor, type WsAcceptorOptions } from './acceptors/WsAcceptor.js';
import { AdminListener, type Readiness } from './admin/AdminListener.js';
import { ServerMetrics } from './metrics/ServerMetrics.js';
import type { FrontendLoad } from './metrics/stateMetrics.js';
import { ensureDescriptorBudget, largestFittingCap, type DescriptorPlan } from './limits/descriptors.js';
import { DescriptorWatch } from './limits/DescriptorWatch.js';
import { httpCapSlack } from './http/ConnectionGate.js';
import { ADMIN_MAX_CONNECTIONS } from './admin/AdminListener.js';

export interface ListeningEvent {
  event: 'listening';
  frontend: TcpFraming | 'http' | 'admin';
  address: string;
  port: number;
  /** http: the WebSocket path on this listener, when WebSockets are on. */
  ws?: string;
}

export type NegotiateServerOptions = Omit<ServeConfig, 'logLevel' | 'ntlmUsers' | 'greeting' | 'admin'> & {
  logger?: Logger;
  /** Admin listener: /metrics, /healthz, /readyz (docs/operations.md). Default: none. */
  admin?: ListenAddress | undefined;
  /** sspi: the greeting, or a function of the session that builds it. Default: the reference text. */
  greeting?: SspiProtocolOptions['greeting'];
  /** WebSocket application messages; default: echo each message back (a demo). */
  onWsMessage?: WsAcceptorOptions['onMessage'];
  /** Tests: the pool's worker module (AuthPoolOptions.workerFile). */
  workerFile?: string;
};

/**
 * Events: 'session' (a Session for TCP and WebSocket connections, an HttpIdentity for HTTP
 * requests) and 'handshakeFailed' (HandshakeFailure, whose `frontend` names the front end).
 */
export class NegotiateServer extends EventEmitter {
  readonly pool: AuthPool;
  readonly acceptors: TcpAcceptor[] = [];
  /** The HTTP front end (and its WebSocket route), when configured. */
  http: HttpAcceptor | undefined;
  ws: WsAcceptor | undefined;
  /** The per-address bound on handshakes in progress, shared by the sspi, gss-sample and WebSocket front ends. */
  readonly handshakesPerAddress: HandshakesPerAddress;
  /** This server's Prometheus metrics (its own registry); served by the admin listener. */
  readonly metrics: ServerMetrics;
  /** The admin listener, when configured. */
  admin: AdminListener | undefined;
  #httpAddress: { address: string; port: number } | undefined;
  readonly #options: NegotiateServerOptions;
  readonly #logger: Logger;
  /** Every configured listener started. */
  #started = false;
  /** close() began: not ready any more, whatever still listens. */
  #closing = false;
  /** The per-listener connection cap in force (maxConnections, or lowered to fit the descriptor limit). */
  readonly #maxConnections: number;
  #descriptorWatch: DescriptorWatch | undefined;

  private constructor(pool: AuthPool, options: NegotiateServerOptions, maxConnections: number) {
    super();
    this.pool = pool;
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    const perAddress = new HandshakesPerAddress(options.maxHandshakesPerAddress ?? defaultHandshakesPerAddress(options.maxContexts));
    this.handshakesPerAddress = perAddress;
    this.#maxConnections = maxConnections;
    this.metrics = new ServerMetrics({
      // Process metrics register observers that live as long as the process: only for a
      // server that serves them.
      processMetrics: options.admin !== undefined,
      sources: {
        poolStats: () => pool.stats(),
        replayStats: () => pool.replayStats(),
        workers: pool.workers,
        maxQueue: pool.maxQueue,
        frontends: () => this.#frontendLoads(),
        httpInFlight: () => this.http?.inFlight,
        handshakesPerAddress: () => ({ refused: perAddress.refused, inProgress: perAddress.inProgress }),
      },
    });
    // Registered before any user listener: an event's metrics are counted by the time it is seen.
    this.on('session', (s: Session | HttpIdentity) => this.metrics.recordSuccess(s));
    this.on('handshakeFailed', (f: HandshakeFailure) => this.metrics.recordFailure(f));
  }

  /** Starts the pool (checking credentials first), then each configured listener. */
  static async start(options: NegotiateServerOptions): Promise<NegotiateServer> {
    // Before anything starts: caps that do not fit the descriptor limit refuse here.
    const maxConnections = NegotiateServer.#fitDescriptorBudget(options);
    const credentials: import('./pool/credentials.js').CredentialOptions = {
      ntlm: options.ntlm,
      replayCache: options.replayCache,
    };
    if (options.replayCacheSize !== undefined) credentials.replayCacheSize = options.replayCacheSize;
    if (options.replayCachePrincipalQuota !== undefined) credentials.replayCachePrincipalQuota = options.replayCachePrincipalQuota;
    if (options.requireFlags !== undefined) credentials.requireFlags = options.requireFlags;
    if (options.keytab !== undefined) credentials.keytab = options.keytab;
    if (options.principal !== undefined) credentials.principal = options.principal;
    if (options.frontendPrincipals !== undefined) credentials.frontendPrincipals = options.frontendPrincipals;
    const pool = await AuthPool.start({
      credentials,
      workers: options.workers,
      maxQueue: options.maxQueue,
      taskTimeoutMs: options.taskTimeoutMs,
      maxContexts: options.maxContexts,
      ...(options.workerFile === undefined ? {} : { workerFile: options.workerFile }),
    });
    const server = new NegotiateServer(pool, options, maxConnections);
    server.#descriptorWatch = new DescriptorWatch({
      onExhausted: (open, limit) => {
        server.#logger.error('file descriptors exhausted: listeners cannot accept', { open, limit });
        server.metrics.recordDescriptorExhaustion('process');
      },
      onRecovered: (open, limit) => server.#logger.info('file descriptors available again', { open, limit }),
    });
    try {
      // The admin listener first: /readyz answers 503 until the front ends listen.
      if (options.admin) await server.#listenAdmin(options.admin);
      if (options.sspi) await server.#listen('sspi', options.sspi);
      if (options.gssSample) await server.#listen('gss-sample', options.gssSample);
      if (options.http) await server.#listenHttp(options.http);
      server.#started = true;
    } catch (err) {
      await server.close(0);
      throw err;
    }
    return server;
  }

  /** The bound addresses: the front ends in start order, then the admin listener. */
  listening(): ListeningEvent[] {
    const events: ListeningEvent[] = this.acceptors.map((a) => {
      const addr = a.address() as AddressInfo;
      return { event: 'listening', frontend: a.framing, address: addr.address, port: addr.port };
    });
    if (this.#httpAddress) {
      const e: ListeningEvent = { event: 'listening', frontend: 'http', ...this.#httpAddress };
      if (this.ws) e.ws = this.ws.path;
      events.push(e);
    }
    const admin = this.admin?.address();
    if (admin) events.push({ event: 'listening', frontend: 'admin', address: admin.address, port: admin.port });
    return events;
  }

  /**
   * Ready (what /readyz answers): the pool started, every configured listener listens, and
   * close() has not begun.
   */
  readiness(): Readiness {
    if (this.#closing) return { ready: false, reason: 'shutting down' };
    if (!this.#started) return { ready: false, reason: 'starting' };
    const down = this.acceptors.find((a) => a.address() === undefined);
    if (down) return { ready: false, reason: `the ${down.framing} listener is closed` };
    return { ready: true };
  }

  /**
   * Stops accepting, lets in-flight handshakes finish for up to `graceMs`, closes every
   * connection, stops the workers and frees every context.
   */
  async close(graceMs = this.#options.shutdownGraceMs): Promise<void> {
    // Not ready from the first moment, so a load balancer stops sending while the rest drains;
    // the admin listener goes last and keeps answering 503 until then.
    this.#closing = true;
    this.#descriptorWatch?.stop();
    // WebSockets first, with a proper close frame: closing the HTTP app drops its sockets abruptly.
    await this.ws?.close();
    await Promise.all([...this.acceptors.map((a) => a.close(graceMs)), this.http?.close(graceMs)]);
    await this.pool.close();
    await this.admin?.close();
  }

  /**
   * Every listener's cap plus a reserve must fit RLIMIT_NOFILE (src/limits/descriptors.ts), so
   * one flooded listener cannot take the descriptors of the others and the admin listener.
   * Caps the operator chose (`maxConnectionsFromUser`) refuse to start when they cannot fit;
   * the default cap is lowered to fit, with a warning. Returns the per-listener cap.
   */
  static #fitDescriptorBudget(o: NegotiateServerOptions): number {
    const planFor = (cap: number): DescriptorPlan => {
      const listeners = [];
      if (o.sspi) listeners.push({ name: 'sspi', connections: cap });
      if (o.gssSample) listeners.push({ name: 'gss-sample', connections: cap });
      // The HTTP cap is enforced by sampling: budget what one interval can add.
      if (o.http) listeners.push({ name: 'http (with WebSockets)', connections: cap + httpCapSlack(cap) });
      if (o.admin) listeners.push({ name: 'admin', connections: ADMIN_MAX_CONNECTIONS });
      return { listeners, workers: o.workers };
    };
    let cap = o.maxConnections ?? DEFAULT_LIMITS.maxConnections;
    if (o.maxConnectionsFromUser !== true) {
      const fit = largestFittingCap(planFor, cap);
      if (fit >= 1 && fit < cap) {
        o.logger?.warn('--max-connections lowered to fit the file-descriptor limit', { maxConnections: fit, requested: cap });
        cap = fit;
      }
    }
    ensureDescriptorBudget(planFor(cap));
    return cap;
  }

  async #listenAdmin(at: ListenAddress): Promise<void> {
    const admin = new AdminListener({
      metrics: this.metrics,
      readiness: () => this.readiness(),
      logger: this.#logger,
      onDescriptorExhausted: () => this.metrics.recordDescriptorExhaustion('admin'),
    });
    this.admin = admin;
    await admin.listen(at.port, at.host);
  }

  #frontendLoads(): FrontendLoad[] {
    const loads: FrontendLoad[] = this.acceptors.map((a) => ({ frontend: a.framing, connections: a.connections, sessions: a.sessions }));
    if (this.ws) loads.push({ frontend: 'ws', connections: this.ws.connections, sessions: this.ws.sessions });
    return loads;
  }

  async #listenHttp(at: ListenAddress): Promise<void> {
    const o = this.#options;
    const http = new HttpAcceptor({
      pool: this.pool,
      logger: this.#logger,
      maxTokenBytes: o.maxTokenBytes,
      allowUwsFallback: o.allowUwsFallback,
      maxConnections: this.#maxConnections,
      sessionCookie:
        o.sessionCookieTtlSeconds === undefined
          ? undefined
          : { ttlSeconds: o.sessionCookieTtlSeconds, secure: o.sessionCookieSecure, ...(o.sessionCookieKeys.length > 0 ? { keys: o.sessionCookieKeys } : {}) },
    });
    http.on('session', (s: HttpIdentity) => this.emit('session', s));
    http.on('handshakeFailed', (f: HandshakeFailure<'http'>) => this.emit('handshakeFailed', f));
    this.http = http;
    if (o.wsPath !== undefined) {
      const ws = attachWebSocket(http.app, {
        path: o.wsPath,
        pool: this.pool,
        logger: this.#logger,
        maxTokenBytes: o.maxTokenBytes,
        handshakeTimeoutMs: o.handshakeTimeoutMs,
        handshakesPerAddress: this.handshakesPerAddress,
        onMessage: o.onWsMessage ?? ((_session, message, reply) => reply(message)),
      });
      ws.on('session', (s: Session) => this.emit('session', s));
      ws.on('handshakeFailed', (f: HandshakeFailure<'ws'>) => this.emit('handshakeFailed', f));
      this.ws = ws;
    }
    this.#httpAddress = await http.listen(at.port, at.host);
  }

  async #listen(framing: TcpFraming, at: ListenAddress): Promise<void> {
    const o = this.#options;
    const acceptor = new TcpAcceptor({
      protocol: framing === 'sspi' ? sspiProtocol(o.greeting !== undefined ? { greeting: o.greeting } : {}) : gssSampleProtocol({ allowUnauthenticated: o.gssSampleAllowUnauthenticated === true }),
      pool: this.pool,
      maxTokenBytes: o.maxTokenBytes,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      maxConnections: this.#maxConnections,
      handshakesPerAddress: this.handshakesPerAddress,
      logger: this.#logger,
    });
    acceptor.on('session', (s: Session) => this.emit('session', s));
    acceptor.on('handshakeFailed', (f: HandshakeFailure<TcpFraming>) => this.emit('handshakeFailed', f));
    await acceptor.listen(at.port, at.host);
    this.acceptors.push(acceptor);
  }
}
