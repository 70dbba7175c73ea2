/**
 * A raw-TCP protocol: what runs on each connection of a TcpAcceptor once it is accepted. The
 * two built in are sspiProtocol() and gssSampleProtocol(); each is made by a factory that takes
 * that protocol's own options.
 */
import type { TcpConnection } from './TcpConnection.js';

/** The framings this package implements (docs/protocols.md). */
export type TcpFraming = 'sspi' | 'gss-sample';

export interface TcpProtocol {
  /** The front end's name in events, logs and metrics. */
  readonly name: TcpFraming;
  /**
   * Serves one connection: reads its frames, runs the accept loop through `conn.accept`, calls
   * `conn.established` once, then whatever follows. Resolves when the protocol is done; a
   * rejection ends the connection and is reported by it (as a failed handshake, or after
   * `established` as a connection that ended with an error).
   */
  serve(conn: TcpConnection): Promise<void>;
}
