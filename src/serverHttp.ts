/**
 * The HTTP front end of a NegotiateServer, built from its resolved configuration: the uWS
 * engine (with its WebSocket route when configured) or the node:http engine, with the session
 * cookie and the TLS certificate. Created before it listens, so the server can close what was
 * made when listening fails.
 */
import type { EventEmitter } from 'node:events';
import { HttpAcceptor, type HttpIdentity } from './acceptors/HttpAcceptor.js';
import { NodeHttpAcceptor } from './acceptors/NodeHttpAcceptor.js';
import { attachWebSocket, type WsAcceptor } from './acceptors/WsAcceptor.js';
import type { AdapterIdentity } from './adapter/types.js';
import type { AuthorizationRefusal, HandshakeFailure, HandshakesPerAddress } from './handshake/index.js';
import type { HttpSessionCookieOptions } from './http/frontEndSetup.js';
import type { Logger } from './logger.js';
import type { ResolvedServerConfig } from './options.js';
import type { AuthPool } from './pool/AuthPool.js';
import type { Session } from './session.js';
import type { TlsCertificate, TlsPem } from './tls/TlsCertificate.js';
import type { BasicAuth } from './basic/BasicAuth.js';

/** What the HTTP front end takes from its server. */
export interface HttpFrontEndHost {
  readonly options: ResolvedServerConfig;
  readonly pool: AuthPool;
  readonly logger: Logger;
  readonly maxConnections: number;
  readonly handshakesPerAddress: HandshakesPerAddress;
  readonly tlsCertificate: TlsCertificate | undefined;
  readonly tlsPem: TlsPem | undefined;
  /** Basic authentication over TLS (http.basicAuth), for either engine. */
  readonly basicAuth: BasicAuth | undefined;
  /** Re-emits the front end's 'session', 'handshakeFailed' and 'authorizationRefused' events. */
  readonly events: EventEmitter;
}

/** The HTTP front end made, not yet listening: one engine or the other. */
export type HttpFrontEnd =
  { engine: 'uws'; http: HttpAcceptor; ws: WsAcceptor | undefined } | { engine: 'node'; nodeHttp: NodeHttpAcceptor };

/** Builds the configured engine's front end and forwards its events to `host.events`. */
export function createHttpFrontEnd(host: HttpFrontEndHost): HttpFrontEnd {
  return host.options.httpEngine === 'node' ? createNodeHttp(host) : createUwsHttp(host);
}

/** Starts listening; resolves with the bound address. */
export function listenHttpFrontEnd(
  frontEnd: HttpFrontEnd,
  port: number,
  host: string,
): Promise<{ address: string; port: number }> {
  return frontEnd.engine === 'node' ? frontEnd.nodeHttp.listen(port, host) : frontEnd.http.listen(port, host);
}

function createUwsHttp(host: HttpFrontEndHost): HttpFrontEnd {
  const o = host.options;
  const certificate = host.tlsCertificate;
  const http = new HttpAcceptor({
    pool: host.pool,
    logger: host.logger,
    maxTokenBytes: o.maxTokenBytes,
    allowUwsFallback: o.allowUwsFallback,
    maxConnections: host.maxConnections,
    sessionCookie: sessionCookie(o),
    tls: certificate && { certificate, channelBinding: o.channelBinding },
    authorizer: o.authorizer,
    basicAuth: host.basicAuth,
  });
  forwardRefusals(http, host.events);
  http.on('session', (s: HttpIdentity) => host.events.emit('session', s));
  http.on('handshakeFailed', (f: HandshakeFailure<'http'>) => host.events.emit('handshakeFailed', f));
  if (o.wsPath === undefined) return { engine: 'uws', http, ws: undefined };
  const ws = attachWebSocket(http.app, {
    path: o.wsPath,
    pool: host.pool,
    logger: host.logger,
    maxTokenBytes: o.maxTokenBytes,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    handshakesPerAddress: host.handshakesPerAddress,
    onMessage: o.onWsMessage,
    channel: http.channel,
    authorizer: o.authorizer,
  });
  forwardRefusals(ws, host.events);
  ws.on('session', (s: Session) => host.events.emit('session', s));
  ws.on('handshakeFailed', (f: HandshakeFailure<'ws'>) => host.events.emit('handshakeFailed', f));
  return { engine: 'uws', http, ws };
}

/** The HTTP front end on node:http (no WebSockets: the resolver refused ws with this engine). */
function createNodeHttp(host: HttpFrontEndHost): HttpFrontEnd {
  const o = host.options;
  const nodeHttp = new NodeHttpAcceptor({
    pool: host.pool,
    logger: host.logger,
    maxTokenBytes: o.maxTokenBytes,
    maxConnections: host.maxConnections,
    ntlm: o.ntlm,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    handshakesPerAddress: host.handshakesPerAddress,
    sessionCookie: sessionCookie(o),
    tls: host.tlsPem && { pem: host.tlsPem, channelBinding: o.channelBinding },
    authorizer: o.authorizer,
    basicAuth: host.basicAuth,
  });
  forwardRefusals(nodeHttp, host.events);
  nodeHttp.on('session', (s: AdapterIdentity) => host.events.emit('session', s));
  nodeHttp.on('handshakeFailed', (f: HandshakeFailure<'adapter'>) => host.events.emit('handshakeFailed', f));
  return { engine: 'node', nodeHttp };
}

/** A front end's 'authorizationRefused' events become the server's (counted by its metrics). */
export function forwardRefusals(frontEnd: EventEmitter, to: EventEmitter): void {
  frontEnd.on('authorizationRefused', (r: AuthorizationRefusal) => to.emit('authorizationRefused', r));
}

function sessionCookie(o: ResolvedServerConfig): HttpSessionCookieOptions | undefined {
  if (o.sessionCookieTtlSeconds === undefined) return undefined;
  return {
    ttlSeconds: o.sessionCookieTtlSeconds,
    secure: o.sessionCookieSecure,
    ...(o.sessionCookieKeys.length > 0 ? { keys: o.sessionCookieKeys } : {}),
  };
}
