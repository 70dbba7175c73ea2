/**
 * The raw-TCP front ends: one listener running one protocol (the Microsoft SSPI-sample framing
 * or MIT's gss-sample framing), one security context per connection, every GSSAPI call on the
 * worker pool. The socket-owning thread only parses frames, enforces limits and deadlines, and
 * routes tokens. Each connection is a TcpConnection; the protocol drives it.
 */
import { EventEmitter } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { DEFAULT_LIMITS } from '../config.js';
import { silentLogger, type Logger } from '../logger.js';
import type { AuthPool } from '../pool/AuthPool.js';
import { nextConnectionId } from '../connectionId.js';
import { defaultHandshakesPerAddress, HandshakeReporter, HandshakesPerAddress } from '../handshake/index.js';
import { TcpConnection, type TcpConnectionHost } from './TcpConnection.js';
import { ALLOW_ALL, type Authorizer } from '../authorization/index.js';
import type { TcpFraming, TcpProtocol } from './TcpProtocol.js';
import { settleWithin } from '../lifecycle/drain.js';
import { DeadlineWheel } from './DeadlineWheel.js';

export type { TcpFraming, TcpProtocol } from './TcpProtocol.js';

export interface TcpAcceptorOptions {
  /** What runs on each connection: sspiProtocol({ greeting }) or gssSampleProtocol({ onMessage }). */
  protocol: TcpProtocol;
  pool: AuthPool;
  /** Largest frame accepted from a peer, checked before allocation. Default 65536. */
  maxTokenBytes?: number;
  /** The whole handshake must finish within this many ms. Default 10000. */
  handshakeTimeoutMs?: number;
  /** A connection silent for this many ms is closed. Default 60000. */
  idleTimeoutMs?: number;
  /** Most simultaneous connections; Node accepts and closes at once any beyond it. Default 10000. */
  maxConnections?: number;
  /**
   * The per-address bound on handshakes holding a context between legs (NTLM), shared with the
   * server's other front ends. Default: this acceptor's own, a tenth of the default
   * --max-contexts.
   */
  handshakesPerAddress?: HandshakesPerAddress;
  /**
   * Authorization after each completed handshake (src/authorization/): a refused client's
   * connection is closed before the protocol serves it (no sspi greeting, no gss-sample
   * messages). Default: everyone authenticated is let in.
   */
  authorizer?: Authorizer;
  logger?: Logger;
}

/**
 * Events: 'session' (Session) after each completed handshake; 'handshakeFailed'
 * (HandshakeFailure) after each failed one.
 */
export class TcpAcceptor extends EventEmitter {
  readonly protocol: TcpProtocol;
  readonly #server: net.Server;
  readonly #host: TcpConnectionHost;
  /** Open connections; `served` settles when the connection's protocol ends. */
  readonly #conns = new Map<Socket, { conn: TcpConnection; served: Promise<void> }>();
  #sessions = 0;
  #closing = false;

  constructor(options: TcpAcceptorOptions) {
    super();
    this.protocol = options.protocol;
    const logger = options.logger ?? silentLogger;
    const limits = {
      maxTokenBytes: options.maxTokenBytes ?? DEFAULT_LIMITS.maxTokenBytes,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_LIMITS.handshakeTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_LIMITS.idleTimeoutMs,
    };
    this.#host = {
      pool: options.pool,
      logger,
      reporter: new HandshakeReporter(options.protocol.name, this, logger),
      authorizer: options.authorizer ?? ALLOW_ALL,
      handshakesPerAddress:
        options.handshakesPerAddress ??
        new HandshakesPerAddress(defaultHandshakesPerAddress(DEFAULT_LIMITS.maxContexts)),
      limits,
      deadlines: new DeadlineWheel(DeadlineWheel.tickFor(Math.min(limits.handshakeTimeoutMs, limits.idleTimeoutMs))),
      onAuthenticated: () => {
        this.#sessions += 1;
      },
      onClosed: (conn) => {
        this.#conns.delete(conn.socket);
        if (conn.authenticated) this.#sessions -= 1;
      },
    };
    // Not half-open: a peer's FIN closes the connection at once, so a client that gives up frees
    // its context promptly even while its token waits for a worker. The reference clients never
    // half-close before reading the server's reply. Nagle stays on until a connection's second
    // write (TcpConnection.write): one setsockopt fewer per connection.
    this.#server = net.createServer({ noDelay: false, allowHalfOpen: false }, (socket) => this.#onConnection(socket));
    this.#server.maxConnections = options.maxConnections ?? DEFAULT_LIMITS.maxConnections;
  }

  /** The protocol's name: 'sspi' or 'gss-sample'. */
  get framing(): TcpFraming {
    return this.protocol.name;
  }

  /** Starts listening; port 0 picks a free port. Resolves with the bound address. */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ port, host }, () => {
        this.#server.off('error', reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo | undefined {
    return (this.#server.address() as AddressInfo | null) ?? undefined;
  }

  /** Open connections. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Open connections whose handshake completed. */
  get sessions(): number {
    return this.#sessions;
  }

  /**
   * Stops accepting and closes connections that have not sent a token; lets the others finish
   * (the handshake, and for sspi the greeting; gss-sample sessions until their closing NOOP)
   * for up to `graceMs`, then closes every connection. Contexts are released as their
   * connections close.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const inFlight: Promise<void>[] = [];
    for (const [socket, c] of this.#conns) {
      if (c.conn.tokenReceived) inFlight.push(c.served);
      else socket.destroy();
    }
    await settleWithin(inFlight, graceMs);
    for (const socket of this.#conns.keys()) socket.destroy();
    await closed;
  }

  #onConnection(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const conn = new TcpConnection(socket, nextConnectionId(), this.#host);
    const entry = { conn, served: Promise.resolve() };
    this.#conns.set(socket, entry);
    entry.served = conn.run(this.protocol);
  }
}
