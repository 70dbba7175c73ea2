/**
 * The admin listener: `/metrics` (Prometheus), `/healthz` (liveness) and `/readyz`
 * (readiness) on their own port, apart from the front ends, so a scraper or a probe never
 * competes with clients and the port can stay on an internal interface. node:http: a few
 * requests a second, not the hot path.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { silentLogger, type Logger } from '../logger.js';

/** The answer of a readiness check. */
export interface Readiness {
  ready: boolean;
  /** Why not ready (shown in the 503 body), e.g. "shutting down". */
  reason?: string | undefined;
}

export interface AdminListenerOptions {
  /** What /metrics serves (a ServerMetrics). */
  metrics: { readonly contentType: string; render(): Promise<string> };
  /** Asked on every /readyz. */
  readiness: () => Readiness;
  logger?: Logger | undefined;
  /** Called when accepting failed for want of descriptors (EMFILE/ENFILE). */
  onDescriptorExhausted?: (() => void) | undefined;
}

/**
 * Most simultaneous admin connections: probes and scrapers need a handful. Part of the
 * process's descriptor budget (src/limits/descriptors.ts); beyond it Node closes new ones.
 */
export const ADMIN_MAX_CONNECTIONS = 64;

/** A probe or scrape slower than this is cut: the admin port must not collect stuck sockets. */
const REQUEST_TIMEOUT_MS = 10_000;

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };

/**
 * Serves GET (and HEAD) `/metrics`, `/healthz` (200 while the process serves) and `/readyz`
 * (200 when ready, else 503 with the reason). Other paths: 404; other methods: 405.
 */
export class AdminListener {
  readonly #options: AdminListenerOptions;
  readonly #logger: Logger;
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  #closing: Promise<void> | undefined;

  constructor(options: AdminListenerOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#server = http.createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS }, (req, res) => {
      this.#handle(req, res);
    });
    this.#server.maxConnections = ADMIN_MAX_CONNECTIONS;
    // After listen, an accept error would otherwise be an uncaught 'error' event.
    this.#server.on('error', (err: NodeJS.ErrnoException) => {
      if (!this.#server.listening) return;
      this.#logger.error('admin listener cannot accept', { frontend: 'admin', code: err.code, message: err.message });
      if (err.code === 'EMFILE' || err.code === 'ENFILE') this.#options.onDescriptorExhausted?.();
    });
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts listening; port 0 picks a free port. Resolves with the bound address. */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ port, host }, () => {
        this.#server.off('error', reject);
        const bound = this.#server.address() as AddressInfo;
        this.#logger.info('listening', { frontend: 'admin', host, port: bound.port });
        resolve(bound);
      });
    });
  }

  /** The bound address, or undefined before listen() and after close(). */
  address(): AddressInfo | undefined {
    return (this.#server.address() as AddressInfo | null) ?? undefined;
  }

  /** Stops listening and closes every connection, keep-alive ones included. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (!this.#server.listening) {
        resolve();
        return;
      }
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closing;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const routes: Record<string, () => void | Promise<void>> = {
      '/metrics': () => this.#metrics(req, res),
      '/healthz': () => send(req, res, 200, 'ok\n'),
      '/readyz': () => this.#readyz(req, res),
    };
    const route = path === undefined ? undefined : routes[path];
    if (route === undefined) {
      send(req, res, 404, 'not found: try /metrics, /healthz or /readyz\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(req, res, 405, 'method not allowed\n');
      return;
    }
    void route();
  }

  #readyz(req: IncomingMessage, res: ServerResponse): void {
    const r = this.#options.readiness();
    if (r.ready) send(req, res, 200, 'ready\n');
    else send(req, res, 503, `not ready: ${r.reason ?? 'starting'}\n`);
  }

  async #metrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: string;
    try {
      body = await this.#options.metrics.render();
    } catch (err) {
      this.#logger.error('metrics collection failed', { frontend: 'admin', message: err instanceof Error ? err.message : String(err) });
      send(req, res, 500, 'metrics collection failed\n');
      return;
    }
    send(req, res, 200, body, this.#options.metrics.contentType);
  }
}

function send(req: IncomingMessage, res: ServerResponse, status: number, body: string, contentType = TEXT['Content-Type']): void {
  if (res.destroyed) return;
  res.writeHead(status, { ...TEXT, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
