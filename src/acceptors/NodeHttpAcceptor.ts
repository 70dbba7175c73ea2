/**
 * The `node` HTTP engine (`--http-engine node`): the HTTP front end's routes and limits on
 * `node:http`, through the adapter (src/adapter/), for platforms where the uWS binary does not
 * load and for connection-bound NTLM over HTTP. It serves what the uWS front end serves without
 * WebSockets: `GET /whoami` (and HEAD) answering the identity as JSON, 404 elsewhere, the same
 * Negotiate answers (the adapter shares them), the same `listening` and handshake log lines (the
 * handshake lines name the front end `adapter`).
 *
 * HTTPS on node:https, with the adapter's channel binding (tlsChannel.ts: each connection is
 * bound to the certificate it was served). Unlike uWS's SSLApp, a running node:https server can
 * take a new certificate (setCertificate, on SIGHUP): new connections get it, open ones keep theirs.
 *
 * Limits: the connection cap is node's own `server.maxConnections` (exact: node refuses a
 * connection beyond it at accept, no sampling needed); the header block limit follows the
 * token limit as on uWS (headerLimitFor), larger blocks get node's 431; half-done NTLM
 * handshakes are bounded per address by the server's shared HandshakesPerAddress.
 */
import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { NegotiateAuthenticator } from '../adapter/NegotiateAuthenticator.js';
import type { AdapterHandshakeFailure, AdapterIdentity, HttpSessionCookieOptions } from '../adapter/types.js';
import { DEFAULT_LIMITS } from '../config.js';
import { ConfigError } from '../errors.js';
import type { Authorizer } from '../authorization/index.js';
import { BASIC_NEEDS_TLS, type BasicAuth } from '../basic/BasicAuth.js';
import type { AuthorizationRefusal, HandshakesPerAddress } from '../handshake/index.js';
import { positiveWhole } from '../http/frontEndSetup.js';
import { headerLimitFor } from '../http/headerLimit.js';
import { whoamiJson } from '../http/whoami.js';
import { silentLogger, type Logger } from '../logger.js';
import type { AuthPool } from '../pool/AuthPool.js';
import { settleWithin } from '../lifecycle/drain.js';
import type { ChannelBindingPolicy } from '../tls/channelBindings.js';
import type { TlsPem } from '../tls/TlsCertificate.js';

/** HTTPS on the node engine: the PEM pair (checked: loadTlsKeyPair) and the channel-binding policy. */
export interface NodeHttpTlsOptions {
  pem: TlsPem;
  /** Default 'when-supported'. */
  channelBinding?: ChannelBindingPolicy | undefined;
}

export interface NodeHttpAcceptorOptions {
  pool: AuthPool;
  logger?: Logger | undefined;
  /** Largest decoded Negotiate token accepted, bytes (the header block limit follows it). Default 65536. */
  maxTokenBytes?: number | undefined;
  /** Most simultaneous connections (node's server.maxConnections). Default 10,000. */
  maxConnections?: number | undefined;
  sessionCookie?: HttpSessionCookieOptions | undefined;
  /** Connection-bound NTLM over HTTP (the pool's credentials must allow NTLM too). Default false. */
  ntlm?: boolean | undefined;
  /** NTLM: a half-done handshake is freed this long after its last leg. Default 10,000 ms. */
  handshakeTimeoutMs?: number | undefined;
  /** NTLM: the per-address bound on half-done handshakes, shared with the other front ends. */
  handshakesPerAddress?: HandshakesPerAddress | undefined;
  /** Serve HTTPS (node:https) with channel binding; plain HTTP without. */
  tls?: NodeHttpTlsOptions | undefined;
  /** Authorization after each handshake (src/authorization/), shared with the server's other front ends. */
  authorizer?: Authorizer | undefined;
  /** Also accept Basic (src/basic/); refused (ERR_CONFIG) without `tls`. Not closed by the acceptor. */
  basicAuth?: BasicAuth | undefined;
}

/**
 * Events, from its authenticator: 'session' (AdapterIdentity) and 'handshakeFailed'
 * (AdapterHandshakeFailure).
 */
export class NodeHttpAcceptor extends EventEmitter {
  readonly authenticator: NegotiateAuthenticator;
  readonly server: http.Server;
  readonly maxConnections: number;
  /** The same server, when it serves HTTPS: setCertificate() swaps its certificate. */
  readonly #https: https.Server | undefined;
  readonly #logger: Logger;
  readonly #inFlight = new Set<Promise<void>>();
  #connections = 0;
  #atCap = false;
  #closing: Promise<void> | undefined;

  constructor(options: NodeHttpAcceptorOptions) {
    super();
    this.#logger = options.logger ?? silentLogger;
    const maxTokenBytes = positiveWhole('maxTokenBytes', options.maxTokenBytes, DEFAULT_LIMITS.maxTokenBytes);
    this.maxConnections = positiveWhole('maxConnections', options.maxConnections, DEFAULT_LIMITS.maxConnections);
    if (options.basicAuth !== undefined && options.tls === undefined)
      throw new ConfigError('ERR_CONFIG', BASIC_NEEDS_TLS);
    this.authenticator = new NegotiateAuthenticator({
      pool: options.pool,
      logger: this.#logger,
      maxTokenBytes,
      sessionCookie: options.sessionCookie,
      ntlm: options.ntlm,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      handshakesPerAddress: options.handshakesPerAddress,
      // The authenticator's policy is applied on TLS sockets only: plain HTTP binds nothing.
      channelBinding: options.tls?.channelBinding,
      authorizer: options.authorizer,
      basicAuth: options.basicAuth,
    });
    this.authenticator.on('authorizationRefused', (r: AuthorizationRefusal) => this.emit('authorizationRefused', r));
    this.authenticator.on('session', (s: AdapterIdentity) => this.emit('session', s));
    this.authenticator.on('handshakeFailed', (f: AdapterHandshakeFailure) => this.emit('handshakeFailed', f));
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => this.#onRequest(req, res);
    const maxHeaderSize = headerLimitFor(maxTokenBytes);
    if (options.tls === undefined) {
      this.server = http.createServer({ maxHeaderSize }, onRequest);
    } else {
      this.#https = https.createServer(
        { maxHeaderSize, cert: options.tls.pem.cert, key: options.tls.pem.key },
        onRequest,
      );
      this.server = this.#https;
    }
    this.server.maxConnections = this.maxConnections;
    this.server.on('connection', (socket: Socket) => this.#onConnection(socket));
    this.server.on('drop', () => this.#onDrop());
  }

  /** Starts listening (port 0 picks a free port); resolves with the bound address, rejects as node:net would. */
  listen(port: number, host: string): Promise<{ address: string; port: number }> {
    if (this.server.listening)
      return Promise.reject(new ConfigError('ERR_CONFIG', 'the HTTP acceptor is already listening'));
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const bound = (this.server.address() as AddressInfo).port;
        const tls = this.#https === undefined ? {} : { tls: true };
        this.#logger.info('listening', { frontend: 'http', engine: 'node', host, port: bound, ...tls });
        resolve({ address: host, port: bound });
      });
    });
  }

  /** Serves HTTPS. */
  get tls(): boolean {
    return this.#https !== undefined;
  }

  /**
   * HTTPS: serve `pem` to new connections from now on (open ones keep the certificate they were
   * served, and their binding). Throws ConfigError ERR_CONFIG on a plain HTTP listener, and
   * node's error for a pair OpenSSL refuses.
   */
  setCertificate(pem: TlsPem): void {
    if (this.#https === undefined) throw new ConfigError('ERR_CONFIG', 'this HTTP acceptor does not serve TLS');
    this.#https.setSecureContext({ cert: pem.cert, key: pem.key });
  }

  /** Open connections on the listener. */
  get connections(): number {
    return this.#connections;
  }

  /** Requests being authenticated or answered right now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Stops listening and closes idle keep-alive connections, lets requests in flight finish for up
   * to `graceMs`, then closes every connection and frees every connection-bound context.
   */
  close(graceMs = 5000): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      await settleWithin(this.#inFlight, graceMs);
      this.server.closeAllConnections();
      await closed;
      await this.authenticator.close();
    })();
    return this.#closing;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?', 1)[0];
    // As on uWS: one GET route (HEAD answers as GET, node leaves the body out); anything else is
    // 404 (the body, if any, is left unread: node discards it).
    if ((req.method !== 'GET' && req.method !== 'HEAD') || path !== '/whoami') {
      sendText(res, 404, 'Not found\n');
      return;
    }
    const work = this.#whoami(req, res).catch((err: unknown) => this.#internalError(req, res, err));
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #whoami(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const outcome = await this.authenticator.authenticate(req, res);
    this.authenticator.apply(outcome, res);
    if (outcome.kind !== 'authenticated' || res.destroyed) return;
    const body = whoamiJson(outcome.identity);
    res
      .writeHead(200, {
        'Content-Type': 'application/json',
        'Cache-Control': 'no-store',
        'Content-Length': Buffer.byteLength(body),
      })
      .end(body);
  }

  #onConnection(socket: Socket): void {
    this.#connections += 1;
    socket.once('close', () => {
      this.#connections -= 1;
      if (this.#atCap && this.#connections < this.maxConnections) {
        this.#atCap = false;
        this.#logger.info('accepting HTTP connections again', { frontend: 'http', connections: this.#connections });
      }
    });
  }

  /** node refused a connection at the cap: warn once per episode, not per connection. */
  #onDrop(): void {
    if (this.#atCap) return;
    this.#atCap = true;
    this.#logger.warn('connection cap reached: new HTTP connections are refused until some close', {
      frontend: 'http',
      maxConnections: this.maxConnections,
      connections: this.#connections,
    });
  }

  #internalError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    this.#logger.error('request failed', {
      frontend: 'http',
      remoteAddress: req.socket.remoteAddress,
      url: req.url,
      message: err instanceof Error ? err.message : String(err),
    });
    if (res.headersSent) res.destroy();
    else sendText(res, 500, 'Internal server error\n');
  }
}

function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) }).end(body);
}
