/**
 * One accepted TCP connection: its socket, its handshake deadline and idle timeout, its frame
 * reader, its closed state, and the end of its handshake. The protocol (sspi, gss-sample) drives
 * it; the acceptor only counts it.
 */
import type { Socket } from 'node:net';
import { AuthorizationError, FramingError } from '../errors.js';
import type { Authorizer } from '../authorization/index.js';
import type { Logger } from '../logger.js';
import { AcceptError, type AcceptStep, type AuthPool } from '../pool/AuthPool.js';
import type { Session } from '../session.js';
import {
  sessionFromStep,
  type Frontend,
  type HandshakeAttempt,
  type HandshakeReporter,
  type HandshakeSlot,
  type HandshakesPerAddress,
} from '../handshake/index.js';
import { FrameReader, type FrameDecoder } from './FrameReader.js';
import { acceptorSlotOf } from '../pool/credentials.js';
import type { DeadlineEntry, DeadlineWheel } from './DeadlineWheel.js';

/** The limits a connection enforces (all required here: the acceptor fills in the defaults). */
export interface TcpConnectionLimits {
  readonly maxTokenBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** What a connection gets from its acceptor. */
export interface TcpConnectionHost {
  readonly pool: AuthPool;
  readonly logger: Logger;
  /** Reports this front end's handshakes (its name is the protocol's). */
  readonly reporter: HandshakeReporter<Frontend>;
  readonly limits: TcpConnectionLimits;
  /** Handshakes holding a context between legs, bounded per remote address. */
  readonly handshakesPerAddress: HandshakesPerAddress;
  /** Where the connection's handshake deadline and idle timeout wait (one timer per acceptor). */
  readonly deadlines: DeadlineWheel;
  /** Checked after the handshake, before the protocol serves the client. */
  readonly authorizer: Authorizer;
  /** The handshake completed while the socket was open (counted until the socket closes). */
  onAuthenticated(conn: TcpConnection): void;
  /** The socket closed. */
  onClosed(conn: TcpConnection): void;
}

export class TcpConnection implements DeadlineEntry {
  /** The context-table key, unique in this process. */
  readonly id: number;
  readonly socket: Socket;
  /** Read at accept: a destroyed socket no longer knows its peer, and failures are logged after. */
  readonly remoteAddress: string | undefined;
  readonly limits: TcpConnectionLimits;
  readonly logger: Logger;
  readonly #host: TcpConnectionHost;
  readonly #started = Date.now();
  /** Last traffic seen (Date.now()): data from the peer, or a write through write()/end(). */
  #lastTraffic = this.#started;
  /** socket.bytesWritten when the deadline last looked: catches writes made on `socket` directly. */
  #writtenSeen = 0;
  /** TCP_NODELAY is on (from the second write on). */
  #noDelay = false;
  /** DeadlineEntry: owned by host.deadlines. */
  deadlineSlot = -1;
  /** Opened by the protocol; the deadline and the idle timeout fail it with their own reason. */
  #reader: FrameReader<unknown> | undefined;
  /** Held from the first leg that answered "continue" until the handshake ends. */
  #slot: HandshakeSlot | undefined;
  #tokenReceived = false;
  #handshakeDone = false;
  #authenticated = false;
  #closed = false;

  constructor(socket: Socket, id: number, host: TcpConnectionHost) {
    this.id = id;
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress;
    this.limits = host.limits;
    this.logger = host.logger;
    this.#host = host;
    // Errors (ECONNRESET and friends) end the connection; 'close' does the cleanup.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#closed = true;
      host.deadlines.remove(this);
      this.#slot?.release();
      host.onClosed(this);
      host.pool.release(id);
    });
    host.deadlines.add(this, this.#started + Math.min(this.limits.handshakeTimeoutMs, this.limits.idleTimeoutMs));
  }

  /**
   * DeadlineEntry: the handshake deadline (until handshakeDone()) fails the frame reader with
   * ERR_HANDSHAKE_TIMEOUT, the idle timeout (no traffic either way) with ERR_IDLE_TIMEOUT; either
   * closes the socket. Otherwise says when to look again.
   */
  onDeadline(now: number): number | undefined {
    if (this.#closed) return undefined;
    const { handshakeTimeoutMs, idleTimeoutMs } = this.limits;
    const handshakeAt = this.#handshakeDone ? Infinity : this.#started + handshakeTimeoutMs;
    // A write made on the socket itself (a custom protocol) is traffic too, at an unknown time
    // since the last look: counted as now, so the close can come late but never early.
    const written = this.socket.bytesWritten;
    if (written !== this.#writtenSeen) {
      this.#writtenSeen = written;
      if (now >= this.#lastTraffic + idleTimeoutMs) this.#lastTraffic = now;
    }
    const idleAt = this.#lastTraffic + idleTimeoutMs;
    if (now >= handshakeAt) {
      this.#reader?.fail(
        new FramingError('ERR_HANDSHAKE_TIMEOUT', `handshake did not complete within ${handshakeTimeoutMs} ms`),
      );
    } else if (now >= idleAt) {
      this.#reader?.fail(new FramingError('ERR_IDLE_TIMEOUT', `no data for ${idleTimeoutMs} ms`));
    } else {
      return Math.min(handshakeAt, idleAt);
    }
    this.socket.destroy();
    return undefined;
  }

  /** The socket closed; a context created after it would never be released by it. */
  get closed(): boolean {
    return this.#closed;
  }

  /** A token arrived (the handshake is in flight): shutdown lets such a connection finish. */
  get tokenReceived(): boolean {
    return this.#tokenReceived;
  }

  /** The handshake completed and the socket is still counted as a session. */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  /**
   * Writes to the socket, counted as traffic by the idle timeout. Turns Nagle's algorithm off
   * before the connection's second write (see #beforeWrite).
   */
  write(chunk: Uint8Array): void {
    this.#beforeWrite(chunk.length);
    this.socket.write(chunk);
  }

  /** Ends the socket after `chunk` (if any), counted as traffic by the idle timeout. */
  end(chunk?: Uint8Array): void {
    if (chunk === undefined) {
      this.#lastTraffic = Date.now();
      this.socket.end();
      return;
    }
    this.#beforeWrite(chunk.length);
    this.socket.end(chunk);
  }

  /**
   * The listener leaves Nagle's algorithm on: most connections (an sspi Kerberos handshake) write
   * once, and a first write never waits (nothing is in flight), so TCP_NODELAY per accepted
   * socket was a setsockopt for nothing (~10 µs of CPU per connection measured with
   * bench/tcpConnection.mjs). A later write could wait for the peer's delayed ACK, so
   * TCP_NODELAY goes on before it.
   */
  #beforeWrite(bytes: number): void {
    this.#lastTraffic = Date.now();
    if (this.#writtenSeen > 0 && !this.#noDelay) {
      this.#noDelay = true;
      this.socket.setNoDelay(true);
    }
    this.#writtenSeen += bytes;
  }

  /**
   * Runs `protocol` (a TcpProtocol) on this connection. A failure before the handshake's end is reported as a
   * failed handshake; the connection then ends, flushing an error token if one was written.
   */
  async run(protocol: { serve(conn: TcpConnection): Promise<void> }): Promise<void> {
    try {
      await protocol.serve(this);
    } catch (err) {
      const attempt = this.#attempt();
      // Authorization refused: already reported (established); end() flushes what was written.
      if (err instanceof AuthorizationError) this.end();
      else {
        if (!this.#handshakeDone) this.#host.reporter.failed(attempt, err);
        else this.#host.reporter.endedWithError(attempt, err);
        // An error token from GSSAPI was already written by accept(); end flushes it.
        if (err instanceof AcceptError && err.output.length > 0) this.end();
        else this.socket.destroy();
      }
    } finally {
      this.handshakeDone();
    }
  }

  /**
   * Runs one accept leg for this connection. Writes GSSAPI's error token (framed by `frame`)
   * before rethrowing a failure, and refuses to go on if the connection closed while the leg
   * waited: its context may have been created after the close released nothing.
   */
  async accept(
    token: Buffer,
    frame: (token: Uint8Array) => Buffer,
    options: { sealOnComplete?: Uint8Array } = {},
  ): Promise<AcceptStep> {
    this.#tokenReceived = true;
    let step: AcceptStep;
    try {
      step = await this.#host.pool.accept(this.id, token, {
        ...options,
        abandoned: () => this.#closed,
        slot: acceptorSlotOf(this.#host.reporter.frontend),
      });
      this.logger.debug('accept leg', {
        connectionId: this.id,
        frontend: this.#host.reporter.frontend,
        status: step.status,
        inputBytes: token.length,
        outputBytes: step.output.length,
        worker: step.workerThreadId,
      });
    } catch (err) {
      // The error token (a KRB-ERROR, or SPNEGO's reject) tells the peer why.
      if (err instanceof AcceptError && err.output.length > 0 && !this.socket.destroyed) this.write(frame(err.output));
      throw err;
    }
    if (this.#closed) throw new FramingError('ERR_PROTOCOL', 'the connection closed during the handshake');
    // A context now waits for this client's next leg: that is what the per-address bound counts.
    // Refused, the context goes at once and the output (an NTLM CHALLENGE) is never sent.
    if (step.status === 'continue' && !this.#slot) {
      try {
        this.#slot = this.#host.handshakesPerAddress.acquire(this.remoteAddress);
      } catch (err) {
        this.#host.pool.release(this.id);
        throw err;
      }
    }
    return step;
  }

  /**
   * The connection's frame reader. The handshake deadline fails it with ERR_HANDSHAKE_TIMEOUT
   * (and closes the socket) unless handshakeDone() came first; the idle timeout with
   * ERR_IDLE_TIMEOUT.
   */
  frames<F>(decoder: FrameDecoder<F>): FrameReader<F> {
    const reader = new FrameReader<F>(this.socket, {
      push: (chunk) => {
        this.#lastTraffic = Date.now();
        return decoder.push(chunk);
      },
    });
    this.#reader = reader as FrameReader<unknown>;
    return reader;
  }

  /**
   * Called once the handshake completed: authorizes the client (src/authorization/), then builds
   * the Session and reports it. A refused client is reported here and rejects with
   * AuthorizationError, which run() answers by closing the connection.
   */
  async established(step: Extract<AcceptStep, { status: 'complete' }>): Promise<Session> {
    const authorizer = this.#host.authorizer;
    const where = { frontend: this.#host.reporter.frontend, remoteAddress: this.remoteAddress };
    const decision = authorizer.empty ? undefined : await authorizer.authorize(step, where);
    const attempt = this.#attempt();
    this.handshakeDone();
    if (decision?.allowed === false) {
      this.#host.reporter.unauthorized(attempt, step.principal, decision);
      this.#host.pool.release(this.id);
      throw new AuthorizationError(
        decision.failed ? 'ERR_AUTHZ_HOOK_FAILED' : 'ERR_AUTHZ_REFUSED',
        decision.reason,
        decision.status,
        decision.rule,
      );
    }
    if (decision !== undefined && this.#closed)
      throw new FramingError('ERR_PROTOCOL', 'the connection closed during authorization');
    const session = sessionFromStep(
      this.#host.pool,
      step,
      {
        connectionId: this.id,
        frontend: this.#host.reporter.frontend,
        remoteAddress: this.socket.remoteAddress,
        remotePort: this.socket.remotePort,
        latencyMs: attempt.latencyMs,
      },
      decision?.extra,
    );
    // Counted only while the socket is open: its 'close' is what uncounts it.
    if (!this.#closed && !this.#authenticated) {
      this.#authenticated = true;
      this.#host.onAuthenticated(this);
    }
    this.#host.reporter.succeeded(attempt, session);
    return session;
  }

  /** Ends the handshake phase (stops its deadline); for connections that never authenticate too. */
  handshakeDone(): void {
    if (this.#handshakeDone) return;
    this.#handshakeDone = true;
    // The deadline wheel notices when it next looks at this connection (only the idle timeout remains).
    this.#slot?.release();
  }

  #attempt(): HandshakeAttempt {
    return { connectionId: this.id, remoteAddress: this.remoteAddress, latencyMs: Date.now() - this.#started };
  }
}
