/**
 * The raw-TCP front ends: the Microsoft SSPI-sample framing and MIT's gss-sample framing, one
 * security context per connection, every GSSAPI call on the worker pool. The socket-owning
 * thread only parses frames, enforces limits and deadlines, and routes tokens.
 */
import { EventEmitter } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { FramingError, NegotiateError, PoolError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { AcceptStep, AuthPool } from '../pool/AuthPool.js';
import { AcceptError } from '../pool/AuthPool.js';
import { Session } from '../session.js';
import { nextConnectionId } from '../connectionId.js';
import { FrameReader, type FrameDecoder } from './FrameReader.js';
import { serveSspi } from './sspiConnection.js';
import { serveGssSample } from './gssSampleConnection.js';
import { gssStatusFields } from './logFields.js';

export type TcpFraming = 'sspi' | 'gss-sample';

export interface TcpAcceptorOptions {
  framing: TcpFraming;
  pool: AuthPool;
  /** Largest frame accepted from a peer, checked before allocation. Default 65536. */
  maxTokenBytes?: number;
  /** The whole handshake must finish within this many ms. Default 10000. */
  handshakeTimeoutMs?: number;
  /** A connection silent for this many ms is closed. Default 60000. */
  idleTimeoutMs?: number;
  /** Most simultaneous connections; Node accepts and closes at once any beyond it. Default 10000. */
  maxConnections?: number;
  /** sspi: the message encrypted to the client after the handshake. Default "This is your server speaking". */
  greeting?: string | Uint8Array | ((session: Session) => string | Uint8Array);
  /** gss-sample: called with every message a client sends after the handshake. */
  onMessage?: (session: Session | undefined, message: Buffer) => void;
  logger?: Logger;
}

/** Facts about a failed handshake, for the 'handshakeFailed' event and logs. */
export interface HandshakeFailure {
  connectionId: number;
  frontend: TcpFraming;
  code: string;
  message: string;
  remoteAddress: string | undefined;
  latencyMs: number;
}

/** What each connection handler gets from the acceptor. */
export interface ConnectionContext {
  readonly id: number;
  readonly socket: Socket;
  readonly pool: AuthPool;
  readonly options: Required<Pick<TcpAcceptorOptions, 'maxTokenBytes' | 'handshakeTimeoutMs'>> & TcpAcceptorOptions;
  readonly logger: Logger;
  /**
   * Runs one accept leg for this connection. Writes GSSAPI's error token (framed by `frame`)
   * before rethrowing a failure, and refuses to go on if the connection closed while the leg
   * waited: its context may have been created after the close released nothing.
   */
  accept(token: Buffer, frame: (token: Uint8Array) => Buffer, options?: { sealOnComplete?: Uint8Array }): Promise<AcceptStep>;
  /**
   * The connection's frame reader. The acceptor's handshake deadline fails it with
   * ERR_HANDSHAKE_TIMEOUT (and closes the socket) unless handshakeDone() came first.
   */
  frames<F>(decoder: FrameDecoder<F>): FrameReader<F>;
  /** Called once the handshake completed; builds and announces the Session. */
  established(step: Parameters<typeof buildSession>[1]): Session;
  /** Marks the end of the handshake phase (for shutdown's in-flight accounting). */
  handshakeDone(): void;
}

function buildSession(
  ctx: { id: number; socket: Socket; pool: AuthPool; framing: TcpFraming; latencyMs: number },
  step: { principal: string; mech: 'krb5' | 'ntlmssp' | 'unknown'; spnego: boolean; flags: Session['flags']; expiresAt: number | null },
): Session {
  return new Session(ctx.pool, {
    connectionId: ctx.id,
    frontend: ctx.framing,
    principal: step.principal,
    mech: step.mech,
    spnego: step.spnego,
    flags: step.flags,
    expiresAt: step.expiresAt,
    remoteAddress: ctx.socket.remoteAddress,
    remotePort: ctx.socket.remotePort,
    latencyMs: ctx.latencyMs,
  });
}

/**
 * Events: 'session' (Session) after each completed handshake; 'handshakeFailed'
 * (HandshakeFailure) after each failed one.
 */
export class TcpAcceptor extends EventEmitter {
  readonly framing: TcpFraming;
  readonly #options: ConnectionContext['options'];
  readonly #pool: AuthPool;
  readonly #logger: Logger;
  readonly #server: net.Server;
  /** Open connections; `served` settles when the connection's protocol ends, `started` once a token arrived. */
  readonly #conns = new Map<Socket, { started: boolean; served: Promise<void> }>();
  #sessions = 0;
  #closing = false;

  constructor(options: TcpAcceptorOptions) {
    super();
    this.framing = options.framing;
    this.#pool = options.pool;
    this.#logger = options.logger ?? silentLogger;
    this.#options = {
      ...options,
      maxTokenBytes: options.maxTokenBytes ?? 65536,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    };
    // Not half-open: a peer's FIN closes the connection at once, so a client that gives up frees
    // its context promptly even while its token waits for a worker. The reference clients never
    // half-close before reading the server's reply.
    this.#server = net.createServer({ noDelay: true, allowHalfOpen: false }, (socket) => this.#onConnection(socket));
    this.#server.maxConnections = options.maxConnections ?? 10_000;
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
      if (c.started) inFlight.push(c.served);
      else socket.destroy();
    }
    if (inFlight.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(inFlight),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    for (const socket of this.#conns.keys()) socket.destroy();
    await closed;
  }

  #onConnection(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const id = nextConnectionId();
    const started = Date.now();
    // Read now: a destroyed socket no longer knows its peer, and failures are logged after.
    const remoteAddress = socket.remoteAddress;
    // The connection's frame reader, once the protocol handler opened it: the deadline and the
    // idle timeout fail it with their own reason before closing the socket.
    let reader: FrameReader<unknown> | undefined;
    let authenticated = false;
    const conn = { started: false, served: Promise.resolve() };
    this.#conns.set(socket, conn);
    socket.setTimeout(this.#options.idleTimeoutMs ?? 60_000);
    socket.on('timeout', () => {
      reader?.fail(new FramingError('ERR_IDLE_TIMEOUT', `no data for ${this.#options.idleTimeoutMs ?? 60_000} ms`));
      socket.destroy();
    });
    // Errors (ECONNRESET and friends) end the connection; 'close' does the cleanup.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#conns.delete(socket);
      if (authenticated) this.#sessions -= 1;
      this.#pool.release(id);
    });

    const deadline = setTimeout(() => {
      reader?.fail(new FramingError('ERR_HANDSHAKE_TIMEOUT', `handshake did not complete within ${this.#options.handshakeTimeoutMs} ms`));
      socket.destroy();
    }, this.#options.handshakeTimeoutMs);
    let done = false;
    const handshakeDone = (): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
    };

    let closed = false;
    socket.once('close', () => {
      closed = true;
    });
    const ctx: ConnectionContext = {
      id,
      socket,
      pool: this.#pool,
      options: this.#options,
      logger: this.#logger,
      accept: async (token, frame, options) => {
        conn.started = true;
        let step: AcceptStep;
        try {
          step = await this.#pool.accept(id, token, { ...options, abandoned: () => closed });
          this.#logger.debug('accept leg', {
            connectionId: id,
            frontend: this.framing,
            status: step.status,
            inputBytes: token.length,
            outputBytes: step.output.length,
            worker: step.workerThreadId,
          });
        } catch (err) {
          // The error token (a KRB-ERROR, or SPNEGO's reject) tells the peer why.
          if (err instanceof AcceptError && err.output.length > 0 && !socket.destroyed) socket.write(frame(err.output));
          throw err;
        }
        if (closed) throw new FramingError('ERR_PROTOCOL', 'the connection closed during the handshake');
        return step;
      },
      frames: <F>(decoder: FrameDecoder<F>) => {
        const r = new FrameReader<F>(socket, decoder);
        reader = r as FrameReader<unknown>;
        return r;
      },
      established: (step) => {
        const latencyMs = Date.now() - started;
        const session = buildSession({ id, socket, pool: this.#pool, framing: this.framing, latencyMs }, step);
        handshakeDone();
        // Counted only while the socket is open: its 'close' is what uncounts it.
        if (!closed && !authenticated) {
          authenticated = true;
          this.#sessions += 1;
        }
        this.#logger.info('authenticated', {
          connectionId: id,
          frontend: this.framing,
          remoteAddress,
          principal: session.principal,
          mech: session.mech,
          spnego: session.spnego,
          latencyMs,
        });
        this.emit('session', session);
        return session;
      },
      handshakeDone,
    };

    const serve = this.framing === 'sspi' ? serveSspi : serveGssSample;
    conn.served = serve(ctx)
      .catch((err: unknown) => {
        const e = err instanceof NegotiateError ? err : undefined;
        const failure: HandshakeFailure = {
          connectionId: id,
          frontend: this.framing,
          code: e?.code ?? 'ERR_PROTOCOL',
          message: e?.message ?? String(err),
          remoteAddress,
          latencyMs: Date.now() - started,
        };
        if (!done) {
          const level = err instanceof PoolError ? 'warn' : 'info';
          this.#logger[level]('handshake failed', { ...failure, ...gssStatusFields(err) });
          this.emit('handshakeFailed', failure);
        } else {
          this.#logger.info('connection ended with an error', { ...failure });
        }
        // An error token from GSSAPI was already written by the handler; end flushes it.
        if (err instanceof AcceptError && err.output.length > 0) socket.end();
        else socket.destroy();
      })
      .finally(() => {
        handshakeDone();
      });
  }
}
