/**
 * NegotiateServer: a worker pool plus the front ends, started and stopped together. What the
 * CLI's `serve` runs, and the simplest way to embed the server in an application. Its options
 * and their defaults: options.ts.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { TcpAcceptor, type TcpFraming } from './acceptors/TcpAcceptor.js';
import { gssSampleProtocol } from './acceptors/gssSampleProtocol.js';
import { sspiProtocol } from './acceptors/sspiProtocol.js';
import {
  defaultHandshakesPerAddress,
  HandshakesPerAddress,
  type AuthorizationRefusal,
  type HandshakeFailure,
} from './handshake/index.js';
import type { ListenAddress } from './config.js';
import type { Logger } from './logger.js';
import { resolveServerOptions, type NegotiateServerOptions, type ResolvedServerConfig } from './options.js';
import { applyProcessWideSettings } from './processSettings.js';
import { AuthPool } from './pool/AuthPool.js';
import type { CredentialOptions } from './pool/credentials.js';
import type { Session } from './session.js';
import type { HttpAcceptor, HttpIdentity } from './acceptors/HttpAcceptor.js';
import type { WsAcceptor } from './acceptors/WsAcceptor.js';
import type { NodeHttpAcceptor } from './acceptors/NodeHttpAcceptor.js';
import type { AdapterIdentity } from './adapter/types.js';
import { AdminListener, type Readiness } from './admin/AdminListener.js';
import { ServerMetrics } from './metrics/ServerMetrics.js';
import type { FrontendLoad } from './metrics/stateMetrics.js';
import { fitListenerBudget } from './limits/listenerBudget.js';
import { DescriptorWatch } from './limits/DescriptorWatch.js';
import type { BasicAuth } from './basic/BasicAuth.js';
import { startBasicAuth } from './basic/basicOptions.js';
import { loadTlsCertificate, type TlsCertificate, type TlsPem } from './tls/TlsCertificate.js';
import { loadListenerCertificate, logServedCertificate } from './tls/listenerCertificate.js';
import { createHttpFrontEnd, forwardRefusals, listenHttpFrontEnd } from './serverHttp.js';

export interface ListeningEvent {
  event: 'listening';
  frontend: TcpFraming | 'http' | 'admin';
  address: string;
  port: number;
  /** http: the WebSocket path on this listener, when WebSockets are on. */
  ws?: string;
  /** http: true when it serves HTTPS (and WSS). */
  tls?: boolean;
}

/** Set by the class's static block: the one way in to its private start from outside the class. */
let startResolved: (config: ResolvedServerConfig) => Promise<NegotiateServer>;

/**
 * Starts a server from a resolved configuration: the second half of NegotiateServer.start, and
 * the white-box path of the test helpers (flat overrides on a resolved configuration). Not
 * exported by the package.
 */
export function startResolvedServer(config: ResolvedServerConfig): Promise<NegotiateServer> {
  return startResolved(config);
}

/**
 * Events: 'session' (a Session for TCP and WebSocket connections, an HttpIdentity for HTTP
 * requests, an AdapterIdentity for HTTP requests on the `node` engine) and 'handshakeFailed'
 * (HandshakeFailure, whose `frontend` names the front end); 'authorizationRefused'
 * (AuthorizationRefusal) for an authenticated client the rules or the authorize hook refused.
 */
export class NegotiateServer extends EventEmitter {
  readonly pool: AuthPool;
  readonly acceptors: TcpAcceptor[] = [];
  /** The HTTP front end (and its WebSocket route), when configured on the `uws` engine. */
  http: HttpAcceptor | undefined;
  /** The HTTP front end, when configured on the `node` engine (http.engine: 'node'). */
  nodeHttp: NodeHttpAcceptor | undefined;
  ws: WsAcceptor | undefined;
  /** The certificate the HTTP listener serves and binds to, when it has TLS. */
  tlsCertificate: TlsCertificate | undefined;
  /** The per-address bound on handshakes in progress, shared by the sspi, gss-sample and WebSocket front ends. */
  readonly handshakesPerAddress: HandshakesPerAddress;
  /** This server's Prometheus metrics (its own registry); served by the admin listener. */
  readonly metrics: ServerMetrics;
  /** The admin listener, when configured. */
  admin: AdminListener | undefined;
  #httpAddress: { address: string; port: number } | undefined;
  /** The PEM pair behind tlsCertificate, for the node engine's listener. */
  #tlsPem: TlsPem | undefined;
  /** Basic authentication over TLS (http.basicAuth), for either HTTP engine. */
  #basicAuth: BasicAuth | undefined;
  readonly #options: ResolvedServerConfig;
  readonly #logger: Logger;
  /** Every configured listener started. */
  #started = false;
  /** close() began: not ready any more, whatever still listens. */
  #closing = false;
  /** The per-listener connection cap in force (maxConnections, or lowered to fit the descriptor limit). */
  readonly #maxConnections: number;
  #descriptorWatch: DescriptorWatch | undefined;

  static {
    startResolved = (config) => NegotiateServer.#startResolved(config);
  }

  private constructor(pool: AuthPool, options: ResolvedServerConfig, maxConnections: number) {
    super();
    this.pool = pool;
    this.#options = options;
    this.#logger = options.logger;
    const perAddress = new HandshakesPerAddress(
      options.maxHandshakesPerAddress ?? defaultHandshakesPerAddress(options.maxContexts),
    );
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
        httpInFlight: () => this.http?.inFlight ?? this.nodeHttp?.inFlight,
        handshakesPerAddress: () => ({ refused: perAddress.refused, inProgress: perAddress.inProgress }),
        sharedReplay: () => pool.sharedReplay?.stats(),
      },
    });
    // Registered before any user listener: an event's metrics are counted by the time it is seen.
    this.on('session', (s: Session | HttpIdentity | AdapterIdentity) => this.metrics.recordSuccess(s));
    this.on('handshakeFailed', (f: HandshakeFailure) => this.metrics.recordFailure(f));
    this.on('authorizationRefused', (r: AuthorizationRefusal) => this.metrics.recordAuthorizationRefusal(r));
  }

  /**
   * Resolves `options` (defaults, validation: ConfigError ERR_CONFIG), starts the pool (checking
   * credentials first), then each listener named: admin, tcp.sspi, tcp.gssSample, http.
   */
  static async start(options: NegotiateServerOptions): Promise<NegotiateServer> {
    return NegotiateServer.#startResolved(resolveServerOptions(options));
  }

  static async #startResolved(config: ResolvedServerConfig): Promise<NegotiateServer> {
    // Before anything starts: caps that do not fit the descriptor limit refuse here.
    const maxConnections = fitListenerBudget(config);
    if (config.ntlmUsers !== undefined) applyProcessWideSettings({ ntlmUserFile: config.ntlmUsers });
    // Before the workers start: a bad certificate refuses at once.
    const tls =
      config.http && config.httpTls ? await loadListenerCertificate(config.httpTls, config.channelBinding) : undefined;
    if (tls) logServedCertificate(tls.certificate, config.channelBinding, config.logger);
    const credentials: CredentialOptions = {
      ntlm: config.ntlm,
      replayCache: config.replayCache,
      replayCacheSize: config.replayCacheSize,
    };
    if (config.replayCachePrincipalQuota !== undefined)
      credentials.replayCachePrincipalQuota = config.replayCachePrincipalQuota;
    if (config.replayCacheJournal !== undefined) credentials.replayCacheJournal = config.replayCacheJournal;
    if (config.sharedReplayCache !== undefined) credentials.sharedReplayCache = config.sharedReplayCache;
    if (config.requireFlags.length > 0) credentials.requireFlags = config.requireFlags;
    if (config.keytab !== undefined) credentials.keytab = config.keytab;
    if (config.principal !== undefined) credentials.principal = config.principal;
    if (config.frontendPrincipals !== undefined) credentials.frontendPrincipals = config.frontendPrincipals;
    if (config.localName !== 'off') credentials.localName = config.localName;
    if (config.delegationDir !== undefined) credentials.delegationDir = config.delegationDir;
    if (config.s4u2proxy) credentials.s4u2proxy = true;
    const pool = await AuthPool.start({
      credentials,
      workers: config.workers,
      handoff: config.poolHandoff,
      maxQueue: config.maxQueue,
      taskTimeoutMs: config.taskTimeoutMs,
      maxContexts: config.maxContexts,
      logger: config.logger,
      ...(config.workerFile === undefined ? {} : { workerFile: config.workerFile }),
    });
    const server = new NegotiateServer(pool, config, maxConnections);
    if (config.basicAuth !== undefined)
      server.#basicAuth = startBasicAuth({
        resolved: config.basicAuth,
        keytab: config.keytab,
        principal: config.frontendPrincipals?.http ?? config.principal,
        localNames: pool.localNames,
      });
    server.tlsCertificate = tls?.certificate;
    server.#tlsPem = tls?.pem;
    server.#descriptorWatch = new DescriptorWatch({
      onExhausted: (open, limit) => {
        server.#logger.error('file descriptors exhausted: listeners cannot accept', { open, limit });
        server.metrics.recordDescriptorExhaustion('process');
      },
      onRecovered: (open, limit) => server.#logger.info('file descriptors available again', { open, limit }),
    });
    try {
      // The admin listener first: /readyz answers 503 until the front ends listen.
      if (config.admin) await server.#listenAdmin(config.admin);
      if (config.sspi) await server.#listen('sspi', config.sspi);
      if (config.gssSample) await server.#listen('gss-sample', config.gssSample);
      if (config.http) await server.#listenHttp(config.http);
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
      if (this.tlsCertificate) e.tls = true;
      events.push(e);
    }
    const admin = this.admin?.address();
    if (admin) events.push({ event: 'listening', frontend: 'admin', address: admin.address, port: admin.port });
    return events;
  }

  /**
   * Ready (what /readyz answers): the pool started, every configured listener listens,
   * close() has not begun, and the replay cache on Redis (when configured) answers, unless
   * its fallback is the memory cache.
   */
  readiness(): Readiness {
    if (this.#closing) return { ready: false, reason: 'shutting down' };
    if (!this.#started) return { ready: false, reason: 'starting' };
    const down = this.acceptors.find((a) => a.address() === undefined);
    if (down) return { ready: false, reason: `the ${down.framing} listener is closed` };
    const replay = this.pool.sharedReplay?.readiness();
    if (replay !== undefined && !replay.ready) return replay;
    return { ready: true };
  }

  /**
   * SIGHUP's TLS half: reads the certificate files again and checks them as at start (rejects
   * with ERR_TLS_CERTIFICATE, the certificate in use staying in use). On the `node` engine a
   * changed certificate is served to new connections from now on (`reloaded`, and
   * tlsCertificate becomes it); a running uWS listener cannot swap its certificate
   * (src/acceptors/httpTls.ts), so there a changed one is only reported: serving it takes a
   * restart. Undefined without TLS.
   */
  async recheckTlsCertificate(): Promise<
    { served: TlsCertificate; onDisk: TlsCertificate; reloaded: boolean } | undefined
  > {
    const served = this.tlsCertificate;
    if (served === undefined) return undefined;
    const nodeHttp = this.nodeHttp;
    if (nodeHttp === undefined) return { served, onDisk: await loadTlsCertificate(served), reloaded: false };
    const policy = this.#options.channelBinding;
    const loaded = await loadListenerCertificate(served, policy);
    if (loaded.certificate.fingerprint256 === served.fingerprint256)
      return { served, onDisk: loaded.certificate, reloaded: false };
    nodeHttp.setCertificate(loaded.pem);
    this.tlsCertificate = loaded.certificate;
    this.#tlsPem = loaded.pem;
    logServedCertificate(loaded.certificate, policy, this.#logger);
    return { served, onDisk: loaded.certificate, reloaded: true };
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
    await Promise.all([
      ...this.acceptors.map((a) => a.close(graceMs)),
      this.http?.close(graceMs),
      this.nodeHttp?.close(graceMs),
    ]);
    await this.pool.close();
    await this.#basicAuth?.close();
    await this.admin?.close();
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
    const loads: FrontendLoad[] = this.acceptors.map((a) => ({
      frontend: a.framing,
      connections: a.connections,
      sessions: a.sessions,
    }));
    if (this.ws) loads.push({ frontend: 'ws', connections: this.ws.connections, sessions: this.ws.sessions });
    return loads;
  }

  async #listenHttp(at: ListenAddress): Promise<void> {
    const frontEnd = createHttpFrontEnd({
      options: this.#options,
      pool: this.pool,
      logger: this.#logger,
      maxConnections: this.#maxConnections,
      handshakesPerAddress: this.handshakesPerAddress,
      tlsCertificate: this.tlsCertificate,
      tlsPem: this.#tlsPem,
      basicAuth: this.#basicAuth,
      events: this,
    });
    // Kept before listening, so close() closes what a failed listen left.
    if (frontEnd.engine === 'node') this.nodeHttp = frontEnd.nodeHttp;
    else {
      this.http = frontEnd.http;
      this.ws = frontEnd.ws;
    }
    this.#httpAddress = await listenHttpFrontEnd(frontEnd, at.port, at.host);
  }

  async #listen(framing: TcpFraming, at: ListenAddress): Promise<void> {
    const o = this.#options;
    const acceptor = new TcpAcceptor({
      protocol:
        framing === 'sspi'
          ? sspiProtocol({ greeting: o.greeting })
          : gssSampleProtocol({ allowUnauthenticated: o.gssSampleAllowUnauthenticated }),
      pool: this.pool,
      maxTokenBytes: o.maxTokenBytes,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      maxConnections: this.#maxConnections,
      handshakesPerAddress: this.handshakesPerAddress,
      authorizer: o.authorizer,
      logger: this.#logger,
    });
    forwardRefusals(acceptor, this);
    acceptor.on('session', (s: Session) => this.emit('session', s));
    acceptor.on('handshakeFailed', (f: HandshakeFailure<TcpFraming>) => this.emit('handshakeFailed', f));
    await acceptor.listen(at.port, at.host);
    this.acceptors.push(acceptor);
  }
}
