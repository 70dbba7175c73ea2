/**
 * NegotiateServer: a worker pool plus the TCP front ends, started and stopped together. What the
 * CLI's `serve` runs, and the simplest way to embed the server in an application.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { TcpAcceptor, type HandshakeFailure, type TcpFraming } from './acceptors/TcpAcceptor.js';
import type { ListenAddress, ServeConfig } from './config.js';
import { silentLogger, type Logger } from './logger.js';
import { AuthPool } from './pool/AuthPool.js';
import type { Session } from './session.js';

export interface ListeningEvent {
  event: 'listening';
  frontend: TcpFraming | 'http';
  address: string;
  port: number;
  /** http: the WebSocket path on this listener, when WebSockets are on. */
  ws?: string;
}

export type NegotiateServerOptions = Omit<ServeConfig, 'logLevel' | 'ntlmUsers'> & { logger?: Logger };

/** Events: 'session' (Session), 'handshakeFailed' (HandshakeFailure), 'listening' (ListeningEvent). */
export class NegotiateServer extends EventEmitter {
  readonly pool: AuthPool;
  readonly acceptors: TcpAcceptor[] = [];
  readonly #options: NegotiateServerOptions;
  readonly #logger: Logger;

  private constructor(pool: AuthPool, options: NegotiateServerOptions) {
    super();
    this.pool = pool;
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Starts the pool (checking credentials first), then each configured listener. */
  static async start(options: NegotiateServerOptions): Promise<NegotiateServer> {
    const credentials: import('./pool/credentials.js').CredentialOptions = {
      ntlm: options.ntlm,
      replayCache: options.replayCache,
    };
    if (options.keytab !== undefined) credentials.keytab = options.keytab;
    if (options.principal !== undefined) credentials.principal = options.principal;
    const pool = await AuthPool.start({
      credentials,
      workers: options.workers,
      maxQueue: options.maxQueue,
      taskTimeoutMs: options.taskTimeoutMs,
      maxContexts: options.maxContexts,
    });
    const server = new NegotiateServer(pool, options);
    try {
      if (options.sspi) await server.#listen('sspi', options.sspi);
      if (options.gssSample) await server.#listen('gss-sample', options.gssSample);
    } catch (err) {
      await server.close(0);
      throw err;
    }
    return server;
  }

  /** The bound addresses, in start order. */
  listening(): ListeningEvent[] {
    return this.acceptors.map((a) => {
      const addr = a.address() as AddressInfo;
      return { event: 'listening', frontend: a.framing, address: addr.address, port: addr.port };
    });
  }

  /**
   * Stops accepting, lets in-flight handshakes finish for up to `graceMs`, closes every
   * connection, stops the workers and frees every context.
   */
  async close(graceMs = this.#options.shutdownGraceMs): Promise<void> {
    await Promise.all(this.acceptors.map((a) => a.close(graceMs)));
    await this.pool.close();
  }

  async #listen(framing: TcpFraming, at: ListenAddress): Promise<void> {
    const o = this.#options;
    const acceptor = new TcpAcceptor({
      framing,
      pool: this.pool,
      maxTokenBytes: o.maxTokenBytes,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      maxConnections: o.maxConnections,
      greeting: o.greeting,
      logger: this.#logger,
    });
    acceptor.on('session', (s: Session) => this.emit('session', s));
    acceptor.on('handshakeFailed', (f: HandshakeFailure) => this.emit('handshakeFailed', f));
    await acceptor.listen(at.port, at.host);
    this.acceptors.push(acceptor);
  }
}
