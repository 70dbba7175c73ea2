/**
 * The WebSocket front end's options, their defaults and their checks (made before uWS sees
 * them: some bad values make uWS terminate the process).
 */
import type { Authorizer } from '../authorization/index.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AuthPool } from '../pool/AuthPool.js';
import type { HandshakesPerAddress } from '../handshake/index.js';
import type { WsMessageHandler } from './WsMessageChannel.js';
import type { ChannelAcceptOptions } from './httpTls.js';

/** uWS idleTimeout unless told otherwise, seconds. */
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 120;

export interface WsAcceptorOptions {
  /**
   * Authorization after each completed handshake (src/authorization/): a refused client gets
   * the final token, then a close with 4403 (1011 when the hook failed). Default: everyone
   * authenticated is let in.
   */
  authorizer?: Authorizer | undefined;
  /** The route pattern on the uWS app, e.g. "/ws". */
  path: string;
  pool: AuthPool;
  logger?: Logger;
  /**
   * Largest message accepted, handshake tokens and application messages alike (bytes).
   * Default 65536. A longer one is closed with 1009; uWS itself cuts anything over twice this
   * (no close frame, the peer sees 1006) so a peer cannot make the server buffer more.
   */
  maxTokenBytes?: number;
  /** The whole handshake must complete within this many ms of the upgrade. Default 10000. */
  handshakeTimeoutMs?: number;
  /** uWS idleTimeout: seconds without a message either way before uWS closes. 0 or 8..960. Default 120. */
  idleTimeoutSeconds?: number;
  /**
   * After authentication, application messages in both directions are GSS wrap tokens: the
   * server unwraps each incoming one before onMessage and wraps every reply. Default false.
   */
  wrapMessages?: boolean;
  /**
   * Called with each application message, in order, one at a time: the next is not delivered
   * before the promise returned for this one settles. `reply` sends one binary message (a
   * string is sent as its UTF-8 bytes), wrapped when wrapMessages is set; it may be called at
   * any time until the socket closes, later calls are dropped. A throw or rejection closes the
   * socket with 1011.
   */
  onMessage?: WsMessageHandler;
  /**
   * The per-address bound on handshakes holding a context between legs (NTLM), shared with the
   * server's other front ends. Default: this acceptor's own, a tenth of the default
   * --max-contexts.
   */
  handshakesPerAddress?: HandshakesPerAddress;
  /** On an HTTPS listener: the channel binding of its accept steps (HttpAcceptor.channel). Default: none. */
  channel?: ChannelAcceptOptions;
}

/** Throws ConfigError (ERR_CONFIG) naming the first bad option. */
export function checkOptions(o: WsAcceptorOptions): void {
  const bad = (what: string): never => {
    throw new ConfigError('ERR_CONFIG', `WebSocket front end: ${what}`);
  };
  if (typeof o.path !== 'string' || !o.path.startsWith('/'))
    bad(`path must be absolute, such as /ws, not ${JSON.stringify(o.path)}`);
  const t = o.maxTokenBytes;
  if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > 64 * 1024 * 1024))
    bad(`maxTokenBytes must be an integer in 1..67108864, not ${t}`);
  const h = o.handshakeTimeoutMs;
  // setTimeout fires at once for anything over 2^31 - 1 ms.
  if (h !== undefined && (!Number.isFinite(h) || h <= 0 || h > 2_147_483_647))
    bad(`handshakeTimeoutMs must be in 1..2147483647, not ${h}`);
  const i = o.idleTimeoutSeconds;
  // uWS prints an error and calls std::terminate() for anything else.
  if (i !== undefined && (!Number.isInteger(i) || (i !== 0 && (i < 8 || i > 960)))) {
    bad(`idleTimeoutSeconds must be 0 (off) or an integer in 8..960 (a uWS limit), not ${i}`);
  }
}
